// Logging in, the second factor, restricted sessions (first password change, 2FA enrolment),
// bearer and cookie authentication, and a user's own sessions: what a member of staff sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Server, createUser, loginReady, totp } from './lib/harness.js';
import {
  PASSWORD,
  login,
  apiCreateUser,
  nextCode,
  wrongCode,
  sessionCookie,
} from './lib/accounts.js';

let server;
let admin; // {token, secret} of "root"

before(async () => {
  // Every failure from 127.0.0.1 counts against the one address all tests share: push the
  // throttling limits out of the way here (throttle.test.js covers them).
  server = await new Server({
    env: {
      CARECOMM_LOGIN_DELAY_AFTER: '100',
      CARECOMM_LOGIN_LOCK_AFTER: '1000',
      CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
    },
  }).start();
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('login returns a token, its session and a secure HttpOnly cookie', async () => {
  createUser(server, 'ivan', 'it_support');
  const before = Date.now();
  const r = await login(server, 'ivan');
  assert.equal(r.status, 200, r.text);
  assert.equal(typeof r.body.token, 'string');
  assert.ok(r.body.token.length >= 32, 'token long enough to be unguessable');
  assert.equal(typeof r.body.session_id, 'string');
  assert.notEqual(r.body.session_id, r.body.token);
  assert.ok(r.body.expires_at > before, 'expires in the future');
  assert.equal(r.body.user.username, 'ivan');
  assert.equal(r.body.user.role, 'it_support');
  // Messages can carry patient data: every role enrols 2FA, IT support included.
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  assert.ok(!('password_hash' in r.body.user), 'no password hash in the answer');
  assert.ok(!r.text.includes('argon2'), 'no password hash in the answer');

  const cookie = sessionCookie(r);
  assert.ok(cookie, 'a cc_session cookie is set');
  assert.ok(cookie.startsWith(`cc_session=${r.body.token};`), cookie);
  assert.match(cookie, /;\s*HttpOnly/i);
  assert.match(cookie, /;\s*Secure/i);
  assert.match(cookie, /;\s*SameSite=Strict/i);

  // A login name is not case-sensitive for the person typing it.
  const upper = await login(server, 'IVAN');
  assert.equal(upper.status, 200, upper.text);
  assert.equal(upper.body.user.username, 'ivan');
});

test('a wrong password and an unknown user get the same 401 bad_credentials', async () => {
  const wrong = await login(server, 'ivan', 'Not-The-Password-123');
  const unknown = await login(server, 'nobody-here', 'Not-The-Password-123');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(wrong.body.error.code, 'bad_credentials');
  assert.equal(unknown.body.error.code, 'bad_credentials');
  assert.equal(wrong.body.error.message, unknown.body.error.message, 'no hint whether the user exists');
  assert.equal(sessionCookie(wrong), undefined, 'no cookie on failure');
  assert.ok(!('token' in wrong.body));
});

test('a malformed login body is refused with 400', async () => {
  const r = await server.request('POST', '/api/v1/auth/login', { body: { username: 'ivan' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_request');
});

test('a disabled account gets 403 account_disabled, but only with the right password', async () => {
  createUser(server, 'dora', 'it_support');
  const r0 = server.cli(['user', 'disable', 'dora']);
  assert.equal(r0.code, 0, r0.stderr);
  const right = await login(server, 'dora');
  assert.equal(right.status, 403);
  assert.equal(right.body.error.code, 'account_disabled');
  assert.ok(!('token' in right.body));
  const wrong = await login(server, 'dora', 'Not-The-Password-123');
  assert.equal(wrong.status, 401, 'a wrong password must not reveal that the account is disabled');
  assert.equal(wrong.body.error.code, 'bad_credentials');
});

test('an admin must enrol 2FA before anything else, then the same session gets full access', async () => {
  createUser(server, 'root', 'admin');
  let r = await login(server, 'root');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  const token = r.body.token;

  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  assert.equal(r.body.user.username, 'root');
  assert.equal(r.body.totp_required, true);

  r = await server.request('GET', '/api/v1/users', { token });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'totp_enrolment_required');

  r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: '123456' } });
  assert.equal(r.status, 409, 'confirming before enrolling: nothing to confirm');

  r = await server.request('POST', '/api/v1/auth/totp/enroll', { token });
  assert.equal(r.status, 200, r.text);
  const secret = r.body.secret;
  assert.match(secret, /^[A-Z2-7]{16,}=*$/, 'base32 secret');
  assert.match(r.body.uri, /^otpauth:\/\/totp\//);
  assert.ok(r.body.uri.includes(`secret=${secret}`), r.body.uri);
  assert.match(r.body.uri, /root/);
  assert.match(r.body.uri, /issuer=carecomm/);

  r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: wrongCode(secret) } });
  assert.equal(r.status, 400);
  r = await server.request('GET', '/api/v1/users', { token });
  assert.equal(r.status, 403, 'still restricted after a wrong code');
  assert.equal(r.body.error.code, 'totp_enrolment_required');

  r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: totp(secret) } });
  assert.equal(r.status, 200, r.text);
  const codes = r.body.recovery_codes;
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10, 'recovery codes are distinct');
  for (const c of codes) assert.equal(typeof c, 'string');

  r = await server.request('GET', '/api/v1/users', { token });
  assert.equal(r.status, 200, 'the same session now has full access: ' + r.text);
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.body.restriction ?? null, null);
  assert.equal(r.body.user.totp_enabled, true);

  r = await server.request('POST', '/api/v1/auth/totp/enroll', { token });
  assert.equal(r.status, 409, 'enrolling again needs an admin reset');
  assert.equal(r.body.error.code, 'totp_already_enabled');

  admin = { token, secret, recovery: codes };
});

test('with 2FA on: the code is required, a correct one logs in, a replayed one is refused', async () => {
  let r = await login(server, 'root');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'totp_required');
  assert.equal(sessionCookie(r), undefined);

  r = await login(server, 'root', 'Not-The-Password-123');
  assert.equal(r.status, 401, 'a wrong password is not told that a code is needed');
  assert.equal(r.body.error.code, 'bad_credentials');

  r = await login(server, 'root', PASSWORD, { totp: wrongCode(admin.secret) });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'bad_credentials');

  const code = nextCode(admin.secret);
  r = await login(server, 'root', PASSWORD, { totp: code });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction ?? null, null);
  const again = await login(server, 'root', PASSWORD, { totp: code });
  assert.equal(again.status, 401, 'a TOTP code works once');
  assert.equal(again.body.error.code, 'bad_credentials');
});

test('a recovery code logs in once, and not twice', async () => {
  const [first, second] = admin.recovery;
  let r = await login(server, 'root', PASSWORD, { totp: first });
  assert.equal(r.status, 200, r.text);
  r = await login(server, 'root', PASSWORD, { totp: first });
  assert.equal(r.status, 401, 'a used recovery code is spent');
  assert.equal(r.body.error.code, 'bad_credentials');
  r = await login(server, 'root', PASSWORD, { totp: second });
  assert.equal(r.status, 200, 'the other codes still work: ' + r.text);
  r = await login(server, 'root', 'Not-The-Password-123', { totp: admin.recovery[2] });
  assert.equal(r.status, 401, 'a recovery code does not replace the password');
});

test('a user created by an admin must change the temporary password, then enrol 2FA', async () => {
  const nina = await apiCreateUser(server, admin.token, 'nina', 'nurse', 'Nina Nurse');
  assert.equal(nina.user.must_change_password, true);
  assert.equal(typeof nina.temporary_password, 'string');
  assert.ok(nina.temporary_password.length >= 12);

  let r = await login(server, 'nina', nina.temporary_password);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction, 'password_change_required');
  const token = r.body.token;

  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.status, 200);
  assert.equal(r.body.restriction, 'password_change_required');
  r = await server.request('GET', '/api/v1/users', { token });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'password_change_required');
  r = await server.request('POST', '/api/v1/auth/logout-all', { token });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'password_change_required');

  const change = (old, pw) => server.request('POST', '/api/v1/auth/password', { token, body: { old, new: pw } });
  for (const weak of ['Short-1', 'my-name-is-nina-42', 'MY-NAME-IS-NINA-42', 'zzzzzzzzzzzzzzzz']) {
    r = await change(nina.temporary_password, weak);
    assert.equal(r.status, 400, `weak password ${weak} accepted`);
    assert.equal(r.body.error.code, 'weak_password');
  }
  r = await change('Wrong-Old-Password-1', PASSWORD);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'wrong_password');
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.body.restriction, 'password_change_required', 'nothing changed');

  r = await change(nina.temporary_password, PASSWORD);
  assert.equal(r.status, 200, r.text);
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.status, 200, 'the session that changed the password goes on');
  assert.equal(r.body.restriction, 'totp_enrolment_required', 'a nurse then needs 2FA');
  assert.equal(r.body.user.must_change_password, false);

  r = await server.request('POST', '/api/v1/auth/totp/enroll', { token });
  const secret = r.body.secret;
  r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: totp(secret) } });
  assert.equal(r.status, 200, r.text);
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.body.restriction ?? null, null);

  r = await login(server, 'nina', nina.temporary_password);
  assert.equal(r.status, 401, 'the temporary password no longer works');
  r = await login(server, 'nina', PASSWORD, { totp: nextCode(secret) });
  assert.equal(r.status, 200, 'the new password and the code work: ' + r.text);
});

test('it_support created by an admin must enrol 2FA after the password change (messages carry patient data)', async () => {
  const it = await apiCreateUser(server, admin.token, 'itsy', 'it_support');
  let r = await login(server, 'itsy', it.temporary_password);
  assert.equal(r.body.restriction, 'password_change_required');
  const token = r.body.token;
  r = await server.request('POST', '/api/v1/auth/password', {
    token,
    body: { old: it.temporary_password, new: PASSWORD },
  });
  assert.equal(r.status, 200, r.text);
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  assert.equal(r.body.totp_required, true);
  r = await server.request('GET', '/api/v1/users', { token });
  assert.equal(r.status, 403, r.text);
  assert.equal(r.body.error.code, 'totp_enrolment_required');
});

test('bearer token and session cookie both authenticate; missing, unknown or revoked ones do not', async () => {
  const r0 = await login(server, 'ivan');
  const token = r0.body.token;
  let r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.status, 200);
  assert.equal(r.body.user.username, 'ivan');
  r = await server.request('GET', '/api/v1/me', { cookie: `cc_session=${token}` });
  assert.equal(r.status, 200, 'cookie: ' + r.text);
  assert.equal(r.body.user.username, 'ivan');
  r = await server.request('GET', '/api/v1/me', { cookie: `theme=dark; cc_session=${token}; lang=fr` });
  assert.equal(r.status, 200, 'cookie among others: ' + r.text);

  r = await server.request('GET', '/api/v1/me');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'unauthenticated');

  r = await server.request('GET', '/api/v1/me', { token: 'x'.repeat(43) });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'session_expired');
  r = await server.request('GET', '/api/v1/me', { cookie: 'cc_session=not-a-real-token' });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'session_expired');

  r = await server.request('POST', '/api/v1/auth/logout', { token });
  assert.equal(r.status, 200);
  r = await server.request('GET', '/api/v1/me', { token });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'session_expired');
  r = await server.request('GET', '/api/v1/me', { cookie: `cc_session=${token}` });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'session_expired');
});

test('a session records the address it was opened from, on a fresh or a kept-alive connection', async () => {
  // The server asks the kernel for a connection's address once and reuses it for the
  // connection's later requests: both must name the client exactly.
  const https = await import('node:https');
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.45.6.200' });
  try {
    const opts = { body: { username: 'ivan', password: PASSWORD }, agent, localAddress: '127.45.6.200' };
    const first = await server.request('POST', '/api/v1/auth/login', opts);
    assert.equal(first.status, 200, first.text);
    const second = await server.request('POST', '/api/v1/auth/login', opts);
    assert.equal(second.status, 200, second.text);
    const r = await server.request('GET', '/api/v1/auth/sessions', { token: first.body.token, agent });
    assert.equal(r.status, 200, r.text);
    for (const id of [first.body.session_id, second.body.session_id]) {
      const s = r.body.sessions.find((x) => x.id === id);
      assert.equal(s?.source_ip, '127.45.6.200', JSON.stringify(r.body.sessions));
    }
  } finally {
    agent.destroy();
  }
});

test('my sessions: listed with the current one marked, revocable one by one', async () => {
  const a = (await login(server, 'ivan')).body;
  const b = (await login(server, 'ivan')).body;
  let r = await server.request('GET', '/api/v1/auth/sessions', { token: a.token });
  assert.equal(r.status, 200, r.text);
  const ids = r.body.sessions.map((s) => s.id);
  assert.ok(ids.includes(a.session_id) && ids.includes(b.session_id), JSON.stringify(ids));
  const current = r.body.sessions.filter((s) => s.current === true);
  assert.equal(current.length, 1);
  assert.equal(current[0].id, a.session_id);
  assert.ok(!r.text.includes(a.token) && !r.text.includes(b.token), 'tokens are never listed');
  for (const s of r.body.sessions) {
    assert.equal(typeof s.created_at, 'number');
    assert.equal(typeof s.expires_at, 'number');
  }

  r = await server.request('DELETE', `/api/v1/auth/sessions/${b.session_id}`, { token: a.token });
  assert.equal(r.status, 200, r.text);
  r = await server.request('GET', '/api/v1/me', { token: b.token });
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'session_expired');
  r = await server.request('GET', '/api/v1/auth/sessions', { token: a.token });
  assert.ok(!r.body.sessions.some((s) => s.id === b.session_id), 'revoked session no longer listed');
  r = await server.request('DELETE', `/api/v1/auth/sessions/${b.session_id}`, { token: a.token });
  assert.equal(r.status, 404, 'revoking twice');

  // Another user cannot revoke ivan's session, nor learn that it exists.
  r = await server.request('DELETE', `/api/v1/auth/sessions/${a.session_id}`, { token: admin.token });
  assert.equal(r.status, 404);
  r = await server.request('GET', '/api/v1/me', { token: a.token });
  assert.equal(r.status, 200, 'still alive after a foreign revoke attempt');
  r = await server.request('GET', '/api/v1/auth/sessions', { token: admin.token });
  assert.ok(!r.body.sessions.some((s) => s.id === a.session_id), 'no one else sees my sessions');
});

test('logout revokes the current session and clears the cookie; logout-all revokes every session', async () => {
  // Three full sessions of one account with 2FA: the enrolment's, the next code's, a recovery code's.
  createUser(server, 'lou', 'nurse');
  const lou = await loginReady(server, 'lou');
  const a = { token: lou.token };
  const b = (await login(server, 'lou', PASSWORD, { totp: nextCode(lou.secret) })).body;
  const c = (await login(server, 'lou', PASSWORD, { totp: lou.recovery[0] })).body;
  assert.ok(b.token && c.token, 'logged in three times');

  let r = await server.request('POST', '/api/v1/auth/logout', { cookie: `cc_session=${a.token}` });
  assert.equal(r.status, 200, r.text);
  const cleared = sessionCookie(r);
  assert.ok(cleared, 'logout sets the cookie');
  assert.match(cleared, /^cc_session=;/);
  assert.match(cleared, /Max-Age=0/i);
  r = await server.request('GET', '/api/v1/me', { token: a.token });
  assert.equal(r.status, 401);
  r = await server.request('GET', '/api/v1/me', { token: b.token });
  assert.equal(r.status, 200, 'logout touches only the current session');

  r = await server.request('POST', '/api/v1/auth/logout-all', { token: b.token });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.revoked >= 2, JSON.stringify(r.body));
  assert.ok(sessionCookie(r), 'logout-all clears the cookie too');
  for (const t of [b.token, c.token]) {
    r = await server.request('GET', '/api/v1/me', { token: t });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'session_expired');
  }
});

test('changing the password revokes the other sessions and keeps the current one', async () => {
  const a = (await login(server, 'ivan')).body;
  const b = (await login(server, 'ivan')).body;
  const newPw = 'Another-Strong-Passphrase-7';
  let r = await server.request('POST', '/api/v1/auth/password', { token: a.token, body: { old: PASSWORD, new: newPw } });
  assert.equal(r.status, 200, r.text);
  r = await server.request('GET', '/api/v1/me', { token: a.token });
  assert.equal(r.status, 200, 'current session kept');
  r = await server.request('GET', '/api/v1/me', { token: b.token });
  assert.equal(r.status, 401, 'other session revoked');
  r = await login(server, 'ivan');
  assert.equal(r.status, 401, 'old password refused');
  r = await login(server, 'ivan', newPw);
  assert.equal(r.status, 200, 'new password accepted');
  r = await server.request('POST', '/api/v1/auth/password', { token: a.token, body: { old: newPw, new: newPw } });
  assert.equal(r.status, 400, 'the same password again is not a change');
});

test('the same TOTP code or recovery code sent twice at once logs in only once', async () => {
  createUser(server, 'paul', 'practitioner');
  const { secret } = await loginReady(server, 'paul');
  const code = nextCode(secret);
  const both = await Promise.all([
    login(server, 'paul', PASSWORD, { totp: code }),
    login(server, 'paul', PASSWORD, { totp: code }),
  ]);
  const ok = both.filter((r) => r.status === 200).length;
  assert.equal(ok, 1, `a TOTP code raced twice gave ${ok} sessions: ${both.map((r) => r.status)}`);

  const recovery = admin.recovery[3];
  const twice = await Promise.all([
    login(server, 'root', PASSWORD, { totp: recovery }),
    login(server, 'root', PASSWORD, { totp: recovery }),
  ]);
  const ok2 = twice.filter((r) => r.status === 200).length;
  assert.equal(ok2, 1, `a recovery code raced twice gave ${ok2} sessions`);
});

test("someone who can write the database cannot give an account their own authenticator: a sealed secret copied onto another row does not open", async () => {
  createUser(server, 'mallory', 'practitioner');
  createUser(server, 'victor', 'practitioner');
  const mallory = await loginReady(server, 'mallory');
  const victor = await loginReady(server, 'victor');
  const sql = (statement) =>
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(server.dataDir, 'carecomm.db'), statement], {
      encoding: 'utf8',
    }).trim();
  const sealed = sql(`SELECT totp_secret FROM users WHERE id = '${mallory.userId}'`);
  assert.match(sealed, /^v2:/, 'sealed in the format bound to its user');
  assert.ok(!sealed.includes(mallory.secret), 'not readable in the database');
  // Mallory knows Victor's password (say) and copies her sealed secret onto his row.
  sql(`UPDATE users SET totp_secret = '${sealed}' WHERE id = '${victor.userId}'`);
  let r = await login(server, 'victor', PASSWORD, { totp: nextCode(mallory.secret) });
  assert.notEqual(r.status, 200, `Mallory's code logged Victor in: ${r.text}`);
  assert.ok(!('token' in r.body));
  // Mallory herself is not affected.
  r = await login(server, 'mallory', PASSWORD, { totp: nextCode(mallory.secret) });
  assert.equal(r.status, 200, r.text);
  // Victor's recovery codes still let him in (and an admin can reset his 2FA).
  r = await login(server, 'victor', PASSWORD, { totp: victor.recovery[0] });
  assert.equal(r.status, 200, r.text);
});
