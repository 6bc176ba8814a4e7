// Administration of accounts over the API and the role table: what an administrator does in the
// console, and what each role may and may not do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, createUser, loginReady } from './lib/harness.js';
import { PASSWORD, login, adminSession, apiCreateUser, activate, auditQuery, listUsers, nextCode, waitFor } from './lib/accounts.js';

let server;
let root; // {token, secret}

before(async () => {
  server = await new Server({
    env: {
      CARECOMM_LOGIN_DELAY_AFTER: '100',
      CARECOMM_LOGIN_LOCK_AFTER: '1000',
      CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
    },
  }).start();
  root = await adminSession(server, 'root');
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const get = (path, token) => server.request('GET', path, { token });
const patch = (id, body, token = root.token) => server.request('PATCH', `/api/v1/users/${id}`, { token, body });

test('an admin creates an account: 201 with a temporary password shown once', async () => {
  const r = await server.request('POST', '/api/v1/users', {
    token: root.token,
    body: { username: 'claire', display_name: 'Dr Claire Martin', role: 'practitioner' },
  });
  assert.equal(r.status, 201, r.text);
  const u = r.body.user;
  assert.equal(u.username, 'claire');
  assert.equal(u.display_name, 'Dr Claire Martin');
  assert.equal(u.role, 'practitioner');
  assert.equal(u.disabled, false);
  assert.equal(u.must_change_password, true);
  assert.equal(u.totp_enabled, false);
  assert.match(u.id, /^[0-9A-Za-z]{26}$/);
  assert.equal(typeof r.body.temporary_password, 'string');
  assert.ok(r.body.temporary_password.length >= 12);

  const one = await get(`/api/v1/users/${u.id}`, root.token);
  assert.equal(one.status, 200);
  assert.equal(one.body.username, 'claire');
  assert.ok(!one.text.includes(r.body.temporary_password), 'the temporary password is not readable later');
  assert.ok(!one.text.includes('argon2'), 'no hash in the API');

  const users = await listUsers(server, root.token);
  assert.ok(users.some((x) => x.id === u.id));
  assert.ok(users.some((x) => x.username === 'root' && x.role === 'admin'));
  const l = await login(server, 'claire', r.body.temporary_password);
  assert.equal(l.status, 200, 'the temporary password works: ' + l.text);
  assert.equal(l.body.restriction, 'password_change_required');
});

test('duplicate usernames, invalid usernames and unknown roles are refused', async () => {
  const create = (body) => server.request('POST', '/api/v1/users', { token: root.token, body });
  let r = await create({ username: 'claire', display_name: 'Another Claire', role: 'nurse' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'username_taken');
  r = await create({ username: 'root', display_name: 'Impostor', role: 'admin' });
  assert.equal(r.status, 409, 'even for the admin name');
  for (const username of ['Claire', 'has space', '-dash', 'x', 'a'.repeat(65), 'émile', 'semi;colon']) {
    r = await create({ username, display_name: 'X', role: 'nurse' });
    assert.equal(r.status, 400, `username ${JSON.stringify(username)} accepted`);
    assert.ok(['invalid_username', 'invalid_request'].includes(r.body.error.code), r.text);
  }
  r = await create({ username: 'validname', display_name: 'X', role: 'surgeon' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_role');
  r = await create({ username: 'validname', display_name: 'X' });
  assert.equal(r.status, 400, 'role is required');
  r = await create({ username: 'validname', role: 'nurse' });
  assert.equal(r.status, 400, 'display name is required');
  const users = await listUsers(server, root.token);
  assert.ok(!users.some((u) => u.username === 'validname'), 'nothing created by refused requests');
  assert.equal(users.filter((u) => u.username === 'claire').length, 1);
});

test('unknown user ids answer 404', async () => {
  for (const id of ['01ZZZZZZZZZZZZZZZZZZZZZZZZ', 'short', '../../etc/passwd']) {
    const r = await get(`/api/v1/users/${encodeURIComponent(id)}`, root.token);
    assert.equal(r.status, 404, id);
  }
  const r = await patch('01ZZZZZZZZZZZZZZZZZZZZZZZZ', { display_name: 'Ghost' });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'user_not_found');
  const rp = await server.request('POST', '/api/v1/users/01ZZZZZZZZZZZZZZZZZZZZZZZZ/reset-password', { token: root.token });
  assert.equal(rp.status, 404);
});

test('patch changes the display name, the role and the disabled flag; each change is audited', async () => {
  const u = await apiCreateUser(server, root.token, 'marc', 'nurse', 'Marc');
  let r = await patch(u.id, { display_name: 'Marc Dupont' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.display_name, 'Marc Dupont');
  r = await patch(u.id, { role: 'secretary' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.role, 'secretary');
  r = await get(`/api/v1/users/${u.id}`, root.token);
  assert.equal(r.body.display_name, 'Marc Dupont');
  assert.equal(r.body.role, 'secretary');
  r = await patch(u.id, { role: 'surgeon' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_role');
  r = await patch(u.id, { disabled: 'yes' });
  assert.equal(r.status, 400, 'disabled must be a boolean');
  r = await get(`/api/v1/users/${u.id}`, root.token);
  assert.equal(r.body.role, 'secretary', 'refused patches change nothing');
  assert.equal(r.body.disabled, false);

  const audit = await auditQuery(server, root.token, { action: 'user.update', object: `user:${u.id}` });
  assert.equal(audit.records.length, 2, JSON.stringify(audit.records));
  assert.equal(audit.records[0].details.role, 'secretary');
  assert.equal(audit.records[0].actor_name, 'root');
});

test('disabling an account revokes its sessions at once; enabling lets it log in again', async () => {
  const u = await apiCreateUser(server, root.token, 'dave', 'it_support');
  const { token, secret } = await activate(server, 'dave', u.temporary_password);
  assert.equal((await get('/api/v1/me', token)).status, 200);

  let r = await patch(u.id, { disabled: true });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.disabled, true);
  r = await get('/api/v1/me', token);
  assert.equal(r.status, 401, 'the disabled user is logged out');
  r = await login(server, 'dave');
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'account_disabled');

  r = await patch(u.id, { disabled: false });
  assert.equal(r.status, 200);
  assert.equal(r.body.disabled, false);
  r = await get('/api/v1/me', token);
  assert.equal(r.status, 401, 'enabling does not bring old sessions back');
  r = await login(server, 'dave', PASSWORD, { totp: nextCode(secret) });
  assert.equal(r.status, 200, r.text);
});

test('an admin cannot disable their own account', async () => {
  const me = (await get('/api/v1/me', root.token)).body.user;
  const r = await patch(me.id, { disabled: true });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'cannot_disable_self');
  assert.equal((await get('/api/v1/me', root.token)).status, 200);
});

test('reset-password: a temporary password, old sessions revoked, change required', async () => {
  const u = await apiCreateUser(server, root.token, 'rita', 'it_support');
  const { token, secret } = await activate(server, 'rita', u.temporary_password);
  let r = await server.request('POST', `/api/v1/users/${u.id}/reset-password`, { token: root.token });
  assert.equal(r.status, 200, r.text);
  const temp = r.body.temporary_password;
  assert.equal(typeof temp, 'string');
  assert.ok(temp.length >= 12);
  assert.notEqual(temp, u.temporary_password);

  r = await get('/api/v1/me', token);
  assert.equal(r.status, 401, 'sessions revoked by the reset');
  r = await login(server, 'rita');
  assert.equal(r.status, 401, 'the old password no longer works');
  r = await login(server, 'rita', temp, { totp: nextCode(secret) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction, 'password_change_required');
  r = await get('/api/v1/users', r.body.token);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'password_change_required');
  r = await get(`/api/v1/users/${u.id}`, root.token);
  assert.equal(r.body.must_change_password, true);
});

test('reset-totp: the user logs in with the password alone and must enrol again', async () => {
  const u = await apiCreateUser(server, root.token, 'tom', 'practitioner');
  const { token, secret } = await activate(server, 'tom', u.temporary_password);
  assert.ok(secret);
  let r = await server.request('POST', `/api/v1/users/${u.id}/reset-totp`, { token: root.token });
  assert.equal(r.status, 200, r.text);
  r = await get('/api/v1/me', token);
  assert.equal(r.status, 401, 'sessions revoked by the reset');
  r = await get(`/api/v1/users/${u.id}`, root.token);
  assert.equal(r.body.totp_enabled, false);

  r = await login(server, 'tom');
  assert.equal(r.status, 200, 'no code asked any more: ' + r.text);
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  const t2 = r.body.token;
  r = await server.request('POST', '/api/v1/auth/totp/enroll', { token: t2 });
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.body.secret, secret, 'a new secret');
});

test('role table: admin, practitioner, nurse, secretary and it_support hold what they should', async () => {
  const expected = {
    admin: ['users.read', 'users.write', 'audit.read', 'messages', 'meetings'],
    practitioner: ['messages', 'meetings'],
    nurse: ['messages', 'meetings'],
    secretary: ['messages', 'meetings'],
    it_support: ['users.read', 'messages', 'meetings'],
  };
  const adminPerms = ['users.read', 'users.write', 'audit.read', 'messages', 'meetings'];
  for (const role of ['practitioner', 'nurse', 'secretary', 'it_support']) createUser(server, `role-${role}`, role);
  const sessions = { admin: root.token };
  for (const role of ['practitioner', 'nurse', 'secretary', 'it_support']) {
    sessions[role] = (await loginReady(server, `role-${role}`)).token;
  }
  for (const [role, has] of Object.entries(expected)) {
    const r = await get('/api/v1/me', sessions[role]);
    assert.equal(r.status, 200);
    assert.equal(r.body.user.role, role);
    for (const p of adminPerms) {
      assert.equal(r.body.permissions.includes(p), has.includes(p), `${role} ${has.includes(p) ? 'lacks' : 'has'} ${p}`);
    }
    // Every role can message, and messages can carry patient data: every role needs 2FA.
    assert.equal(r.body.totp_required, true, `2FA requirement of ${role}`);
  }

  // it_support reads accounts but does not change them nor read the audit trail.
  const it = sessions.it_support;
  let r = await get('/api/v1/users', it);
  assert.equal(r.status, 200, r.text);
  const someone = r.body.users.find((u) => u.username === 'claire');
  r = await get(`/api/v1/users/${someone.id}`, it);
  assert.equal(r.status, 200);
  const denied = [
    ['POST', '/api/v1/users', { username: 'sneaky', display_name: 'S', role: 'admin' }],
    ['PATCH', `/api/v1/users/${someone.id}`, { role: 'admin' }],
    ['POST', `/api/v1/users/${someone.id}/reset-password`, undefined],
    ['POST', `/api/v1/users/${someone.id}/reset-totp`, undefined],
    ['GET', '/api/v1/audit', undefined],
    ['POST', '/api/v1/audit/verify', undefined],
  ];
  for (const [method, path, body] of denied) {
    r = await server.request(method, path, { token: it, body });
    assert.equal(r.status, 403, `it_support ${method} ${path}`);
    assert.equal(r.body.error.code, 'forbidden');
  }
  assert.ok(!(await listUsers(server, root.token)).some((u) => u.username === 'sneaky'));
});

test('a forbidden request is a 403 forbidden and an access.denied audit record', async () => {
  createUser(server, 'phil', 'practitioner');
  const { token } = await loginReady(server, 'phil');
  for (const path of ['/api/v1/users', '/api/v1/audit']) {
    const r = await get(path, token);
    assert.equal(r.status, 403, path);
    assert.equal(r.body.error.code, 'forbidden');
  }
  const r = await server.request('POST', '/api/v1/users', {
    token,
    body: { username: 'phil2', display_name: 'P', role: 'admin' },
  });
  assert.equal(r.status, 403);

  const records = await waitFor(
    async () => {
      const a = await auditQuery(server, root.token, { action: 'access.denied', actor: 'phil' });
      return a.records.length >= 3 && a.records;
    },
    { what: 'three access.denied records for phil', timeout: 2000 },
  );
  const objects = records.map((x) => x.object);
  assert.ok(objects.includes('route:GET /api/v1/users'), JSON.stringify(objects));
  assert.ok(objects.includes('route:GET /api/v1/audit'), JSON.stringify(objects));
  assert.ok(objects.includes('route:POST /api/v1/users'), JSON.stringify(objects));
  for (const x of records) {
    assert.equal(x.outcome, 'denied');
    assert.equal(x.actor_name, 'phil');
    // The exact form of the address is checked in audit.test.js (it is v4-mapped today).
    assert.match(x.source_ip, /127\.0\.0\.1$/);
  }
});

test('the last active admin can neither be demoted nor disabled', async () => {
  const me = (await get('/api/v1/me', root.token)).body.user;
  let r = await patch(me.id, { role: 'it_support' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'last_admin');
  r = await get('/api/v1/me', root.token);
  assert.equal(r.body.user.role, 'admin', 'still admin');

  // With a second admin, demotion is allowed; the demoted admin loses the rights at once.
  const a2 = await apiCreateUser(server, root.token, 'root2', 'admin');
  const s2 = await activate(server, 'root2', a2.temporary_password);
  assert.equal((await get('/api/v1/users', s2.token)).status, 200);
  r = await patch(a2.id, { role: 'nurse' });
  assert.equal(r.status, 200, r.text);
  r = await get('/api/v1/users', s2.token);
  assert.equal(r.status, 403, 'a demoted admin loses users.read at once');
  r = await patch(a2.id, { role: 'admin' });
  assert.equal(r.status, 200, r.text);
  assert.equal((await get('/api/v1/users', s2.token)).status, 200, 'and gets it back');

  // Two admins disabling each other at the same moment: one wins, the hospital keeps an admin.
  const [x, y] = await Promise.all([
    patch(a2.id, { disabled: true }, root.token),
    patch(me.id, { disabled: true }, s2.token),
  ]);
  const oks = [x, y].filter((q) => q.status === 200);
  assert.equal(oks.length, 1, `statuses ${x.status} ${y.status}: ${x.text} ${y.text}`);
  const loser = x.status === 200 ? y : x;
  assert.ok(
    (loser.status === 409 && loser.body.error.code === 'last_admin') || loser.status === 401,
    `loser: ${loser.status} ${loser.text}`,
  );
  const winnerToken = x.status === 200 ? root.token : s2.token;
  const users = await listUsers(server, winnerToken);
  const activeAdmins = users.filter((u) => u.role === 'admin' && !u.disabled);
  assert.equal(activeAdmins.length, 1);

  // The survivor is now the last admin: it cannot disable (self) nor demote itself.
  const survivor = activeAdmins[0];
  r = await patch(survivor.id, { role: 'nurse' }, winnerToken);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'last_admin');
  r = await patch(survivor.id, { disabled: true, role: 'nurse' }, winnerToken);
  assert.equal(r.status, 409);
});
