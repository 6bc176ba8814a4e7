// Application state and the session's life: boot, login, the restrictions, logout, the end of a
// session (expired, revoked, account disabled) and the event socket.
import { api, ApiError, setApiHooks } from './api';
import { createStore } from './store';
import { EventClient, type ConnState } from './socket';
import { setLang, setTimeZone, LANGS } from '../i18n';
import type { Info, Lang, Me, Permission } from './types';

// Why the login page is shown: it says so in plain words.
export type Notice = 'expired' | 'ended_ws' | 'logged_out' | 'logged_out_all' | 'revoked' | null;

export interface AppState {
  booted: boolean;
  info: Info;
  lang: Lang;
  me: Me | null;
  path: string;
  notice: Notice;
  conn: ConnState;
  // Where to go after login when the login page was reached from a deep link.
  next: string | null;
}

const LANG_KEY = 'cc_lang';

export const app = createStore<AppState>({
  booted: false,
  info: { name: 'carecomm', timezone: 'Europe/Paris', default_language: 'fr', version: '' },
  lang: 'fr',
  me: null,
  path: location.pathname,
  notice: null,
  conn: 'idle',
  next: null,
});

export const events = new EventClient({
  state: (conn) => app.set({ conn }),
  ended: () => sessionEnded('ended_ws'),
  rightsChanged: async () => {
    await refreshMe();
  },
  checkSession: async () => {
    try {
      const me = await api<Me>('GET', '/api/v1/me');
      if (me.restriction) {
        applyMe(me);
        return false;
      }
      return true;
    } catch (e) {
      return !(e instanceof ApiError && e.status === 401);
    }
  },
  reset: () => {
    void refreshMe();
  },
});

// ---- navigation (history API) ------------------------------------------------------------------

let focusOnRender = false;
export function navigate(path: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', path);
  else if (path !== location.pathname + location.search) history.pushState(null, '', path);
  focusOnRender = true;
  app.set({ path: location.pathname });
  window.scrollTo(0, 0);
}
// Pages move focus to their heading after a navigation (not at first load).
export function takeFocusRequest(): boolean {
  const f = focusOnRender;
  focusOnRender = false;
  return f;
}
window.addEventListener('popstate', () => {
  focusOnRender = true;
  app.set({ path: location.pathname });
});

// ---- language ----------------------------------------------------------------------------------

export function changeLang(lang: Lang): void {
  try {
    localStorage.setItem(LANG_KEY, lang);
  } catch {
    /* private mode */
  }
  setLang(lang);
  app.set({ lang });
}

// ---- permissions -------------------------------------------------------------------------------

export function can(p: Permission): boolean {
  return !!app.get().me?.permissions.includes(p);
}

// ---- session -----------------------------------------------------------------------------------

function applyMe(me: Me | null): void {
  app.set({ me });
  if (me && !me.restriction) events.start();
  else events.stop(!me);
}

export async function refreshMe(): Promise<Me | null> {
  try {
    const me = await api<Me>('GET', '/api/v1/me');
    applyMe(me);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null; // the hook has handled it
    throw e;
  }
}

// Called after a successful login: a fresh session starts its event stream from now.
export async function loggedIn(): Promise<void> {
  events.stop(true);
  const me = await api<Me>('GET', '/api/v1/me');
  const next = app.get().next;
  app.set({ notice: null, next: null });
  applyMe(me);
  navigate(me.restriction ? '/' : next || '/', { replace: true });
}

export function sessionEnded(notice: Notice): void {
  events.stop(true);
  const { me, path } = app.get();
  if (!me && path === '/login') {
    app.set({ notice });
    return;
  }
  // After an expiry, logging in again comes back to the same page.
  const next = (notice === 'expired' || notice === 'ended_ws') && path !== '/' ? path : null;
  app.set({ me: null, notice, next });
  navigate('/login', { replace: true });
}

export async function logout(all = false): Promise<void> {
  // The server closes this page's socket (4001) as it revokes the session: that is expected.
  events.stop(true);
  try {
    await api('POST', all ? '/api/v1/auth/logout-all' : '/api/v1/auth/logout');
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
  }
  sessionEnded(all ? 'logged_out_all' : 'logged_out');
}

setApiHooks({
  unauthorized: () => {
    if (app.get().me) sessionEnded('expired');
  },
  restricted: () => {
    void refreshMe();
  },
});

// ---- boot --------------------------------------------------------------------------------------

export async function boot(): Promise<void> {
  let info = app.get().info;
  try {
    info = { ...info, ...(await api<Info>('GET', '/api/v1/info', undefined, { session: false })) };
  } catch {
    /* the server is unreachable: defaults, the pages say so when they call it */
  }
  setTimeZone(info.timezone);
  let lang: Lang = LANGS.includes(info.default_language) ? info.default_language : 'fr';
  try {
    const saved = localStorage.getItem(LANG_KEY) as Lang | null;
    if (saved && LANGS.includes(saved)) lang = saved;
  } catch {
    /* private mode */
  }
  setLang(lang);
  app.set({ info, lang });

  let me: Me | null = null;
  let notice: Notice = null;
  if (!location.pathname.startsWith('/patient')) {
    try {
      me = await api<Me>('GET', '/api/v1/me', undefined, { session: false });
    } catch (e) {
      // A cookie that no longer opens a session: it expired while the page was closed.
      if (e instanceof ApiError && e.code === 'session_expired') notice = 'expired';
    }
  }
  const path = location.pathname;
  const deep = !me && path !== '/' && path !== '/login' && !path.startsWith('/setup/') && !path.startsWith('/patient');
  app.set({ booted: true, next: deep ? path : null, notice });
  applyMe(me);
}
