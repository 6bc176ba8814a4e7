// Shapes of the messaging API's JSON (docs/api/openapi.yaml, from /api/v1/conversations on, and
// the events of docs/websocket.md "Messaging and presence").
import type { Role } from '../../lib/types';

export type PresenceStatus = 'online' | 'away' | 'busy' | 'in_consultation' | 'on_call' | 'offline';
export const CHOOSABLE: PresenceStatus[] = ['online', 'away', 'busy', 'in_consultation', 'on_call'];

export interface Presence {
  status: PresenceStatus;
  text: string | null;
  updated_at: number;
}

// A colleague as the directory and member lists show them.
export interface Person {
  id: string;
  username: string;
  display_name: string;
  role?: Role;
  presence?: Presence;
  former?: boolean; // not in the directory (a disabled account): no name to show
  partial?: boolean; // only the presence is known so far (a presence.updated before the lookup)
}

export type ConvKind = 'channel' | 'group' | 'direct';

export interface Conversation {
  id: string;
  kind: ConvKind;
  name: string | null;
  topic: string | null;
  visibility: 'public' | 'private';
  archived: boolean;
  created_at: number;
  created_by: string;
  last_seq: number;
  members_count: number;
  last_message_at: number;
  my_role?: 'owner' | 'member' | null;
  members?: string[];
  read_seq?: number;
  unread?: number;
  mentions?: number;
}

export interface Reaction {
  emoji: string;
  users: string[];
  count: number;
}

export interface Message {
  id: string;
  conversation_id: string;
  seq: number;
  author_id: string;
  body: string;
  thread_root: string | null;
  urgent: boolean;
  mentions: string[];
  mentions_channel: boolean;
  attachments: unknown[];
  reply_count: number;
  created_at: number;
  edited_at: number | null;
  deleted: boolean;
  deleted_at: number | null;
  deleted_by: string | null;
  pinned_at: number | null;
  pinned_by: string | null;
  reactions?: Reaction[];
}

export interface Member {
  user_id: string;
  role: 'owner' | 'member';
  joined_at: number;
  username: string;
  display_name: string;
  presence: Presence;
}

export interface Acks {
  acknowledged: { user_id: string; at: number }[];
  pending: string[];
}

export interface ReadState {
  conversation_id: string;
  read_seq: number;
  unread: number;
  mentions: number;
}

export interface SearchResult {
  message: Message;
  snippet: string;
  conversation: { id: string; kind: ConvKind; name: string | null };
}
