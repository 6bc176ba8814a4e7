// The audit trail as an auditor uses it: who logged in or failed to, what administrators changed,
// what was refused; filtering and paging; and the hash chain that shows any edit or deletion.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Server, createUser, loginReady } from './lib/harness.js';
import { login, adminSession, apiCreateUser, auditQuery } from './lib/accounts.js';

let server;
let root;
let created; // the user the admin created
let tStart;

before(async () => {
  server = await new Server({
    env: {
      CARECOMM_LOGIN_DELAY_AFTER: '100',
      CARECOMM_LOGIN_LOCK_AFTER: '1000',
      CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
    },
  }).start();
  tStart = Date.now();
  root = await adminSession(server, 'root');
  // Activity to find in the trail.
  await login(server, 'root', 'Wrong-Password-000');
  await login(server, 'ghost', 'Wrong-Password-000');
  created = await apiCreateUser(server, root.token, 'sam', 'secretary', 'Sam Secretary');
  createUser(server, 'ivy', 'it_support');
  const ivy = await loginReady(server, 'ivy');
  await server.request('GET', '/api/v1/audit', { token: ivy.token });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('successful and failed logins are recorded, the unknown name included but never a password', async () => {
  const ok = await auditQuery(server, root.token, { action: 'auth.login', outcome: 'success', actor: 'root' });
  assert.ok(ok.records.length >= 1, JSON.stringify(ok));
  assert.match(ok.records[0].object, /^user:/);

  const failed = await auditQuery(server, root.token, { action: 'auth.login', outcome: 'failure' });
  const bad = failed.records.find((x) => x.actor_name === 'root');
  assert.ok(bad, 'failed login of root: ' + JSON.stringify(failed.records));
  assert.equal(bad.details.reason, 'bad_password');
  const unknown = failed.records.find((x) => x.details && x.details.username === 'ghost');
  assert.ok(unknown, 'failed login of an unknown name: ' + JSON.stringify(failed.records));
  assert.equal(unknown.details.reason, 'unknown_user');
  assert.ok(!JSON.stringify(failed).includes('Wrong-Password-000'), 'passwords never reach the audit trail');
});

test('a password typed in the username field is not written to the audit trail', async () => {
  await login(server, 'My Secret Passw0rd!', 'whatever-it-is-1');
  const failed = await auditQuery(server, root.token, { action: 'auth.login', outcome: 'failure' });
  assert.ok(!JSON.stringify(failed).includes('My Secret Passw0rd!'));
});

test('administrative changes are recorded with actor, object and details', async () => {
  const a = await auditQuery(server, root.token, { action: 'user.create', object: `user:${created.id}` });
  assert.equal(a.records.length, 1, JSON.stringify(a));
  const rec = a.records[0];
  assert.equal(rec.actor_name, 'root');
  assert.equal(rec.outcome, 'success');
  assert.equal(rec.details.username, 'sam');
  assert.equal(rec.details.role, 'secretary');
  assert.ok(!JSON.stringify(rec).includes(created.temporary_password), 'no temporary password in the trail');

  const r = await server.request('PATCH', `/api/v1/users/${created.id}`, { token: root.token, body: { disabled: true } });
  assert.equal(r.status, 200);
  const u = await auditQuery(server, root.token, { action: 'user.update', object: `user:${created.id}` });
  assert.equal(u.records.length, 1);
  assert.equal(u.records[0].details.disabled, true);

  // The CLI's changes are in the same trail.
  const cli = await auditQuery(server, root.token, { action: 'user.create', actor: 'cli' });
  assert.ok(cli.records.some((x) => x.details.username === 'ivy'), JSON.stringify(cli));
});

test('denials are recorded', async () => {
  const a = await auditQuery(server, root.token, { action: 'access.denied', actor: 'ivy' });
  assert.equal(a.records.length, 1, JSON.stringify(a));
  assert.equal(a.records[0].object, 'route:GET /api/v1/audit');
  assert.equal(a.records[0].outcome, 'denied');
  assert.equal(a.records[0].details.reason, 'forbidden');
});

test('reading the audit trail is itself audited', async () => {
  const a = await auditQuery(server, root.token, { action: 'audit.read', actor: 'root' });
  assert.ok(a.records.length >= 1);
});

// lws reports IPv4 clients of the dual-stack socket as "::ffff:127.0.0.1"; an auditor searching
// for the client's address must find it as the client knows it.
test('the client address is recorded as the client has it (127.0.0.1)', async () => {
  const a = await auditQuery(server, root.token, { action: 'auth.login', actor: 'root', limit: '1' });
  assert.equal(a.records[0].source_ip, '127.0.0.1');
});

test('filters combine; results come newest first and page with next_before', async () => {
  const all = [];
  let before;
  for (let page = 0; page < 100; page++) {
    const q = { limit: '3' };
    if (before) q.before = String(before);
    const a = await auditQuery(server, root.token, q);
    assert.ok(a.records.length <= 3);
    all.push(...a.records);
    if (!a.next_before) break;
    assert.equal(a.next_before, a.records[a.records.length - 1].id);
    before = a.next_before;
  }
  const ids = all.map((x) => x.id);
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i] < ids[i - 1], `newest first: ${ids}`);
  assert.equal(new Set(ids).size, ids.length, 'no record twice across pages');
  assert.equal(ids[ids.length - 1], 1, 'paging reaches the first record');
  assert.equal(ids.length, ids[0], 'no record skipped (ids are dense)');
  for (const x of all) {
    assert.match(x.hash, /^[0-9a-f]{64}$/);
    assert.equal(typeof x.ts, 'number');
  }

  const one = await auditQuery(server, root.token, { action: 'auth.login', outcome: 'failure', actor: 'root' });
  assert.ok(one.records.length >= 1);
  for (const x of one.records) {
    assert.equal(x.action, 'auth.login');
    assert.equal(x.outcome, 'failure');
    assert.equal(x.actor_name, 'root');
  }

  // Time window: from is inclusive, to exclusive.
  const mid = all[Math.floor(all.length / 2)];
  const from = await auditQuery(server, root.token, { from: String(mid.ts), limit: '500' });
  assert.ok(from.records.every((x) => x.ts >= mid.ts));
  assert.ok(from.records.some((x) => x.id === mid.id));
  const to = await auditQuery(server, root.token, { to: String(mid.ts), limit: '500' });
  assert.ok(to.records.every((x) => x.ts < mid.ts));
  assert.ok(!to.records.some((x) => x.id === mid.id));
  const none = await auditQuery(server, root.token, { from: String(Date.now() + 3600e3) });
  assert.equal(none.records.length, 0);
  const since = await auditQuery(server, root.token, { from: String(tStart), to: String(Date.now() + 1000), limit: '500' });
  assert.ok(since.records.length >= all.length - 1);

  for (const bad of ['limit=0', 'limit=abc', 'limit=100000', 'before=-1', 'from=yesterday']) {
    const r = await server.request('GET', `/api/v1/audit?${bad}`, { token: root.token });
    assert.equal(r.status, 400, bad);
  }
});

test('the chain verifies over the API', async () => {
  const r = await server.request('POST', '/api/v1/audit/verify', { token: root.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.intact, true);
  assert.ok(r.body.records >= 10, JSON.stringify(r.body));
  assert.match(r.body.head_hash, /^[0-9a-f]{64}$/);
});

function sql(statement) {
  return execFileSync('sqlite3', [path.join(server.dataDir, 'carecomm.db'), statement], { encoding: 'utf8' }).trim();
}

test('an edited or deleted record is named by `carecomm audit verify` and by the API', async () => {
  await server.stop();
  let v = server.cli(['audit', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /intact/);

  // Edit record 3: verification fails and names it.
  const original = sql('SELECT outcome FROM audit WHERE id = 3');
  const forged = original === 'success' ? 'failure' : 'success';
  sql(`UPDATE audit SET outcome = '${forged}' WHERE id = 3`);
  v = server.cli(['audit', 'verify']);
  assert.notEqual(v.code, 0, 'an edited record must fail verification');
  assert.match(v.stdout + v.stderr, /record 3\b/);

  // Undone, the chain verifies again (the check is over content, not a flag).
  sql(`UPDATE audit SET outcome = '${original}' WHERE id = 3`);
  v = server.cli(['audit', 'verify']);
  assert.equal(v.code, 0, v.stdout + v.stderr);

  // Delete a middle record: named as missing.
  sql('DELETE FROM audit WHERE id = 5');
  v = server.cli(['audit', 'verify']);
  assert.notEqual(v.code, 0, 'a deleted record must fail verification');
  assert.match(v.stdout + v.stderr, /record 5\b/);

  // The daemon still starts and its verify reports the break to an administrator.
  await server.start();
  const r = await server.request('POST', '/api/v1/audit/verify', { token: root.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.intact, false);
  assert.match(r.body.reason, /\b5\b/);
  assert.ok(r.body.first_bad === 5 || r.body.first_bad === 6, JSON.stringify(r.body));
  assert.equal(r.body.records, 4, 'the records before the gap are intact');
  const failed = await server.request('GET', '/api/v1/audit?action=audit.verify&outcome=failure', { token: root.token });
  assert.equal(failed.body.records.length, 1, 'the failed verification is itself audited');
});
