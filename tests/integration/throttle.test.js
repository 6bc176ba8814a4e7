// Brute-force protection as an attacker and a bystander meet it: growing delays (429 with
// Retry-After), account lockout after consecutive failures (audited, persisted), address blocking.
// Limits are set small through the environment so that the file stays fast. Attackers connect
// from other loopback addresses (127.0.0.2...) so that per-address counting sees them apart from
// the legitimate users on 127.0.0.1, as it would see different machines.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, EventSocket, createUser, loginReady, sleep, PASSWORD } from './lib/harness.js';
import { login, adminSession, auditQuery, listUsers, nextCode, wrongCode } from './lib/accounts.js';
import { H2EventSocket } from './lib/h2ws.js';

const WRONG = 'Wrong-Password-123';
const from = (addr) => ({ localAddress: addr });

function assertThrottled(r, code) {
  assert.equal(r.status, 429, `${r.status} ${r.text}`);
  assert.equal(r.body.error.code, code);
  assert.equal(typeof r.body.error.retry_after, 'number');
  assert.ok(r.body.error.retry_after >= 1, 'retry_after in whole seconds, at least 1');
  assert.equal(r.headers['retry-after'], String(r.body.error.retry_after), 'Retry-After header matches');
  assert.ok(!('token' in r.body));
}

describe('growing delay after repeated failures', () => {
  let server;
  let root;
  before(async () => {
    server = await new Server({
      env: {
        CARECOMM_LOGIN_DELAY_AFTER: '2',
        CARECOMM_LOGIN_LOCK_AFTER: '1000',
        CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
      },
    }).start();
    root = await adminSession(server, 'root');
    createUser(server, 'victim', 'it_support');
    createUser(server, 'flooded', 'it_support');
    createUser(server, 'bystander', 'it_support');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('wrong passwords: 401 twice, then 429 with retry_after and Retry-After, even for the right password', async () => {
    const attacker = from('127.0.0.2');
    for (let i = 0; i < 2; i++) {
      const r = await login(server, 'victim', WRONG, {}, attacker);
      assert.equal(r.status, 401, r.text);
    }
    let r = await login(server, 'victim', WRONG, {}, attacker);
    assertThrottled(r, 'too_many_attempts');
    r = await login(server, 'victim', PASSWORD, {}, attacker);
    assertThrottled(r, 'too_many_attempts');
    r = await login(server, 'victim', PASSWORD, {}, from('127.0.0.3'));
    assertThrottled(r, 'too_many_attempts'); // the account is slowed down, whatever the address

    // Someone else on another machine is not affected.
    r = await login(server, 'bystander');
    assert.equal(r.status, 200, r.text);

    // Once the delay has passed the right password works; the next failure waits longer.
    await sleep(1100);
    r = await login(server, 'victim', PASSWORD, {}, attacker);
    assert.equal(r.status, 200, r.text);
    r = await login(server, 'victim', WRONG, {}, attacker);
    assert.equal(r.status, 401);
    r = await login(server, 'victim', WRONG, {}, attacker);
    assertThrottled(r, 'too_many_attempts');
    assert.ok(r.body.error.retry_after >= 2, `the delay grows: ${r.body.error.retry_after}`);

    const a = await auditQuery(server, root.token, { action: 'auth.throttled' });
    assert.ok(a.records.length >= 3, JSON.stringify(a));
    assert.match(a.records[0].source_ip, /127\.0\.0\.2$/);
    assert.equal(a.records[0].outcome, 'denied');
  });

  test('another user logging in during a flood on one account is not affected', async () => {
    const flood = [];
    for (let i = 0; i < 30; i++) flood.push(login(server, 'flooded', WRONG, {}, from('127.0.0.4')));
    await sleep(20);
    const mine = await login(server, 'bystander');
    const results = await Promise.all(flood);
    assert.equal(mine.status, 200, 'the bystander logs in during the flood: ' + mine.text);
    for (const r of results) assert.ok([401, 429].includes(r.status), `${r.status} ${r.text}`);
    assert.ok(results.some((r) => r.status === 429), 'the flood is throttled');
    assert.ok(results.filter((r) => r.status === 401).length <= 3, 'few guesses were actually checked');
    const me = await server.request('GET', '/api/v1/me', { token: mine.body.token });
    assert.equal(me.status, 200);
  });
});

describe('account lockout after consecutive failures', () => {
  let server;
  let root;
  before(async () => {
    server = await new Server({
      env: {
        CARECOMM_LOGIN_DELAY_AFTER: '100',
        CARECOMM_LOGIN_LOCK_AFTER: '3',
        CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
        CARECOMM_LOGIN_LOCK_MINUTES: '1',
      },
    }).start();
    root = await adminSession(server, 'root');
    createUser(server, 'lockme', 'it_support');
    createUser(server, 'resetme', 'it_support');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('the third failure locks the account: 429 account_locked even with the right password, audited', async () => {
    const attacker = from('127.0.0.6');
    for (let i = 0; i < 2; i++) {
      const r = await login(server, 'lockme', WRONG, {}, attacker);
      assert.equal(r.status, 401, r.text);
    }
    let r = await login(server, 'lockme', WRONG, {}, attacker);
    assertThrottled(r, 'account_locked');
    assert.ok(r.body.error.retry_after > 30 && r.body.error.retry_after <= 60, `lock lasts login_lock_minutes: ${r.body.error.retry_after}`);
    r = await login(server, 'lockme', PASSWORD, {}, from('127.0.0.7'));
    assertThrottled(r, 'account_locked');

    const users = await listUsers(server, root.token);
    assert.equal(users.find((u) => u.username === 'lockme').locked, true, 'admins see the lock');
    const a = await auditQuery(server, root.token, { action: 'auth.lockout' });
    assert.equal(a.records.length, 1, JSON.stringify(a));
    assert.equal(a.records[0].actor_name, 'lockme');
    assert.equal(a.records[0].details.failed_logins, 3);
    const refused = await auditQuery(server, root.token, { action: 'auth.login', actor: 'lockme', outcome: 'failure' });
    assert.ok(refused.records.some((x) => x.details.reason === 'locked'), 'attempts while locked are audited');
  });

  test('a parallel flood of wrong passwords locks the account all the same', async () => {
    createUser(server, 'parallel', 'it_support');
    const flood = [];
    for (let i = 0; i < 12; i++) flood.push(login(server, 'parallel', WRONG, {}, from('127.0.0.8')));
    const results = await Promise.all(flood);
    for (const r of results) assert.ok([401, 429].includes(r.status), `${r.status} ${r.text}`);
    const r = await login(server, 'parallel', PASSWORD);
    assertThrottled(r, 'account_locked');
  });

  test('the lock survives a restart', async () => {
    await server.stop();
    await server.start();
    const r = await login(server, 'lockme', PASSWORD);
    assertThrottled(r, 'account_locked');
  });

  test('an admin password reset lifts the lock', async () => {
    const id = (await listUsers(server, root.token)).find((u) => u.username === 'lockme').id;
    let r = await server.request('POST', `/api/v1/users/${id}/reset-password`, { token: root.token });
    assert.equal(r.status, 200, r.text);
    r = await login(server, 'lockme', r.body.temporary_password);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.restriction, 'password_change_required');
  });

  test('only consecutive failures count: a success starts the count again', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await login(server, 'resetme', WRONG)).status, 401);
    assert.equal((await login(server, 'resetme')).status, 200);
    for (let i = 0; i < 2; i++) assert.equal((await login(server, 'resetme', WRONG)).status, 401);
    const r = await login(server, 'resetme');
    assert.equal(r.status, 200, 'not locked after 2 + 2 failures separated by a success: ' + r.text);
  });

  test('wrong TOTP codes count as failures too', async () => {
    createUser(server, 'doc', 'practitioner');
    const { secret } = await loginReady(server, 'doc');
    for (let i = 0; i < 2; i++) {
      const r = await login(server, 'doc', PASSWORD, { totp: wrongCode(secret) });
      assert.equal(r.status, 401, r.text);
    }
    let r = await login(server, 'doc', PASSWORD, { totp: wrongCode(secret) });
    assertThrottled(r, 'account_locked');
    r = await login(server, 'doc', PASSWORD, { totp: nextCode(secret) });
    assertThrottled(r, 'account_locked');
  });
});

describe('address blocking', () => {
  let server;
  before(async () => {
    server = await new Server({
      env: {
        CARECOMM_LOGIN_DELAY_AFTER: '100',
        CARECOMM_LOGIN_LOCK_AFTER: '1000',
        CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '3',
        CARECOMM_LOGIN_LOCK_MINUTES: '1',
      },
    }).start();
    createUser(server, 'good', 'it_support');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('an address with too many failures is blocked for every account; other addresses are not', async () => {
    const scanner = from('127.0.0.9');
    for (const name of ['alpha', 'bravo', 'charlie']) {
      const r = await login(server, name, WRONG, {}, scanner);
      assert.equal(r.status, 401, r.text);
    }
    let r = await login(server, 'good', PASSWORD, {}, scanner);
    assertThrottled(r, 'too_many_attempts');
    assert.ok(r.body.error.retry_after > 30, `blocked for the lock period: ${r.body.error.retry_after}`);
    r = await login(server, 'good', PASSWORD);
    assert.equal(r.status, 200, 'the same account from another address: ' + r.text);
  });
});

describe('request rate of a session', () => {
  let server;
  let root;
  before(async () => {
    // 6 at once, then one every 10 s: a budget once used stays used for the whole test, however
    // slowly it runs (sanitizers), so what is refused does not depend on timing.
    server = await new Server({
      env: { CARECOMM_API_RATE_PER_MINUTE: '6', CARECOMM_API_RATE_BURST: '6' },
    }).start();
    root = await adminSession(server, 'root');
    createUser(server, 'script', 'it_support');
    createUser(server, 'colleague', 'it_support');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  test('a session that floods gets 429 with Retry-After, once audited; others and the flooder after waiting get through', async () => {
    const colleague = await loginReady(server, 'colleague');
    const script = await loginReady(server, 'script');
    // Logging in is public; enrolling 2FA (when the role needs it) took two requests.
    const left = 6 - (script.secret ? 2 : 0);
    // A runaway client: 30 requests at once. What is left of the burst passes, the rest is refused.
    const flood = await Promise.all(
      Array.from({ length: 30 }, () => server.request('GET', '/api/v1/me', { token: script.token })),
    );
    const ok = flood.filter((r) => r.status === 200).length;
    const refused = flood.filter((r) => r.status === 429);
    assert.ok(ok === left || ok === left + 1, `the rest of the burst passes (one more after 10 s): ${ok}, expected ${left}`);
    assert.equal(ok + refused.length, 30, flood.map((r) => r.status).join(','));
    for (const r of refused) {
      assertThrottled(r, 'too_many_requests');
      assert.ok(r.body.error.retry_after <= 10, `one request's worth at 6 a minute: ${r.body.error.retry_after}`);
    }
    // The event stream of the same session is refused as well: 429 over HTTP/1.1...
    const ws = new EventSocket(`wss://localhost:${server.port}/api/v1/events`, {
      ca: server.ca(),
      headers: { authorization: `Bearer ${script.token}` },
    });
    await assert.rejects(ws.opened, /upgrade refused: 429/);
    // ...and, over HTTP/2 as a browser opens it there, closed at once with 4029, nothing sent.
    const h2 = new H2EventSocket(server, script.token, { origin: `https://localhost:${server.port}` });
    await h2.opened.catch(() => {});
    assert.deepEqual(await h2.closed, { code: 4029, reason: 'too many requests: wait, then reconnect' });
    assert.deepEqual(h2.messages, []);
    h2.close();

    // A colleague, on the same address, is not slowed down.
    for (let i = 0; i < 4; i++) {
      const r = await server.request('GET', '/api/v1/me', { token: colleague.token });
      assert.equal(r.status, 200, r.text);
    }
    // The flooder waits as told, then gets through: the refusals did not lengthen the wait.
    const wait = Math.max(...refused.map((r) => r.body.error.retry_after));
    await sleep(wait * 1000 + 200);
    const again = await server.request('GET', '/api/v1/me', { token: script.token });
    assert.equal(again.status, 200, again.text);

    // One audit record for the episode, not one per refused request.
    const a = await auditQuery(server, root.token, { action: 'api.throttled' });
    assert.equal(a.records.length, 1, JSON.stringify(a.records));
    assert.equal(a.records[0].actor_name, 'script');
    assert.equal(a.records[0].outcome, 'denied');
    assert.equal(a.records[0].details.route, '/api/v1/me');
    assert.equal(a.records[0].details.session, script.sessionId);
  });
});

describe('messages on a WebSocket', () => {
  let server;
  before(async () => {
    // 10 at once, then one every 10 s: a used budget stays used while the test looks.
    server = await new Server({
      env: { CARECOMM_WS_MESSAGES_PER_MINUTE: '6', CARECOMM_WS_MESSAGES_BURST: '10' },
    }).start();
    createUser(server, 'chatty', 'it_support');
    createUser(server, 'quiet', 'it_support');
  });
  after(async () => {
    await server.stop();
    server.cleanup();
  });

  const open = async (token) => {
    const w = new EventSocket(`wss://localhost:${server.port}/api/v1/events`, {
      ca: server.ca(),
      headers: { authorization: `Bearer ${token}` },
    });
    await w.opened;
    return w;
  };

  test('a client flooding its socket is closed with 4029; the others keep talking, and it may reconnect', async () => {
    const chatty = await loginReady(server, 'chatty');
    const quiet = await loginReady(server, 'quiet');
    const q = await open(quiet.token);
    const c = await open(chatty.token);
    c.send({ type: 'hello' });
    await c.next((m) => m.type === 'welcome');
    for (let i = 0; i < 40; i++) c.send({ type: 'ping', id: `p${i}` });
    assert.deepEqual(await c.closed, { code: 4029, reason: 'too many messages: wait, then reconnect' });
    const pongs = c.messages.filter((m) => m.type === 'pong').map((m) => m.id);
    // hello and nine pings fit the burst of ten (a tenth one if the flood took 10 s); no more.
    assert.ok(pongs.length === 9 || pongs.length === 10, `answered before the close: ${pongs}`);
    assert.deepEqual(pongs, pongs.map((_, i) => `p${i}`), 'the first ones, in order');

    // Someone else's socket is not affected.
    q.send({ type: 'hello' });
    await q.next((m) => m.type === 'welcome');
    q.send({ type: 'ping', id: 'still-here' });
    assert.deepEqual(await q.next((m) => m.type === 'pong'), { type: 'pong', id: 'still-here' });
    await q.close();

    // Reconnecting (as the web app does, with backoff) gives a socket that works.
    const again = await open(chatty.token);
    again.send({ type: 'hello' });
    await again.next((m) => m.type === 'welcome');
    again.send({ type: 'ping', id: 'back' });
    assert.deepEqual(await again.next((m) => m.type === 'pong'), { type: 'pong', id: 'back' });
    await again.close();
  });
});
