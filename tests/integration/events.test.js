// The event WebSocket as a client sees it: who may connect (session, 2FA, Origin), the protocol
// (hello/welcome, ping, errors), who receives which event, resume without gap or duplicate (from
// the in-memory ring, from the database, across a restart), the closing codes that tell the web
// app what happened (4001, 4003, 1009, 1003) and a slow reader closed with 4008 while others go on.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { Server, EventSocket, createUser, loginReady, sleep, totp, PASSWORD } from './lib/harness.js';
import { H2EventSocket } from './lib/h2ws.js';

const PUBLIC_URL = 'https://carecomm.hospital.example';
const EXTRA_ORIGIN = 'https://console.hospital.example';

// ---- helpers ---------------------------------------------------------------------------------

// Upgrades, sends hello (optionally with last_seq) and returns {w, welcome}.
async function connect(server, token, { lastSeq, headers, origin } = {}) {
  const w = server.ws(token, { headers, origin });
  w.ws.on('error', () => {}); // a refused or reset socket is reported through opened/closed
  await w.opened;
  w.send(lastSeq === undefined ? { type: 'hello' } : { type: 'hello', last_seq: lastSeq });
  const welcome = await w.next((m) => m.type === 'welcome');
  return { w, welcome };
}

// Resolves 'open' when the upgrade succeeds, else the HTTP status it was refused with.
async function upgrade(server, token, opts) {
  const w = server.ws(token, opts);
  w.ws.on('error', () => {});
  try {
    await w.opened;
  } catch (e) {
    const m = /upgrade refused: (\d+)/.exec(e.message);
    return m ? Number(m[1]) : e.message;
  }
  await w.close();
  return 'open';
}

const isEvent = (m) => m.type === 'event';
const eventNamed = (name) => (m) => isEvent(m) && m.event === 'user.updated' && m.data.display_name === name;

// Changes the display name of a user once per name, keeping `concurrency` requests in flight on
// keep-alive connections: each change is one user.updated event.
async function renameMany(server, token, userId, names, concurrency = 8) {
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: server.ca() });
  const one = (name) =>
    new Promise((resolve, reject) => {
      const body = Buffer.from(JSON.stringify({ display_name: name }));
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: server.port,
          method: 'PATCH',
          path: `/api/v1/users/${userId}`,
          agent,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`PATCH ${res.statusCode}`))));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, names.length) }, async () => {
        while (next < names.length) await one(names[next++]);
      }),
    );
  } finally {
    agent.destroy();
  }
}

async function apiCreateUser(server, token, username, role) {
  const r = await server.request('POST', '/api/v1/users', {
    token,
    body: { username, display_name: `User ${username}`, role },
  });
  assert.equal(r.status, 201, r.text);
  return r.body.user.id;
}

async function openSockets(server) {
  const m = await server.request('GET', '/metrics');
  return Number(m.text.match(/carecomm_websockets_open (\d+)/)[1]);
}

// Renames sent concurrently commit in any order: every name exactly once, whatever the order.
function assertSameNames(evs, names) {
  assert.deepEqual(evs.map((m) => m.data.display_name).sort(), [...names].sort());
}

// Asserts that seqs is strictly increasing (no duplicate, in order).
function assertIncreasing(seqs) {
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `seq ${seqs[i]} after ${seqs[i - 1]}`);
}

// ---- one server for most tests: small ring, known public URL and extra origins ---------------

describe('event WebSocket', () => {
  let server;
  let admin; // {token, secret, userId, ...}
  let nurse;
  let target; // a user whose display name is changed to produce user.updated events

  before(async () => {
    server = await new Server({
      env: {
        // These tests produce hundreds of events as fast as one admin session can (renameMany):
        // a load generator, not a user, so the per-session request limit is off.
        CARECOMM_API_RATE_PER_MINUTE: '0',
        CARECOMM_EVENT_RING_SIZE: '100',
        // Written as operators do: with the default port and a path. Browsers send neither.
        CARECOMM_PUBLIC_URL: `${PUBLIC_URL}:443/carecomm/`,
        CARECOMM_ALLOWED_ORIGINS: `${EXTRA_ORIGIN}/, https://other.hospital.example`,
        CARECOMM_MAX_WS_MESSAGE_BYTES: '4096',
      },
    }).start();
    createUser(server, 'root', 'admin');
    createUser(server, 'nina', 'nurse');
    admin = await loginReady(server, 'root');
    nurse = await loginReady(server, 'nina');
    target = await apiCreateUser(server, admin.token, 'target', 'secretary');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('the upgrade needs a valid, unrestricted session', async () => {
    assert.equal(await upgrade(server, null), 401, 'no credentials');
    assert.equal(await upgrade(server, 'not-a-session-token'), 401, 'unknown token');
    assert.equal(await upgrade(server, null, { headers: { cookie: 'cc_session=forged' } }), 401, 'forged cookie');

    // A session that must still enrol 2FA (a nurse's first login) may not listen to events.
    createUser(server, 'newnurse', 'nurse');
    const r = await server.request('POST', '/api/v1/auth/login', { body: { username: 'newnurse', password: PASSWORD } });
    assert.equal(r.status, 200);
    assert.equal(r.body.restriction, 'totp_enrolment_required');
    assert.equal(await upgrade(server, r.body.token), 403, 'restricted session');

    // A session that has logged out.
    createUser(server, 'leaver', 'it_support');
    const l = await loginReady(server, 'leaver');
    assert.equal(await upgrade(server, l.token), 'open');
    assert.equal((await server.request('POST', '/api/v1/auth/logout', { token: l.token })).status, 200);
    assert.equal(await upgrade(server, l.token), 401, 'logged-out session');

    // The web app authenticates with its cookie, API clients with a bearer token.
    assert.equal(await upgrade(server, admin.token), 'open', 'bearer');
    const { w, welcome } = await connect(server, null, { headers: { cookie: `theme=dark; cc_session=${admin.token}` } });
    assert.equal(welcome.type, 'welcome');
    await w.close();

    // Only at its own path.
    const other = new EventSocket(`wss://localhost:${server.port}/api/v1/events/x`, {
      ca: server.ca(),
      headers: { authorization: `Bearer ${admin.token}` },
    });
    other.ws.on('error', () => {});
    await assert.rejects(other.opened, /upgrade refused: 404/);
  });

  test('only allowed origins may open it (cross-site WebSocket hijacking)', async () => {
    const port = server.port;
    for (const origin of [`https://localhost:${port}`, `https://127.0.0.1:${port}`, PUBLIC_URL, EXTRA_ORIGIN, 'https://other.hospital.example']) {
      assert.equal(await upgrade(server, admin.token, { origin }), 'open', `origin ${origin} must be allowed`);
    }
    for (const origin of [
      'https://evil.example',
      `http://localhost:${port}`, // same host, not the same origin
      `https://localhost:${port + 1}`,
      `${PUBLIC_URL}.evil.example`,
      'https://hospital.example',
      'null',
    ]) {
      // The realistic attack: a page elsewhere, in the victim's browser, which sends the cookie.
      assert.equal(await upgrade(server, null, { origin, headers: { cookie: `cc_session=${admin.token}` } }), 403, `origin ${origin} must be refused`);
      assert.equal(await upgrade(server, admin.token, { origin }), 403, `origin ${origin} must be refused`);
    }
  });

  test('hello, welcome, ping and errors', async () => {
    const w = server.ws(admin.token);
    await w.opened;
    // Nothing comes before hello; ping works before it.
    w.send({ type: 'ping', id: 'before-hello' });
    assert.deepEqual(await w.next((m) => m.type === 'pong'), { type: 'pong', id: 'before-hello' });
    w.send({ type: 'hello' });
    const welcome = await w.next((m) => m.type === 'welcome');
    assert.equal(typeof welcome.head, 'number');
    assert.ok(welcome.head > 0, 'creating users wrote events already');
    assert.equal(welcome.resume_from, welcome.head);
    assert.equal(welcome.reset, false);
    assert.equal(w.messages.filter(isEvent).length, 0, 'a hello without last_seq replays nothing');

    const errors = [];
    for (const bad of ['not json', '[1,2]', '{"type":"subscribe"}', '{"type":"hello","last_seq":"12"}', '{"type":"ping","id":5}', '{}']) {
      const before = w.messages.length;
      w.ws.send(bad);
      const e = await w.next((m, i) => m.type === 'error' && w.messages.indexOf(m) >= before);
      errors.push(e);
    }
    for (const e of errors) {
      assert.equal(e.code, 'bad_message');
      assert.equal(typeof e.message, 'string');
    }
    w.send({ type: 'hello' });
    assert.equal((await w.next((m) => m.type === 'error' && m.code === 'already_started')).code, 'already_started');
    // After all of this the connection is still usable.
    w.send({ type: 'ping', id: 'still-here' });
    assert.deepEqual(await w.next((m) => m.type === 'pong' && m.id === 'still-here'), { type: 'pong', id: 'still-here' });
    const name = `hello-check-${Date.now()}`;
    await renameMany(server, admin.token, target, [name]);
    const ev = await w.next(eventNamed(name));
    assert.ok(ev.seq > welcome.head);
    assert.match(ev.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(ev.data.id, target);
    await w.close();
  });

  test('over HTTP/2 too (extended CONNECT, as browsers do it): same rules, same events', async () => {
    createUser(server, 'hugo', 'it_support');
    const u = await loginReady(server, 'hugo');
    // Refused without a session and from another origin, as over HTTP/1.1, except for the form:
    // lws 4.1.6 leaks memory when an HTTP/2 upgrade is refused, so the server accepts it and
    // closes it at once, before sending anything (4001: log in; 1008: not allowed).
    for (const [token, origin, code] of [
      [null, undefined, 4001],
      ['not-a-session-token', undefined, 4001],
      [u.token, 'https://evil.example', 1008],
    ]) {
      const refused = new H2EventSocket(server, token, { origin });
      await refused.opened.catch(() => {}); // accepted or not, it must not stay open
      const closed = await refused.closed;
      assert.equal(closed.code, code, `token ${token} origin ${origin}`);
      assert.deepEqual(refused.messages, [], 'nothing is sent to a refused socket');
      refused.close();
    }

    const h = new H2EventSocket(server, u.token, { origin: `https://localhost:${server.port}` });
    try {
      await h.opened;
      h.send({ type: 'hello' });
      const welcome = await h.next((m) => m.type === 'welcome');
      assert.equal(welcome.reset, false);
      h.send({ type: 'ping', id: 'h2' });
      assert.deepEqual(await h.next((m) => m.type === 'pong'), { type: 'pong', id: 'h2' });
      const name = `over-h2-${Date.now()}`;
      await renameMany(server, admin.token, target, [name]);
      const ev = await h.next(eventNamed(name));
      assert.ok(ev.seq > welcome.head);
      // Logging out closes it with 4001, like any other socket of the session.
      assert.equal((await server.request('POST', '/api/v1/auth/logout', { token: u.token })).status, 200);
      assert.deepEqual(await h.closed, { code: 4001, reason: 'session revoked' });
    } finally {
      h.close();
    }
  });

  test('a client ahead of the server (restored backup) is told to reset', async () => {
    const { w, welcome } = await connect(server, admin.token, { lastSeq: 10_000_000 });
    assert.equal(welcome.reset, true);
    assert.equal(welcome.resume_from, welcome.head);
    await w.close();
  });

  test('each event reaches only those allowed to see it', async () => {
    createUser(server, 'ivy', 'it_support'); // may read users (and messages: 2FA)
    const it = await loginReady(server, 'ivy');
    const a = await connect(server, admin.token);
    const n = await connect(server, nurse.token);
    const i = await connect(server, it.token);

    // user.updated (scope perm:users.read): an admin creates an account.
    const created = await apiCreateUser(server, admin.token, 'visibility', 'practitioner');
    // session.created (scope internal): the nurse logs in a second time (with a recovery code).
    const second = await server.request('POST', '/api/v1/auth/login', {
      body: { username: 'nina', password: PASSWORD, totp: nurse.recovery[0] },
    });
    assert.equal(second.status, 200, second.text);
    // user.updated again, then session.revoked (scope user:<nurse>) as the last event.
    await renameMany(server, admin.token, created, ['visibility renamed']);
    const rv = await server.request('DELETE', `/api/v1/auth/sessions/${second.body.session_id}`, { token: nurse.token });
    assert.equal(rv.status, 200, rv.text);
    // A last user.updated: once admins see it, they have been sent everything before it.
    await renameMany(server, admin.token, created, ['visibility last']);

    const revoked = await n.w.next((m) => isEvent(m) && m.event === 'session.revoked');
    assert.equal(revoked.data.id, second.body.session_id);
    const lastA = await a.w.next(eventNamed('visibility last'));
    const lastI = await i.w.next(eventNamed('visibility last'));
    assert.ok(lastA.seq > revoked.seq && lastI.seq === lastA.seq);
    // Give the nurse's socket time to (wrongly) receive the final user.updated.
    n.w.send({ type: 'ping', id: 'barrier' });
    await n.w.next((m) => m.type === 'pong' && m.id === 'barrier');
    await sleep(200);

    const names = (w) => w.events().map((m) => m.event);
    assert.deepEqual(names(n.w), ['session.revoked'], 'a nurse sees her own session revoked, no account changes');
    assert.deepEqual(names(a.w), ['user.updated', 'user.updated', 'user.updated'], 'an admin sees account changes only');
    assert.deepEqual(names(i.w), ['user.updated', 'user.updated', 'user.updated'], 'IT support (users.read) too');
    assert.equal(a.w.events()[0].data.id, created);
    assert.equal(a.w.events()[0].data.username, 'visibility');
    assert.equal(a.w.events()[0].data.password_hash, undefined);
    // Nobody sees session.created: it carries a token hash.
    for (const s of [a, n, i]) assert.ok(!s.w.events().some((m) => m.event === 'session.created'));
    // The sequence is global: the admin's numbers skip those of events not for them.
    const seqs = a.w.events().map((m) => m.seq);
    assertIncreasing(seqs);
    assert.ok(seqs[1] - seqs[0] >= 2, 'the internal session.created lies between the first two');
    for (const s of [a, n, i]) await s.w.close();
  });

  test('disabling an account closes its open sockets with 4001', async () => {
    createUser(server, 'dora', 'it_support');
    const d = await loginReady(server, 'dora');
    const { w } = await connect(server, d.token);
    const r = await server.request('PATCH', `/api/v1/users/${d.userId}`, { token: admin.token, body: { disabled: true } });
    assert.equal(r.status, 200, r.text);
    const closed = await w.closed;
    assert.equal(closed.code, 4001);
    assert.equal((await server.request('GET', '/api/v1/me', { token: d.token })).status, 401);
    assert.equal(await upgrade(server, d.token), 401);
  });

  test('revoking a session closes that session\'s socket with 4001, and only that one', async () => {
    createUser(server, 'rex', 'it_support');
    const s1 = await loginReady(server, 'rex');
    // A second session: 2FA is enrolled now, so with the next code.
    const l2 = await server.request('POST', '/api/v1/auth/login', {
      body: { username: 'rex', password: PASSWORD, totp: totp(s1.secret, Date.now() + 30000) },
    });
    assert.equal(l2.status, 200, l2.text);
    const s2 = { token: l2.body.token, sessionId: l2.body.session_id };
    const c1 = await connect(server, s1.token);
    const c2 = await connect(server, s2.token);
    const r = await server.request('DELETE', `/api/v1/auth/sessions/${s2.sessionId}`, { token: s1.token });
    assert.equal(r.status, 200, r.text);
    assert.equal((await c2.w.closed).code, 4001);
    c1.w.send({ type: 'ping', id: 'alive' });
    await c1.w.next((m) => m.type === 'pong' && m.id === 'alive');
    assert.equal(c1.w.ws.readyState, 1, 'the other session is untouched');
    // Logging out is revoking one's own session.
    assert.equal((await server.request('POST', '/api/v1/auth/logout', { token: s1.token })).status, 200);
    assert.equal((await c1.w.closed).code, 4001);
  });

  test('a change of role closes the sockets with 4003 so that they reconnect with the new rights', async () => {
    createUser(server, 'rolf', 'it_support');
    const u = await loginReady(server, 'rolf');
    const { w } = await connect(server, u.token);
    const r = await server.request('PATCH', `/api/v1/users/${u.userId}`, { token: admin.token, body: { role: 'secretary' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await w.closed).code, 4003);
  });

  test('a message over max_ws_message_bytes closes with 1009, a binary frame with 1003', async () => {
    const a = await connect(server, admin.token);
    // Under the limit (4096 here), even in several frames' worth of bytes: an error, not a close.
    a.w.ws.send(JSON.stringify({ type: 'ping', id: 'x', pad: 'p'.repeat(3000) }));
    assert.equal((await a.w.next((m) => m.type === 'error')).code, 'bad_message');
    a.w.send({ type: 'ping', id: 'ok' });
    await a.w.next((m) => m.type === 'pong' && m.id === 'ok');
    a.w.ws.send(JSON.stringify({ type: 'ping', id: 'x', pad: 'p'.repeat(5000) }));
    assert.equal((await a.w.closed).code, 1009);

    const b = await connect(server, admin.token);
    b.w.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await b.w.closed).code, 1003);
  });

  // Connects, waits for the event `name`, disconnects: the client "saw up to" that seq.
  async function sawUpTo(name) {
    const c = await connect(server, admin.token);
    await renameMany(server, admin.token, target, [name]);
    const ev = await c.w.next(eventNamed(name));
    await c.w.close();
    return ev.seq;
  }

  // Resumes after lastSeq and returns the events received up to the one named `last`.
  async function resume(lastSeq, last, timeoutMs = 20000) {
    const c = await connect(server, admin.token, { lastSeq });
    assert.equal(c.welcome.resume_from, lastSeq);
    assert.equal(c.welcome.reset, false);
    const end = await c.w.next(eventNamed(last), timeoutMs);
    const evs = c.w.events().filter((m) => m.seq <= end.seq);
    return { c, evs };
  }

  test('resume from the in-memory ring: exactly the events after last_seq', async () => {
    const watcher = await connect(server, admin.token); // stays connected: the reference
    const seen = await sawUpTo('ring-seen');
    const names = Array.from({ length: 30 }, (_, k) => `ring-${k}`);
    await renameMany(server, admin.token, target, names);
    await watcher.w.next(eventNamed('ring-29'));
    const { c, evs } = await resume(seen, 'ring-29');
    const expected = watcher.w.events().filter((m) => m.seq > seen);
    assert.deepEqual(evs.map((m) => m.seq), expected.filter((m) => m.seq <= evs.at(-1).seq).map((m) => m.seq));
    assertSameNames(evs, names);
    assertIncreasing(evs.map((m) => m.seq));
    // And it goes on live after the catch-up.
    await renameMany(server, admin.token, target, ['ring-live']);
    const live = await c.w.next(eventNamed('ring-live'));
    assert.equal(c.w.events().filter((m) => m.seq === live.seq).length, 1);
    await c.w.close();
    await watcher.w.close();
  });

  test('resume older than the ring (100 events here) reads the database, across pages', async () => {
    const watcher = await connect(server, admin.token);
    const seen = await sawUpTo('db-seen');
    // Far more than the ring holds, and more than one page (500) of the database read.
    const names = Array.from({ length: 700 }, (_, k) => `db-${k}`);
    await renameMany(server, admin.token, target, names);
    await watcher.w.next(eventNamed('db-699'), 20000);
    const { c, evs } = await resume(seen, 'db-699');
    const expected = watcher.w.events().filter((m) => m.seq > seen && m.seq <= evs.at(-1).seq);
    assert.equal(evs.length, 700);
    assert.deepEqual(evs.map((m) => m.seq), expected.map((m) => m.seq), 'no gap, no duplicate');
    assertSameNames(evs, names);
    // Events that arrive while the client is still catching up come after, once.
    const { w: c2w } = await connect(server, admin.token, { lastSeq: seen });
    await renameMany(server, admin.token, target, ['db-during-catchup']);
    const tail = await c2w.next(eventNamed('db-during-catchup'), 20000);
    const got = c2w.events().filter((m) => m.seq <= tail.seq);
    assert.equal(got.length, 701);
    assertIncreasing(got.map((m) => m.seq));
    await c.w.close();
    await c2w.close();
    await watcher.w.close();
  });

  test('resume after a server restart: the events written before it are all delivered', async () => {
    const watcher = await connect(server, admin.token);
    const seen = await sawUpTo('restart-seen');
    const names = Array.from({ length: 20 }, (_, k) => `restart-${k}`);
    await renameMany(server, admin.token, target, names);
    await watcher.w.next(eventNamed('restart-19'));
    const expected = watcher.w.events().filter((m) => m.seq > seen).map((m) => m.seq);
    const stopped = server.stop();
    assert.equal((await watcher.w.closed).code, 1001, 'clients are told the server is going away');
    assert.equal((await stopped).code, 0);
    await server.start(); // same data folder and port; sessions survive
    const { c, evs } = await resume(seen, 'restart-19');
    assert.deepEqual(evs.map((m) => m.seq), expected.slice(0, evs.length));
    assertSameNames(evs, names);
    await c.w.close();
  });
});

// ---- a separate server with the smallest send queue ------------------------------------------

describe('event WebSocket with ws_send_queue=16', () => {
  let server;
  let admin;
  let target;

  before(async () => {
    server = await new Server({
      // A slow reader is made by flooding it from one admin session: no per-session limit.
      env: { CARECOMM_API_RATE_PER_MINUTE: '0', CARECOMM_WS_SEND_QUEUE: '16', CARECOMM_EVENT_RING_SIZE: '500' },
    }).start();
    createUser(server, 'root', 'admin');
    admin = await loginReady(server, 'root');
    target = await apiCreateUser(server, admin.token, 'target', 'secretary');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('a resume longer than the queue is paced by the client, not refused', async () => {
    const first = await connect(server, admin.token);
    const names = Array.from({ length: 200 }, (_, k) => `small-${k}`);
    await renameMany(server, admin.token, target, names, 4);
    await first.w.next(eventNamed('small-199'));
    await first.w.close();
    const { w, welcome } = await connect(server, admin.token, { lastSeq: 0 });
    assert.equal(welcome.resume_from, 0);
    const end = await w.next(eventNamed('small-199'), 20000);
    const evs = w.events().filter((m) => m.seq <= end.seq);
    assertIncreasing(evs.map((m) => m.seq));
    assertSameNames(evs.filter((m) => m.data.display_name.startsWith('small-')), names);
    await w.close();
  });

  test('a client that stops reading is closed with 4008; the others keep receiving', async () => {
    const fast = await connect(server, admin.token);
    const slow = await connect(server, admin.token);
    // Stop reading: the kernel buffers fill first (how much depends on the machine), then the
    // server's queue of 16 messages. So produce events until the server reports the socket
    // closed, with a bound; long display names fill the buffers sooner.
    slow.w.ws._socket.pause();
    const pad = 'x'.repeat(100);
    let produced = 0;
    let open = await openSockets(server);
    assert.equal(open, 2);
    while (open === 2 && produced < 40000) {
      const names = Array.from({ length: 200 }, (_, k) => `${pad}-${produced + k}`);
      // Few requests in flight: a single commit must not queue more than 16 events at once.
      await renameMany(server, admin.token, target, names, 4);
      produced += names.length;
      open = await openSockets(server);
    }
    assert.equal(open, 1, `the slow socket was still open after ${produced} events`);
    const lastName = `${pad}-${produced - 1}`;
    // The fast client got every event, in order, and is still connected.
    await fast.w.next(eventNamed(lastName), 20000);
    const fastEvs = fast.w.events();
    assert.equal(fastEvs.length, produced);
    assertIncreasing(fastEvs.map((m) => m.seq));
    assert.equal(fast.w.ws.readyState, 1);
    // The slow client, reading again, finds what was already on its way, then the 4008 close.
    slow.w.ws._socket.resume();
    const closed = await slow.w.closed;
    assert.equal(closed.code, 4008);
    const slowEvs = slow.w.events();
    assert.ok(slowEvs.length < produced);
    assert.deepEqual(
      slowEvs.map((m) => m.seq),
      fastEvs.slice(0, slowEvs.length).map((m) => m.seq),
      'what the slow client got is a gap-free prefix: it can resume from its last seq',
    );
    // And it can: resuming delivers the rest.
    const lastSlow = slowEvs.length ? slowEvs.at(-1).seq : fastEvs[0].seq - 1;
    const again = await connect(server, admin.token, { lastSeq: lastSlow });
    const end = await again.w.next(eventNamed(lastName), 30000);
    const rest = again.w.events().filter((m) => m.seq <= end.seq);
    assert.deepEqual(rest.map((m) => m.seq), fastEvs.slice(slowEvs.length).map((m) => m.seq));
    await again.w.close();
    await fast.w.close();
  });
});
