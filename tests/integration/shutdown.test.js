// Graceful shutdown as operators and users see it: on SIGTERM open WebSockets are told 1001
// ("going away", reconnect later), requests already being worked on still get their answer, the
// process exits 0, and what was written before is there after a restart.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Server, createUser, loginReady, sleep, PASSWORD } from './lib/harness.js';

let server;
before(async () => {
  server = await new Server().start();
});
after(async () => {
  await server.stop();
  server.cleanup();
});

// Sends a login and resolves once its request has been fully written on an open connection,
// with a promise of the response: the request is then in the server's hands.
function loginInFlight(username) {
  return new Promise((resolveSent, rejectSent) => {
    const body = Buffer.from(JSON.stringify({ username, password: PASSWORD }));
    let response;
    const answered = new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: server.port,
          method: 'POST',
          path: '/api/v1/auth/login',
          ca: server.ca(),
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
        },
      );
      req.on('error', (e) => {
        reject(e);
        rejectSent(e);
      });
      req.on('finish', () => resolveSent({ response }));
      req.end(body);
    });
    response = answered;
  });
}

test('SIGTERM: sockets get 1001, requests in flight get their answer, exit 0, data kept', async () => {
  createUser(server, 'root', 'admin');
  const admin = await loginReady(server, 'root');
  const created = await server.request('POST', '/api/v1/users', {
    token: admin.token,
    body: { username: 'kept', display_name: 'Written before the restart', role: 'secretary' },
  });
  assert.equal(created.status, 201);
  for (const name of ['amy', 'bob', 'cyd', 'dan']) createUser(server, name, 'it_support');

  const ws = server.ws(admin.token);
  await ws.opened;
  ws.send({ type: 'hello' });
  const welcome = await ws.next((m) => m.type === 'welcome');

  // Four logins (Argon2id, ~150 ms each in the thread pool) have been sent when the signal
  // comes; whether the server has read them yet or not, each gets its answer.
  const inFlight = await Promise.all(['amy', 'bob', 'cyd', 'dan'].map(loginInFlight));
  await sleep(30);
  const t0 = Date.now();
  const exited = server.stop('SIGTERM');

  const closed = await ws.closed;
  assert.equal(closed.code, 1001, 'the web app reconnects after a 1001');
  assert.equal(closed.reason, 'server shutting down');
  const answers = await Promise.all(inFlight.map((f) => f.response));
  const tokens = {};
  for (const [i, a] of answers.entries()) {
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(typeof a.body.token, 'string');
    tokens[['amy', 'bob', 'cyd', 'dan'][i]] = a.body.token;
  }
  const { code, signal } = await exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 5000, 'the drain does not wait for its deadline');
  assert.match(server.logs, /"shutting down"/);

  // Nobody is listening any more.
  await assert.rejects(server.request('GET', '/healthz'));

  await server.start();
  // The account written before, the admin's session, and the sessions created by the logins
  // that were answered during the shutdown are all there.
  const list = await server.request('GET', '/api/v1/users', { token: admin.token });
  assert.equal(list.status, 200);
  const kept = list.body.users.find((u) => u.username === 'kept');
  assert.equal(kept.display_name, 'Written before the restart');
  for (const [name, token] of Object.entries(tokens)) {
    const me = await server.request('GET', '/api/v1/me', { token });
    assert.equal(me.status, 200, `${name}'s session was committed before the exit`);
    assert.equal(me.body.user.username, name);
  }
  const again = server.ws(admin.token);
  await again.opened;
  again.send({ type: 'hello', last_seq: welcome.head });
  const w2 = await again.next((m) => m.type === 'welcome');
  assert.ok(w2.head >= welcome.head, 'the event log kept its sequence');
  assert.equal(w2.reset, false);
  await again.close();
});

test('a second SIGTERM (or SIGINT) while draining does not cut the drain short', async () => {
  createUser(server, 'eve', 'it_support');
  const pending = await loginInFlight('eve');
  await sleep(20);
  server.proc.kill('SIGINT');
  server.proc.kill('SIGTERM');
  const a = await pending.response;
  assert.equal(a.status, 200);
  const { code } = await server.exited;
  server.checkSanitizers();
  assert.equal(code, 0);
  await server.start();
  assert.equal((await server.request('GET', '/api/v1/me', { token: a.body.token })).status, 200);
});

test('a large download still being sent when SIGTERM comes is sent in full', async () => {
  // The web app's files: one big enough (7 MiB) that the kernel's socket buffers cannot take it
  // all while the client is not reading, so lws still holds part of it at the signal.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carecomm-static-'));
  const big = crypto.randomBytes(7 << 20);
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>carecomm</title>');
  fs.writeFileSync(path.join(dir, 'big.bin'), big);
  const s = await new Server({ env: { CARECOMM_STATIC_DIR: dir } }).start();
  try {
    let res;
    const chunks = [];
    const done = new Promise((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', servername: 'localhost', port: s.port, path: '/big.bin', ca: s.ca(), agent: false },
        (r) => {
          res = r;
          r.pause(); // a slow client: nothing is read for now
          r.on('data', (c) => chunks.push(c));
          r.on('end', () => resolve(Buffer.concat(chunks)));
          r.on('error', reject);
          r.on('aborted', () => reject(new Error('response aborted')));
        },
      );
      req.on('error', reject);
    });
    while (!res) await sleep(10);
    await sleep(300); // the server has written what the socket takes
    const exited = s.stop('SIGTERM');
    await sleep(500);
    res.resume();
    const body = await done;
    assert.equal(body.length, big.length, 'the download was cut short');
    assert.ok(body.equals(big));
    assert.equal((await exited).code, 0);
  } finally {
    await s.stop();
    s.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
