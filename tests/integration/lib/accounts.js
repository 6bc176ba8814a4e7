// Account flows shared by the auth, admin, audit, throttle, durability and CLI tests: logging in,
// creating users the way an administrator does, finishing a new account's set-up, reading the
// audit trail. Built on harness.js only (the server is driven over its public API and CLI).
import { createUser, loginReady, totp, PASSWORD, sleep } from './harness.js';

export function login(server, username, password = PASSWORD, extra = {}, opts = {}) {
  return server.request('POST', '/api/v1/auth/login', { body: { username, password, ...extra }, ...opts });
}

// An administrator created with the CLI, logged in with 2FA set up: {token, secret}.
export async function adminSession(server, name = 'root', password = PASSWORD) {
  createUser(server, name, 'admin', password);
  return loginReady(server, name, password);
}

// POST /api/v1/users as an admin; throws unless 201. Returns {id, user, temporary_password}.
export async function apiCreateUser(server, adminToken, username, role, display = `User ${username}`) {
  const r = await server.request('POST', '/api/v1/users', {
    token: adminToken,
    body: { username, display_name: display, role },
  });
  if (r.status !== 201) throw new Error(`create ${username}: ${r.status} ${r.text}`);
  return { id: r.body.user.id, user: r.body.user, temporary_password: r.body.temporary_password };
}

// First login of an account an admin created: temporary password, change it, enrol 2FA when
// the role needs it. Returns {token, secret, password}.
export async function activate(server, username, temporary, password = PASSWORD) {
  let r = await login(server, username, temporary);
  if (r.status !== 200) throw new Error(`first login ${username}: ${r.status} ${r.text}`);
  const token = r.body.token;
  r = await server.request('POST', '/api/v1/auth/password', { token, body: { old: temporary, new: password } });
  if (r.status !== 200) throw new Error(`password change ${username}: ${r.status} ${r.text}`);
  let secret = null;
  r = await server.request('GET', '/api/v1/me', { token });
  if (r.body.restriction === 'totp_enrolment_required') {
    r = await server.request('POST', '/api/v1/auth/totp/enroll', { token });
    secret = r.body.secret;
    r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: totp(secret) } });
    if (r.status !== 200) throw new Error(`totp confirm ${username}: ${r.status} ${r.text}`);
  }
  return { token, secret, password };
}

// The code of the next 30-second step: still accepted (the server allows one step of drift) and
// not yet used, whereas the current step's code was just spent confirming the enrolment.
export function nextCode(secret) {
  return totp(secret, Date.now() + 30000);
}

// A well-formed code that no step the server accepts right now produces.
export function wrongCode(secret) {
  const now = Date.now();
  const valid = new Set([-60000, -30000, 0, 30000, 60000].map((d) => totp(secret, now + d)));
  let n = Number(totp(secret, now));
  let code;
  do {
    n = (n + 1) % 1000000;
    code = String(n).padStart(6, '0');
  } while (valid.has(code));
  return code;
}

// Polls fn until it returns a truthy value; the CLI writes to the store and the daemon follows
// the event log, so what the CLI changes shows up on the daemon a moment later.
export async function waitFor(fn, { timeout = 5000, interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(interval);
  }
}

// GET /api/v1/audit with a query object; throws unless 200. Returns the whole body.
export async function auditQuery(server, token, query = {}) {
  const qs = new URLSearchParams(query).toString();
  const r = await server.request('GET', `/api/v1/audit${qs ? '?' + qs : ''}`, { token });
  if (r.status !== 200) throw new Error(`audit ${qs}: ${r.status} ${r.text}`);
  return r.body;
}

export async function listUsers(server, token) {
  const r = await server.request('GET', '/api/v1/users', { token });
  if (r.status !== 200) throw new Error(`list users: ${r.status} ${r.text}`);
  return r.body.users;
}

// The Set-Cookie header line for the session cookie, or undefined.
export function sessionCookie(res) {
  const sc = res.headers['set-cookie'] || [];
  return sc.find((c) => c.startsWith('cc_session='));
}

export { PASSWORD };
