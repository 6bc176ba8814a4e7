// Shapes of the API's JSON (docs/api/openapi.yaml).
export type Lang = 'fr' | 'en';
// booking_system: a machine account (FHIR only), made on the server's shell, never in this UI.
export type Role = 'admin' | 'practitioner' | 'nurse' | 'secretary' | 'it_support' | 'booking_system';
export const ROLES: Role[] = ['admin', 'practitioner', 'nurse', 'secretary', 'it_support'];
export type Permission = 'self' | 'events' | 'users.read' | 'users.write' | 'audit.read' | 'patient.read' | 'messages' | 'meetings';
export type Restriction = 'password_change_required' | 'totp_enrolment_required' | null;

export interface Info {
  name: string;
  timezone: string;
  default_language: Lang;
  version: string;
}

export interface User {
  id: string;
  username: string;
  display_name: string;
  role: Role;
  disabled: boolean;
  must_change_password: boolean;
  totp_enabled: boolean;
  locked: boolean;
  created_at: number;
}

export interface Me {
  user: User;
  session: { id: string; expires_at: number; created_at: number };
  permissions: Permission[];
  restriction: Restriction;
  totp_required: boolean;
}

export interface MySession {
  id: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  source_ip: string;
  user_agent: string;
  current: boolean;
}

export interface AuditRecord {
  id: number;
  ts: number;
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  object: string | null;
  source_ip: string | null;
  outcome: string;
  details: Record<string, unknown> | null;
  hash: string;
}

export interface AuditReport {
  intact: boolean;
  records: number;
  first_bad: number;
  reason: string;
  head_hash: string;
}
