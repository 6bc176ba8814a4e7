// The administrator's command-line tool against a running daemon (it writes to the same store,
// and the daemon follows its changes): users, configuration, audit verification, backup/restore.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Server, loginReady, tempDir, PASSWORD } from './lib/harness.js';
import { login, adminSession, listUsers, waitFor } from './lib/accounts.js';

let server;
let root;
let scratch;

before(async () => {
  server = await new Server({
    env: {
      CARECOMM_LOGIN_DELAY_AFTER: '100',
      CARECOMM_LOGIN_LOCK_AFTER: '1000',
      CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
    },
  }).start();
  root = await adminSession(server, 'root');
  scratch = tempDir('carecomm-cli-');
});
after(async () => {
  await server.stop();
  server.cleanup();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const cli = (args, input) => server.cli(args, input === undefined ? {} : { input });
const listLine = (name) => cli(['user', 'list']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === name);
// The daemon notices the CLI's writes by following the event log: wait for a session to end.
const loggedOut = (token) =>
  waitFor(async () => (await server.request('GET', '/api/v1/me', { token })).status === 401, {
    what: 'the daemon to end the session',
  });

test('--help lists the commands', () => {
  const r = cli(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['user create', 'user list', 'audit verify', 'config show', 'backup', 'restore']) assert.ok(r.stdout.includes(c), c);
  const none = cli([]);
  assert.notEqual(none.code, 0);
  assert.notEqual(cli(['frobnicate']).code, 0);
});

test('user create reads the password on stdin; weak passwords, duplicates and bad roles are refused', async () => {
  let r = cli(['user', 'create', 'carol', '--role', 'nurse', '--display', 'Carol Chevalier'], PASSWORD + '\n');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), 'the password is never echoed');
  const line = listLine('carol');
  assert.ok(line, cli(['user', 'list']).stdout);
  assert.match(line, /\bnurse\b/);
  assert.match(line, /\bactive\b/);
  assert.match(line, /Carol Chevalier/);

  const users = await listUsers(server, root.token);
  const carol = users.find((u) => u.username === 'carol');
  assert.ok(carol, 'the daemon sees the account');
  assert.equal(carol.display_name, 'Carol Chevalier');
  assert.equal(carol.must_change_password, false, 'the operator chose the password');
  const l = await login(server, 'carol');
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.restriction, 'totp_enrolment_required');

  for (const weak of ['short', 'aaaaaaaaaaaaaaaa', 'my-name-is-weakling-1']) {
    r = cli(['user', 'create', 'weakling', '--role', 'nurse'], weak + '\n');
    assert.notEqual(r.code, 0, `weak password ${weak} accepted`);
    assert.match(r.stderr, /password/i);
  }
  r = cli(['user', 'create', 'carol-weak', '--role', 'nurse'], 'carol-weak-pass-1\n');
  assert.notEqual(r.code, 0, 'a password containing the username');
  r = cli(['user', 'create', 'nopass', '--role', 'nurse'], '');
  assert.notEqual(r.code, 0, 'no password on stdin');
  r = cli(['user', 'create', 'carol', '--role', 'admin'], PASSWORD + '\n');
  assert.notEqual(r.code, 0, 'duplicate accepted');
  assert.match(r.stderr, /exists/);
  r = cli(['user', 'create', 'newbie', '--role', 'surgeon'], PASSWORD + '\n');
  assert.notEqual(r.code, 0);
  r = cli(['user', 'create', 'Bad Name', '--role', 'nurse'], PASSWORD + '\n');
  assert.notEqual(r.code, 0);
  r = cli(['user', 'create', 'norole'], PASSWORD + '\n');
  assert.notEqual(r.code, 0, '--role is required');

  const names = cli(['user', 'list']).stdout;
  for (const n of ['weakling', 'carol-weak', 'nopass', 'newbie', 'norole']) assert.ok(!names.includes(n), `${n} was created`);
  assert.equal((await listUsers(server, root.token)).filter((u) => u.username === 'carol').length, 1);
  assert.equal(listLine('carol').includes('nurse'), true, 'the duplicate did not change carol');
});

test('user create --temporary makes the user change the password at first login', async () => {
  const r = cli(['user', 'create', 'tempo', '--role', 'it_support', '--temporary'], PASSWORD + '\n');
  assert.equal(r.code, 0, r.stderr);
  const l = await login(server, 'tempo');
  assert.equal(l.status, 200);
  assert.equal(l.body.restriction, 'password_change_required');
});

test('disable ends the sessions on the running daemon and refuses logins; enable restores access', async () => {
  const s = await login(server, 'carol');
  assert.equal(s.status, 200);
  let r = cli(['user', 'disable', 'carol']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(listLine('carol'), /\bdisabled\b/);
  await loggedOut(s.body.token);
  let l = await login(server, 'carol');
  assert.equal(l.status, 403);
  assert.equal(l.body.error.code, 'account_disabled');
  const u = (await listUsers(server, root.token)).find((x) => x.username === 'carol');
  assert.equal(u.disabled, true, 'the admin console shows it');

  r = cli(['user', 'enable', 'carol']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(listLine('carol'), /\bactive\b/);
  l = await login(server, 'carol');
  assert.equal(l.status, 200, l.text);

  r = cli(['user', 'disable', 'ghost']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /ghost/);
});

test('reset-password sets the password from stdin and ends the sessions; --temporary forces a change', async () => {
  const s = await login(server, 'carol');
  const newPw = 'Fresh-Passphrase-For-Carol-9'.replace('Carol', 'C4rol');
  let r = cli(['user', 'reset-password', 'carol'], newPw + '\n');
  assert.equal(r.code, 0, r.stderr);
  await loggedOut(s.body.token);
  assert.equal((await login(server, 'carol')).status, 401, 'old password refused');
  let l = await login(server, 'carol', newPw);
  assert.equal(l.status, 200, l.text);
  assert.equal(l.body.restriction, 'totp_enrolment_required', 'no forced change without --temporary');

  r = cli(['user', 'reset-password', 'carol'], 'weak\n');
  assert.notEqual(r.code, 0, 'weak password accepted');
  assert.equal((await login(server, 'carol', newPw)).status, 200, 'a refused reset changes nothing');

  r = cli(['user', 'reset-password', 'carol', '--temporary'], PASSWORD + '\n');
  assert.equal(r.code, 0, r.stderr);
  l = await login(server, 'carol');
  assert.equal(l.status, 200);
  assert.equal(l.body.restriction, 'password_change_required');
  r = await server.request('POST', '/api/v1/auth/password', { token: l.body.token, body: { old: PASSWORD, new: newPw } });
  assert.equal(r.status, 200, r.text);

  r = cli(['user', 'reset-password', 'ghost'], PASSWORD + '\n');
  assert.notEqual(r.code, 0);
});

test('reset-totp makes the user enrol again', async () => {
  const pw = 'Fresh-Passphrase-For-C4rol-9';
  const { token } = await loginReady(server, 'carol', pw);
  assert.match(listLine('carol'), /\b2fa\b/);
  let l = await login(server, 'carol', pw);
  assert.equal(l.body?.error?.code, 'totp_required');

  const r = cli(['user', 'reset-totp', 'carol']);
  assert.equal(r.code, 0, r.stderr);
  await loggedOut(token);
  assert.doesNotMatch(listLine('carol'), /\b2fa\b/);
  l = await login(server, 'carol', pw);
  assert.equal(l.status, 200, 'no code asked: ' + l.text);
  assert.equal(l.body.restriction, 'totp_enrolment_required');
});

test('set-role changes the role seen by the daemon', async () => {
  const pw = 'Fresh-Passphrase-For-C4rol-9';
  const s = await login(server, 'carol', pw);
  let r = cli(['user', 'set-role', 'carol', 'it_support']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(listLine('carol'), /\bit_support\b/);
  await waitFor(async () => {
    const me = await server.request('GET', '/api/v1/me', { token: s.body.token });
    return me.status === 200 && me.body.user.role === 'it_support';
  }, { what: 'the daemon to see the new role' });
  const me = await server.request('GET', '/api/v1/me', { token: s.body.token });
  assert.ok(me.body.permissions.includes('users.read'));
  assert.equal(me.body.restriction, 'totp_enrolment_required', 'it_support needs 2FA too: messages carry patient data');
  r = cli(['user', 'set-role', 'carol', 'surgeon']);
  assert.notEqual(r.code, 0);
  assert.match(listLine('carol'), /\bit_support\b/);

  const audit = await server.request('GET', '/api/v1/audit?actor=cli&action=user.update', { token: root.token });
  assert.ok(audit.body.records.some((x) => x.details.role === 'it_support'), 'CLI changes are audited');
  assert.ok(audit.body.records.every((x) => x.source_ip === 'local'));
});

test('config show: JSON with every key, its source, and secrets masked', () => {
  const conf = path.join(scratch, 'test.conf');
  fs.writeFileSync(conf, 'session_idle_minutes = 45\n');
  const r = server.cli(['--config', conf, 'config', 'show'], {
    env: {
      CARECOMM_PG_CONNINFO: 'host=db.example user=cc password=hunter2-secret',
      CARECOMM_METRICS_TOKEN: 'metrics-token-s3cret',
    },
  });
  assert.equal(r.code, 0, r.stderr);
  const cfg = JSON.parse(r.stdout);
  assert.ok(!r.stdout.includes('hunter2-secret'), 'pg_conninfo leaked');
  assert.ok(!r.stdout.includes('metrics-token-s3cret'), 'metrics_token leaked');
  assert.equal(cfg.pg_conninfo.source, 'env');
  assert.notEqual(cfg.pg_conninfo.value, null);
  assert.equal(cfg.metrics_token.source, 'env');
  assert.equal(cfg.data_dir.source, 'env');
  assert.equal(cfg.data_dir.value, server.dataDir);
  assert.equal(cfg.session_idle_minutes.source, 'file');
  assert.equal(cfg.session_idle_minutes.value, 45);
  assert.equal(cfg.login_delay_after.source, 'env');
  assert.equal(cfg.login_delay_after.value, 100);
  assert.equal(cfg.session_max_hours.source, 'default');
  assert.equal(cfg.session_max_hours.value, 12);
  for (const k of ['listen', 'store_backend', 'login_lock_after', 'totp_issuer']) assert.ok(k in cfg, k);

  const bad = server.cli(['config', 'show'], { env: { CARECOMM_SESSION_IDLE_MINUTES: 'forever' } });
  assert.notEqual(bad.code, 0, 'an invalid value is an error, not a default');
  assert.match(bad.stderr, /session_idle_minutes/);
});

test('audit verify exits 0 on an intact chain', () => {
  const r = cli(['audit', 'verify']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /intact/);
});

test('backup, then restore with the daemon stopped, brings back the state of the backup', async () => {
  const file = path.join(scratch, 'carecomm-backup.db');
  let r = cli(['backup', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.statSync(file).size > 0);

  // Changes after the backup.
  r = cli(['user', 'create', 'after-backup', '--role', 'nurse'], PASSWORD + '\n');
  assert.equal(r.code, 0, r.stderr);
  r = cli(['user', 'disable', 'tempo']);
  assert.equal(r.code, 0, r.stderr);

  await server.stop();
  r = cli(['restore', path.join(scratch, 'no-such-file.db')]);
  assert.notEqual(r.code, 0, 'restoring a missing file');
  r = cli(['restore', file]);
  assert.equal(r.code, 0, r.stderr);
  const names = cli(['user', 'list']).stdout;
  assert.ok(!names.includes('after-backup'), 'a user created after the backup is gone');
  assert.match(listLine('tempo'), /\bactive\b/, 'tempo is active again as in the backup');
  r = cli(['audit', 'verify']);
  assert.equal(r.code, 0, 'the restored audit chain verifies: ' + r.stdout + r.stderr);

  await server.start();
  let l = await login(server, 'after-backup');
  assert.equal(l.status, 401);
  l = await login(server, 'tempo');
  assert.equal(l.status, 200, l.text);
  const me = await server.request('GET', '/api/v1/me', { token: root.token });
  assert.equal(me.status, 200, 'sessions from before the backup are still valid');
  const users = await listUsers(server, root.token);
  assert.ok(users.some((u) => u.username === 'carol'));
  assert.ok(!users.some((u) => u.username === 'after-backup'));
});
