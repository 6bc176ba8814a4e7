// The staff space's screens: their paths, who may see them, and the navigation built from them.
// To add a screen: add a route here (with its permission), and a nav entry if it has one.
import type { VNode } from 'preact';
import type { Key } from './i18n';
import type { Me, Permission } from './lib/types';
import { HomePage } from './pages/Home';
import { PlaceholderPage } from './pages/Placeholder';
import { ChangePasswordPage } from './pages/Password';
import { lazyPage } from './components/Lazy';

// Screens few people open are loaded when first shown (they are small; the first load stays light).
const account = () => import('./pages/Account');
const AccountPage = lazyPage(account, (m) => m.AccountPage);
const EnrolTotpPage = lazyPage(account, (m) => m.EnrolTotpPage);
const admin = () => import('./pages/admin');
const AdminHomePage = lazyPage(admin, (m) => m.AdminHomePage);
const UsersPage = lazyPage(admin, (m) => m.UsersPage);
const UserPage = lazyPage(admin, (m) => m.UserPage);
const AuditPage = lazyPage(admin, (m) => m.AuditPage);
// Messaging is opened often but is the largest screen: it is fetched on first use as well.
const MessagesPage = lazyPage(() => import('./pages/messages'), (m) => m.MessagesPage);
const MeetingsPage = lazyPage(() => import('./pages/meetings'), (m) => m.MeetingsPage);
const AgendaPage = lazyPage(() => import('./pages/consultations'), (m) => m.AgendaPage);

type Allow = (perms: Permission[]) => boolean;
const has =
  (...any: Permission[]): Allow =>
  (perms) =>
    any.some((p) => perms.includes(p));

export interface Route {
  pattern: RegExp;
  allow: Allow;
  render: (params: string[]) => VNode;
}

export const routes: Route[] = [
  { pattern: /^\/$/, allow: () => true, render: () => <HomePage /> },
  { pattern: /^\/messages$/, allow: has('messages'), render: () => <MessagesPage /> },
  { pattern: /^\/messages\/([0-9A-Z]{26})$/, allow: has('messages'), render: (p) => <MessagesPage conv={p[0]} /> },
  { pattern: /^\/meetings$/, allow: has('meetings'), render: () => <MeetingsPage /> },
  { pattern: /^\/consultations$/, allow: has('patient.read'), render: () => <AgendaPage /> },
  { pattern: /^\/expertise$/, allow: has('patient.read'), render: () => <PlaceholderPage area="expertise" /> },
  { pattern: /^\/devices$/, allow: has('users.read'), render: () => <PlaceholderPage area="devices" /> },
  { pattern: /^\/admin$/, allow: has('users.read', 'audit.read'), render: () => <AdminHomePage /> },
  { pattern: /^\/admin\/users$/, allow: has('users.read'), render: () => <UsersPage /> },
  { pattern: /^\/admin\/users\/([0-9A-Za-z]{26})$/, allow: has('users.read'), render: (p) => <UserPage id={p[0]} /> },
  { pattern: /^\/admin\/audit$/, allow: has('audit.read'), render: () => <AuditPage /> },
  { pattern: /^\/account$/, allow: () => true, render: () => <AccountPage /> },
  { pattern: /^\/account\/password$/, allow: () => true, render: () => <ChangePasswordPage /> },
  { pattern: /^\/account\/2fa$/, allow: () => true, render: () => <EnrolTotpPage /> },
];

export type Match = { route: Route; params: string[] } | null;
export function match(path: string): Match {
  const p = path.length > 1 ? path.replace(/\/+$/, '') : path;
  for (const route of routes) {
    const m = route.pattern.exec(p);
    if (m) return { route, params: m.slice(1) };
  }
  return null;
}

export interface NavItem {
  href: string;
  label: Key;
  icon: string;
  children?: NavItem[];
}

export function navItems(me: Me): NavItem[] {
  const perms = me.permissions;
  const items: NavItem[] = [{ href: '/', label: 'nav.home', icon: 'home' }];
  if (perms.includes('messages')) items.push({ href: '/messages', label: 'nav.messages', icon: 'messages' });
  if (perms.includes('meetings')) items.push({ href: '/meetings', label: 'nav.meetings', icon: 'meetings' });
  if (perms.includes('patient.read')) {
    items.push(
      { href: '/consultations', label: 'nav.consultations', icon: 'consultations' },
      { href: '/expertise', label: 'nav.expertise', icon: 'expertise' },
    );
  }
  if (perms.includes('users.read')) items.push({ href: '/devices', label: 'nav.devices', icon: 'devices' });
  if (perms.includes('users.read') || perms.includes('audit.read')) {
    const children: NavItem[] = [];
    if (perms.includes('users.read')) children.push({ href: '/admin/users', label: 'nav.users', icon: 'users' });
    if (perms.includes('audit.read')) children.push({ href: '/admin/audit', label: 'nav.audit', icon: 'audit' });
    items.push({ href: '/admin', label: 'nav.admin', icon: 'admin', children });
  }
  return items;
}
