// The media engine in embedded mode: carecommd starts and supervises a real Janus and a real
// coturn, reports them in /readyz and /metrics, restarts a killed Janus, stops both on SIGTERM,
// and hands out TURN REST credentials that coturn accepts (a real allocation with
// turnutils_uclient) while a forged one is refused. Signalling and TURN allocation work on
// loopback (media_ip = 127.0.0.1); real media needs a non-loopback address (docs/media.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Server, createUser, loginReady, freePort, sleep, PASSWORD, daemonPath, mediaEnv } from './lib/harness.js';

const haveMedia = fs.existsSync('/usr/bin/janus') && fs.existsSync('/usr/bin/turnserver');
const skip = haveMedia ? false : 'Janus or coturn not installed (scripts/install-deps)';

// Short TURN credentials so that their expiry can be seen.
const mediaEnvHere = async () => ({ ...(await mediaEnv()), CARECOMM_TURN_CREDENTIAL_TTL_SECONDS: '600' });

// Alive and not a zombie.
function alive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

function readPid(server, name) {
  return Number(fs.readFileSync(path.join(server.dataDir, 'media', `${name}.pid`), 'utf8').trim());
}

async function until(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// One TURN allocation over TCP (and UDP) through coturn, as a client would do with the
// credentials: -y makes two clients relay to each other, so no peer program is needed.
function turnAllocate(port, username, credential, { udp = false } = {}) {
  const args = ['-y', '-n', '1', '-m', '1', '-l', '64', '-u', username, '-w', credential, '-p', String(port)];
  if (!udp) args.unshift('-t');
  const r = spawnSync('turnutils_uclient', [...args, '127.0.0.1'], { encoding: 'utf8', timeout: 20000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

let server;
let env;
before(async () => {
  if (skip) return;
  env = await mediaEnvHere();
  server = await new Server({ env }).start();
});
after(async () => {
  if (!server) return;
  await server.stop();
  server.cleanup();
});

test('Janus and coturn are started, and /readyz and /metrics report them', { skip }, async () => {
  const r = await until('media ready', async () => {
    const x = await server.request('GET', '/readyz');
    return x.status === 200 ? x : null;
  });
  assert.deepEqual(r.body.components, { store: 'up', janus: 'up', turn: 'up' });
  const m = await server.request('GET', '/metrics');
  assert.match(m.text, /^carecomm_media_janus_up 1$/m);
  assert.match(m.text, /^carecomm_media_turn_up 1$/m);
  assert.match(m.text, /^# TYPE carecomm_media_janus_restarts_total counter$/m);
  assert.match(m.text, /^carecomm_media_janus_restarts_total 0$/m);
  assert.match(m.text, /^carecomm_media_turn_restarts_total 0$/m);

  // The files it wrote, secrets readable by the owner only and never in carecommd's log.
  const dir = path.join(server.dataDir, 'media');
  for (const f of ['secrets.json', 'janus/janus.jcfg', 'janus/janus.transport.websockets.jcfg',
    'janus/janus.plugin.videoroom.jcfg', 'turnserver.conf']) {
    assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
  }
  assert.deepEqual(fs.readdirSync(path.join(dir, 'janus/plugins')), ['libjanus_videoroom.so']);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'janus/transports')), ['libjanus_websockets.so']);
  const secrets = JSON.parse(fs.readFileSync(path.join(dir, 'secrets.json'), 'utf8'));
  for (const v of Object.values(secrets)) assert.ok(!server.logs.includes(v), 'a secret in the log');
  // Their output goes to their own logs, not to carecommd's JSON log.
  assert.match(fs.readFileSync(path.join(dir, 'janus.log'), 'utf8'), /Janus/);
  assert.ok(fs.existsSync(path.join(dir, 'turnserver.log')));
  // Janus's API listens on loopback only.
  const ss = spawnSync('ss', ['-Hltn', `sport = :${env.CARECOMM_JANUS_API_PORT}`], { encoding: 'utf8' });
  if (ss.status === 0) assert.match(ss.stdout, /127\.0\.0\.1:/);
});

test('ICE servers need a session with the meetings permission', { skip }, async () => {
  let r = await server.request('GET', '/api/v1/media/ice-servers');
  assert.equal(r.status, 401);
  assert.equal(r.body.error.code, 'unauthenticated');
  // A session that has not enrolled 2FA yet is restricted: no meetings.
  createUser(server, 'nurse-new', 'nurse');
  const login = await server.request('POST', '/api/v1/auth/login', { body: { username: 'nurse-new', password: PASSWORD } });
  assert.equal(login.body.restriction, 'totp_enrolment_required');
  r = await server.request('GET', '/api/v1/media/ice-servers', { token: login.body.token });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'totp_enrolment_required');
});

test('ICE servers carry TURN REST credentials that coturn accepts, and a forged one is refused', { skip }, async () => {
  createUser(server, 'dr-media', 'practitioner');
  const s = await loginReady(server, 'dr-media');
  const before = Math.floor(Date.now() / 1000);
  const r = await server.request('GET', '/api/v1/media/ice-servers', { token: s.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.ice_servers.length, 1);
  const ice = r.body.ice_servers[0];
  const port = env.CARECOMM_TURN_PORT;
  assert.deepEqual(ice.urls, [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`]);
  assert.equal(ice.ttl, 600);
  const [expiry, user] = ice.username.split(':');
  assert.equal(user, s.userId);
  assert.ok(Number(expiry) >= before + 600 && Number(expiry) <= before + 602, ice.username);
  // Computed here from the shared secret, independently of the server.
  const secret = JSON.parse(fs.readFileSync(path.join(server.dataDir, 'media/secrets.json'), 'utf8')).turn_secret;
  assert.equal(ice.credential, crypto.createHmac('sha1', secret).update(ice.username).digest('base64'));

  // Allocated, and data went through the relays (two clients relaying to each other).
  const ok = turnAllocate(port, ice.username, ice.credential);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /tot_recv_msgs=[1-9]/, ok.out);
  const okUdp = turnAllocate(port, ice.username, ice.credential, { udp: true });
  assert.equal(okUdp.code, 0, okUdp.out);
  assert.match(okUdp.out, /tot_recv_msgs=[1-9]/, okUdp.out);

  const forged = crypto.createHmac('sha1', 'not-the-secret').update(ice.username).digest('base64');
  const bad = turnAllocate(port, ice.username, forged);
  assert.notEqual(bad.code, 0, bad.out);
  assert.match(bad.out, /Cannot complete Allocation/, bad.out);
  // A credential whose expiry passed is refused too.
  const oldName = `${before - 60}:${s.userId}`;
  const old = turnAllocate(port, oldName, crypto.createHmac('sha1', secret).update(oldName).digest('base64'));
  assert.notEqual(old.code, 0, old.out);
  assert.match(old.out, /Cannot complete Allocation/, old.out);
});

test('external mode uses a Janus and a coturn it does not run (here, the embedded ones)', { skip }, async () => {
  const port = env.CARECOMM_TURN_PORT;
  const ext = new Server({
    env: {
      CARECOMM_MEDIA_MODE: 'external',
      CARECOMM_JANUS_URL: `ws://127.0.0.1:${env.CARECOMM_JANUS_API_PORT}`,
      CARECOMM_TURN_URLS: `turn:127.0.0.1:${port}?transport=udp, turn:127.0.0.1:${port}?transport=tcp`,
      CARECOMM_MEDIA_SECRETS_FILE: path.join(server.dataDir, 'media/secrets.json'),
    },
  });
  try {
    await ext.start();
    const r = await until('external media ready', async () => {
      const x = await ext.request('GET', '/readyz');
      return x.status === 200 ? x : null;
    });
    assert.deepEqual(r.body.components, { store: 'up', janus: 'up', turn: 'up' });
    assert.ok(!fs.existsSync(path.join(ext.dataDir, 'media')), 'external mode writes no media files');
    const m = await ext.request('GET', '/metrics');
    assert.match(m.text, /^carecomm_media_janus_up 1$/m);
    assert.doesNotMatch(m.text, /restarts_total/);
    createUser(ext, 'nurse-ext', 'nurse');
    const u = await loginReady(ext, 'nurse-ext');
    const ice = (await ext.request('GET', '/api/v1/media/ice-servers', { token: u.token })).body.ice_servers[0];
    assert.deepEqual(ice.urls, [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`]);
    const ok = turnAllocate(port, ice.username, ice.credential);
    assert.equal(ok.code, 0, ok.out);
  } finally {
    await ext.stop();
    ext.cleanup();
  }
});

test('a Janus killed with SIGKILL is restarted and readiness comes back', { skip }, async () => {
  const pid = readPid(server, 'janus');
  assert.ok(alive(pid));
  process.kill(pid, 'SIGKILL');
  // Not ready while Janus is down (the supervisor sees the exit at once).
  const down = await until('not ready', async () => {
    const x = await server.request('GET', '/readyz');
    return x.status === 503 ? x : null;
  }, 5000);
  assert.equal(down.body.error.code, 'not_ready');
  assert.equal(down.body.components.janus, 'down');
  await until('janus up again', async () => (await server.request('GET', '/readyz')).status === 200);
  const pid2 = readPid(server, 'janus');
  assert.notEqual(pid2, pid);
  assert.ok(alive(pid2));
  const m = await server.request('GET', '/metrics');
  assert.match(m.text, /^carecomm_media_janus_restarts_total 1$/m);
  assert.match(m.text, /^carecomm_media_janus_up 1$/m);
  assert.match(server.logs, /"msg":"media process exited; restarting".*"name":"janus"/);
});

test('SIGTERM stops carecommd and leaves no Janus or coturn running', { skip }, async () => {
  const pids = [readPid(server, 'janus'), readPid(server, 'turnserver')];
  for (const p of pids) assert.ok(alive(p));
  const r = await server.stop();
  assert.equal(r.code, 0);
  for (const p of pids) assert.ok(!alive(p), `process ${p} still running`);
  assert.match(server.logs, /"msg":"media process stopped".*"name":"janus"/);
  assert.match(server.logs, /"msg":"media process stopped".*"name":"turnserver"/);
});

test('a restart on the same data folder reuses the secrets', { skip }, async () => {
  const file = path.join(server.dataDir, 'media/secrets.json');
  const before = fs.readFileSync(file, 'utf8');
  await server.start();
  assert.equal(fs.readFileSync(file, 'utf8'), before);
  const r = await server.request('GET', '/readyz');
  assert.equal(r.status, 200);
});

test('children left by a carecommd killed with SIGKILL are replaced at the next start', { skip }, async () => {
  const s = await new Server({ env: await mediaEnvHere() }).start();
  const old = [readPid(s, 'janus'), readPid(s, 'turnserver')];
  try {
    await s.stop('SIGKILL');
    for (const p of old) assert.ok(alive(p), 'the children outlive a SIGKILL of their parent');
    // Their ports are still taken: the next carecommd must end them before starting its own.
    await s.start();
    for (const p of old) assert.ok(!alive(p), `process ${p} left running`);
    const now = [readPid(s, 'janus'), readPid(s, 'turnserver')];
    for (const p of now) assert.ok(alive(p));
    assert.notDeepEqual(now, old);
    await until('media ready', async () => (await s.request('GET', '/readyz')).status === 200);
    assert.match(s.logs, /"msg":"killing a media process left by a previous carecommd"/);
  } finally {
    await s.stop();
    for (const p of old) if (alive(p)) process.kill(p, 'SIGKILL');
    s.cleanup();
  }
});

test('configuration errors stop start-up with the key and the reason', { skip }, async () => {
  const cases = [
    [{ CARECOMM_MEDIA_MODE: 'embedded' }, /media_ip: required when media_mode = embedded/],
    [{ ...(await mediaEnvHere()), CARECOMM_JANUS_BINARY: '/nonexistent/janus' }, /janus_binary: \/nonexistent\/janus is not an executable file/],
    [{ CARECOMM_MEDIA_MODE: 'external' }, /janus_url: required when media_mode = external/],
    [{ CARECOMM_MEDIA_MODE: 'sometimes' }, /media_mode: must be off, embedded or external/],
  ];
  for (const [extra, reason] of cases) {
    const s = new Server({ env: extra, port: await freePort() });
    const r = spawnSync(daemonPath, [], { env: s.env(), encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /"msg":"start-up failed".*"reason":"media"/);
    assert.match(r.stderr, reason);
    assert.doesNotMatch(r.stderr, /AddressSanitizer|LeakSanitizer|runtime error:/);
    assert.ok(!fs.existsSync(path.join(s.dataDir, 'media/janus.pid')), 'nothing started');
    s.cleanup();
  }
});

test('with media off, ice-servers answers 404 media_disabled and /readyz has no media', async () => {
  const s = await new Server().start();
  try {
    createUser(s, 'sec-off', 'secretary');
    const u = await loginReady(s, 'sec-off');
    const r = await s.request('GET', '/api/v1/media/ice-servers', { token: u.token });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'media_disabled');
    const ready = await s.request('GET', '/readyz');
    assert.deepEqual(ready.body, { status: 'ready', components: { store: 'up' } });
  } finally {
    await s.stop();
    s.cleanup();
  }
});
