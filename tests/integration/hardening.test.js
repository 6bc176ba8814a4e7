// What an attacker or a broken client can throw at the HTTP server, and what an operator gets
// wrong in the configuration: limits (body, headers), strict JSON input, errors as JSON, HTTP/2
// next to HTTP/1.1, keep-alive, slow clients (slowloris, slow body) dropped without hurting
// others, and a refusal to start on an unsafe or invalid configuration.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { Server, createUser, loginReady, sleep, freePort, tempDir, daemonPath, totp, PASSWORD } from './lib/harness.js';

let server;
let user; // an IT support account: no 2FA, so it can log in as often as a test needs
let staticDir; // the web app's files, with one asset far larger than an HTTP/2 frame or window
const bigAsset = crypto.randomBytes(300 * 1024);

before(async () => {
  staticDir = tempDir('carecomm-static-');
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>carecomm</title>');
  fs.mkdirSync(path.join(staticDir, 'assets'));
  fs.writeFileSync(path.join(staticDir, 'assets', 'app-0123abcd.js'), bigAsset);
  server = await new Server({
    env: {
      CARECOMM_MAX_BODY_BYTES: '2048',
      CARECOMM_MAX_HEADER_BYTES: '4096',
      CARECOMM_REQUEST_TIMEOUT_SECONDS: '2',
      CARECOMM_STATIC_DIR: staticDir,
    },
  }).start();
  createUser(server, 'ivan', 'it_support');
  user = await loginReady(server, 'ivan');
  // An account that has not set up 2FA yet: its password alone opens a restricted session,
  // which is all the login and transport tests need (every role must enrol 2FA).
  createUser(server, 'walk', 'it_support');
});
after(async () => {
  await server.stop();
  server.cleanup();
  fs.rmSync(staticDir, { recursive: true, force: true });
});

// POST /api/v1/auth/login with an object (sent as JSON) or raw text, as application/json unless
// opts.headers says otherwise.
const login = (body, opts = {}) =>
  server.request('POST', '/api/v1/auth/login', {
    ...opts,
    headers: { 'content-type': 'application/json', ...opts.headers },
    ...(typeof body === 'string' ? { raw: body } : { body }),
  });

// A TLS connection speaking HTTP/1.1 by hand. Resolves the socket once connected; `received`
// collects what the server sends, `closedAt` is set when it closes.
async function rawConnection() {
  const sock = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: server.ca(), ALPNProtocols: ['http/1.1'] });
  sock.received = '';
  sock.closedAt = null;
  sock.on('data', (d) => (sock.received += d));
  sock.on('close', () => (sock.closedAt = Date.now()));
  sock.on('error', () => {});
  await new Promise((resolve, reject) => {
    sock.once('secureConnect', resolve);
    sock.once('error', reject);
  });
  return sock;
}

async function waitClosed(sock, maxMs) {
  const t0 = Date.now();
  while (sock.closedAt === null && Date.now() - t0 < maxMs) await sleep(50);
  return sock.closedAt;
}

// Writes text one byte every `everyMs` until the socket closes (or the text ends).
function trickle(sock, text, everyMs) {
  let i = 0;
  const iv = setInterval(() => {
    if (sock.destroyed || sock.closedAt !== null || i >= text.length) return clearInterval(iv);
    sock.write(text[i++]);
  }, everyMs);
  return () => clearInterval(iv);
}

// ---- request bodies --------------------------------------------------------------------------

test('a body over max_body_bytes is refused with 413 before it is read', async () => {
  const big = JSON.stringify({ username: 'ivan', password: 'x'.repeat(3000) });
  const r = await login(big);
  assert.equal(r.status, 413);
  assert.equal(r.body.error.code, 'body_too_large');
  // Just under the limit the body is read and judged on its content.
  const fits = JSON.stringify({ username: 'ivan', password: 'x'.repeat(1000) });
  assert.ok(fits.length < 2048);
  const r2 = await login(fits);
  assert.equal(r2.status, 401);
});

test('a JSON route refuses other content types (415) and bodies without a length (411)', async () => {
  const body = JSON.stringify({ username: 'walk', password: PASSWORD });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', 'multipart/form-data; boundary=x']) {
    const r = await login(body, { headers: { 'content-type': ct } });
    assert.equal(r.status, 415, ct);
    assert.equal(r.body.error.code, 'unsupported_media_type');
  }
  const ok = await login(body, { headers: { 'content-type': 'application/json; charset=utf-8' } });
  assert.equal(ok.status, 200, 'a charset parameter is fine');

  // A chunked body (no Content-Length) is answered at once instead of hanging.
  let req;
  const r = await new Promise((resolve, reject) => {
    req = https.request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: server.port,
        method: 'POST',
        path: '/api/v1/auth/login',
        ca: server.ca(),
        agent: false,
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('the server hung on a chunked body')));
    req.write(body.slice(0, 10));
  });
  req.destroy();
  assert.equal(r.status, 411);
  assert.equal(r.body.error.code, 'length_required');
});

test('invalid JSON is a 400 invalid_json', async () => {
  for (const bad of ['{"username": "ivan", ', 'not json at all', '{"username":"ivan","password":"x"}}', '', '\u0000']) {
    const r = await login(bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_json', JSON.stringify(bad));
    assert.equal(typeof r.body.error.message, 'string');
  }
});

test('an unknown field or a wrong type is a 400 invalid_request that names the field', async () => {
  let r = await login({ username: 'ivan', password: PASSWORD, remember_me: true });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_request');
  assert.match(r.body.error.message, /remember_me/);

  r = await login({ username: 42, password: PASSWORD });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_request');
  assert.match(r.body.error.message, /username/);

  r = await login({ username: 'ivan' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_request');
  assert.match(r.body.error.message, /password/);

  r = await login('[{"username":"ivan"}]');
  assert.equal(r.status, 400);
  assert.match(r.body.error.code, /^invalid_(json|request)$/);

  // The same rules on an authenticated route.
  r = await server.request('POST', '/api/v1/auth/password', { token: user.token, body: { old: PASSWORD, new: 7 } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_request');
  assert.match(r.body.error.message, /new/);
});

test('a body on a route that takes none is a 400', async () => {
  let r = await server.request('GET', '/api/v1/me', { token: user.token, body: { hello: 'there' } });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'unexpected_body');
  r = await server.request('POST', '/api/v1/auth/logout-all', { token: user.token, raw: 'x' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'unexpected_body');
  // An empty body with "Content-Length: 0" (what most clients send for a bare POST) is fine.
  const other = (
    await server.request('POST', '/api/v1/auth/login', {
      body: { username: 'ivan', password: PASSWORD, totp: totp(user.secret, Date.now() + 30000) },
    })
  ).body;
  r = await server.request('POST', '/api/v1/auth/logout', { token: other.token, raw: '' });
  assert.equal(r.status, 200, r.text);
});

// ---- headers, paths, methods -----------------------------------------------------------------

test('headers over max_header_bytes are refused and the server goes on', async () => {
  const small = await server.request('GET', '/healthz', { headers: { 'x-padding': 'p'.repeat(1500) } });
  assert.equal(small.status, 200);
  let refused;
  try {
    const r = await server.request('GET', '/healthz', { headers: { 'x-padding': 'p'.repeat(10000) } });
    refused = r.status === 431 || r.status === 400 ? r.status : `status ${r.status}`;
  } catch (e) {
    refused = 'connection closed'; // lws drops the connection
  }
  assert.ok(refused === 431 || refused === 400 || refused === 'connection closed', String(refused));
  // Many headers, each small, add up the same way.
  const many = {};
  for (let i = 0; i < 200; i++) many[`x-h${i}`] = 'v'.repeat(40);
  await server.request('GET', '/healthz', { headers: many }).then(
    (r) => assert.notEqual(r.status, 200),
    () => {},
  );
  assert.equal((await server.request('GET', '/healthz')).status, 200);
  assert.equal((await server.request('GET', '/api/v1/me', { token: user.token })).status, 200);
});

test('unknown API paths are a JSON 404, wrong methods a JSON 405', async () => {
  for (const p of ['/api/v1/nothing', '/api/v2/me', '/api/', '/fhir/R4/Nothing', '/api/v1/users/../../etc/passwd']) {
    const r = await server.request('GET', p, { token: user.token });
    assert.equal(r.status, 404, p);
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.body.error.code, 'not_found', p);
  }
  for (const [m, p] of [
    ['DELETE', '/api/v1/me'],
    ['PUT', '/healthz'],
    ['GET', '/api/v1/auth/login'],
    ['PATCH', '/api/v1/auth/sessions'],
  ]) {
    const r = await server.request(m, p, { token: user.token });
    assert.equal(r.status, 405, `${m} ${p}`);
    assert.equal(r.body.error.code, 'method_not_allowed');
  }
});

// ---- protocols and connections ---------------------------------------------------------------

function h2request(session, headers, body, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const st = session.request(headers);
    const chunks = [];
    let head;
    const t = setTimeout(() => {
      st.close();
      reject(new Error(`no complete HTTP/2 response to ${headers[':method']} ${headers[':path']}`));
    }, timeoutMs);
    st.on('response', (h) => (head = h));
    st.on('data', (d) => chunks.push(d));
    st.on('end', () => {
      clearTimeout(t);
      const raw = Buffer.concat(chunks);
      const text = raw.toString('utf8');
      let parsed = null;
      try {
        parsed = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      resolve({ status: head[':status'], headers: head, body: parsed, text, raw });
    });
    st.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    st.end(body);
  });
}

async function h2connect(port, ca) {
  const session = http2.connect(`https://localhost:${port}`, { ca });
  session.on('error', () => {});
  await new Promise((resolve, reject) => {
    session.once('connect', resolve);
    session.once('error', reject);
  });
  return session;
}

test('HTTP/2 and HTTP/1.1 are both served on the one port', async () => {
  const session = await h2connect(server.port, server.ca());
  try {
    assert.equal(session.alpnProtocol, 'h2');
    let r = await h2request(session, { ':method': 'GET', ':path': '/healthz' });
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'alive');
    assert.match(r.headers['strict-transport-security'], /max-age/);

    const body = JSON.stringify({ username: 'walk', password: PASSWORD });
    r = await h2request(session, { ':method': 'POST', ':path': '/api/v1/auth/login', 'content-type': 'application/json', 'content-length': body.length }, body);
    assert.equal(r.status, 200, r.text);
    const token = r.body.token;
    const sid = r.body.session_id;
    r = await h2request(session, { ':method': 'GET', ':path': '/api/v1/me', authorization: `Bearer ${token}` });
    assert.equal(r.status, 200);
    assert.equal(r.body.user.username, 'walk');
    r = await h2request(session, { ':method': 'GET', ':path': '/api/v1/nothing', authorization: `Bearer ${token}` });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'not_found');
    r = await h2request(session, { ':method': 'POST', ':path': '/api/v1/auth/login', 'content-type': 'text/plain', 'content-length': body.length }, body);
    assert.equal(r.status, 415);
    // Many streams at once on the one connection.
    const many = await Promise.all(
      Array.from({ length: 30 }, () => h2request(session, { ':method': 'GET', ':path': '/api/v1/me', authorization: `Bearer ${token}` })),
    );
    for (const m of many) assert.equal(m.status, 200);
    // A response far larger than a DATA frame (16 KiB) and the initial window (64 KiB): the web
    // app's bundle, which browsers fetch over HTTP/2.
    r = await h2request(session, { ':method': 'GET', ':path': '/assets/app-0123abcd.js' });
    assert.equal(r.status, 200);
    assert.equal(r.raw.length, bigAsset.length);
    assert.ok(r.raw.equals(bigAsset));
    assert.match(r.headers['cache-control'], /immutable/);
    // Limits hold over HTTP/2 too, and the connection survives them.
    const tooBig = JSON.stringify({ username: 'ivan', password: 'x'.repeat(3000) });
    r = await h2request(session, { ':method': 'POST', ':path': '/api/v1/auth/login', 'content-type': 'application/json', 'content-length': tooBig.length }, tooBig);
    assert.equal(r.status, 413);
    r = await h2request(session, { ':method': 'GET', ':path': '/healthz' });
    assert.equal(r.status, 200);
    // Other methods than GET and POST.
    r = await h2request(session, { ':method': 'DELETE', ':path': `/api/v1/auth/sessions/${sid}`, authorization: `Bearer ${token}` });
    assert.equal(r.status, 200, r.text);
    r = await h2request(session, { ':method': 'GET', ':path': '/api/v1/me', authorization: `Bearer ${token}` });
    assert.equal(r.status, 401, 'the session was revoked over HTTP/2');
  } finally {
    session.close();
  }

  // HTTP/1.1 when the client offers only that.
  const version = await new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: 'localhost', port: server.port, path: '/healthz', ca: server.ca(), agent: false, ALPNProtocols: ['http/1.1'] },
      (res) => {
        res.resume();
        res.on('end', () => resolve(`${res.httpVersion} ${res.statusCode}`));
      },
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(version, '1.1 200');
  const asset = await new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', servername: 'localhost', port: server.port, path: '/assets/app-0123abcd.js', ca: server.ca(), agent: false }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, raw: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
  assert.equal(asset.status, 200);
  assert.ok(asset.raw.equals(bigAsset));
});

// lws reads a connection 4 KiB at a time by default: the rest of a 16 KiB TLS record stayed in
// OpenSSL, which lws 4.1.6 on libuv never went back to, and HTTP/1.1 bodies over ~8 KB hung until
// the request timeout. The read buffer (pt_serv_buf_size) now holds a whole record.
test('HTTP/1.1 request bodies spanning several TLS records are received whole', async () => {
  const big = await new Server().start(); // default max_body_bytes (1 MiB)
  try {
    for (const size of [9000, 20000, 100000]) {
      const r = await big.request('POST', '/api/v1/auth/login', { body: { username: 'ivan', password: 'y', pad: 'p'.repeat(size) } });
      assert.equal(r.status, 400, `${size} bytes`);
      assert.match(r.body.error.message, /pad/);
    }
  } finally {
    await big.stop();
    big.cleanup();
  }
});

// Known failure, not a carecomm bug: libwebsockets 4.1.6 (Debian) sends GOAWAY PROTOCOL_ERROR
// ("More rx than content_length told") when a request body spans several HTTP/2 DATA frames
// and a network read holds the end of one frame and the start of the next: its check in
// lws_h2_parser() compares the remaining body with the whole read buffer instead of the current
// frame. Fixed upstream ("in + length may cover multiple frames"). Browsers and node send DATA
// frames of at most 16 KiB, so any POST over ~16 KiB on HTTP/2 can break the whole connection.
// Kept as a todo so the report stays visible; see the report to the lead for the options.
test('HTTP/2 request bodies larger than one DATA frame (16 KiB) are received', { todo: 'libwebsockets 4.1.6 h2 DATA parsing bug' }, async () => {
  const big = await new Server().start(); // default max_body_bytes (1 MiB)
  try {
    const session = await h2connect(big.port, big.ca());
    try {
      for (const size of [20000, 40000, 100000]) {
        const body = JSON.stringify({ username: 'ivan', password: 'y', pad: 'p'.repeat(size) });
        const r = await h2request(session, { ':method': 'POST', ':path': '/api/v1/auth/login', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, body, 5000);
        assert.equal(r.status, 400, `${size} bytes`);
        assert.match(r.body.error.message, /pad/);
      }
    } finally {
      session.close();
    }
  } finally {
    await big.stop();
    big.cleanup();
  }
});

test('many requests on one keep-alive connection, idle pauses included', async () => {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: server.ca() });
  const sockets = new Set();
  const get = (p, { method = 'GET', body } = {}) =>
    new Promise((resolve, reject) => {
      const payload = body ? Buffer.from(JSON.stringify(body)) : null;
      const headers = { authorization: `Bearer ${user.token}` };
      if (payload) Object.assign(headers, { 'content-type': 'application/json', 'content-length': payload.length });
      const req = https.request({ host: '127.0.0.1', servername: 'localhost', port: server.port, method, path: p, agent, headers }, (res) => {
        sockets.add(res.socket);
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      });
      req.on('error', reject);
      req.end(payload);
    });
  try {
    for (let i = 0; i < 150; i++) {
      const r = await get(i % 3 === 0 ? '/healthz' : i % 3 === 1 ? '/api/v1/me' : '/api/v1/nothing');
      assert.equal(r.status, i % 3 === 2 ? 404 : 200);
    }
    // A POST answered with an error after its body was read keeps the connection too.
    const bad = await get('/api/v1/auth/login', { method: 'POST', body: { username: 'ivan' } });
    assert.equal(bad.status, 400);
    // Idle longer than request_timeout_seconds (2 s), shorter than the keep-alive timeout.
    await sleep(2500);
    for (let i = 0; i < 50; i++) assert.equal((await get('/api/v1/me')).status, 200);
    assert.equal(sockets.size, 1, 'every request went over the same connection');
  } finally {
    agent.destroy();
  }
});

test('a slowloris (headers a byte at a time) is dropped after request_timeout_seconds; others are served', async () => {
  const t0 = Date.now();
  const first = await rawConnection();
  const stop1 = trickle(first, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(500)}\r\n\r\n`, 100);
  // The same on a keep-alive connection, after a first complete request.
  const second = await rawConnection();
  second.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
  while (!second.received.includes('"alive"')) await sleep(20);
  const t1 = Date.now();
  const stop2 = trickle(second, `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ${'a'.repeat(500)}\r\n\r\n`, 100);
  try {
    // Meanwhile everyone else is served promptly.
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      assert.equal((await server.request('GET', '/api/v1/me', { token: user.token })).status, 200);
      assert.ok(Date.now() - t < 1000);
      await sleep(200);
    }
    const c1 = await waitClosed(first, 8000);
    const c2 = await waitClosed(second, 8000);
    assert.ok(c1 !== null, 'the slowloris connection was not dropped');
    assert.ok(c2 !== null, 'the keep-alive slowloris connection was not dropped');
    assert.ok(c1 - t0 >= 1500 && c1 - t0 < 4500, `dropped after ${c1 - t0} ms`);
    assert.ok(c2 - t1 >= 1500 && c2 - t1 < 4500, `dropped after ${c2 - t1} ms (keep-alive)`);
    assert.ok(!first.received.includes('HTTP/1.1 200'), 'the slow request was never answered');
  } finally {
    stop1();
    stop2();
    first.destroy();
    second.destroy();
  }
  assert.equal((await server.request('GET', '/healthz')).status, 200);
});

test('a body sent a byte at a time does not hold the connection beyond request_timeout_seconds', async () => {
  const sock = await rawConnection();
  const body = JSON.stringify({ username: 'ivan', password: 'y'.repeat(100) });
  const t0 = Date.now();
  sock.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
  const stop = trickle(sock, body, 150); // ~20 s for the whole body, each byte well within 2 s
  try {
    const closed = await waitClosed(sock, 8000);
    assert.ok(closed !== null, 'the slow body was not cut off');
    assert.ok(closed - t0 < 4500, `cut off after ${closed - t0} ms`);
    if (sock.received) assert.match(sock.received, /^HTTP\/1\.1 408/);
  } finally {
    stop();
    sock.destroy();
  }
  assert.equal((await server.request('GET', '/healthz')).status, 200);
});

// ---- TLS ------------------------------------------------------------------------------------------

// Negotiates TLS with options; resolves {cipher, protocol} or {error}.
function handshake(options) {
  return new Promise((resolve) => {
    const sock = tls.connect({ host: '127.0.0.1', port: server.port, servername: 'localhost', ca: server.ca(), ...options }, () => {
      const r = { cipher: sock.getCipher().standardName, protocol: sock.getProtocol() };
      sock.end();
      resolve(r);
    });
    sock.on('error', (e) => resolve({ error: e.code || e.message }));
  });
}

test('TLS: the server picks the cipher suite (ChaCha20 first), and refuses TLS 1.1', async () => {
  // A client that would rather have AES-256 still gets the server's first choice: its state per
  // connection is the smallest, which matters at thousands of idle WebSockets.
  const aesFirst = await handshake({ ciphers: 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256' });
  assert.deepEqual(aesFirst, { cipher: 'TLS_CHACHA20_POLY1305_SHA256', protocol: 'TLSv1.3' });
  // A client that offers only AES still connects.
  const aesOnly = await handshake({ ciphers: 'TLS_AES_128_GCM_SHA256' });
  assert.deepEqual(aesOnly, { cipher: 'TLS_AES_128_GCM_SHA256', protocol: 'TLSv1.3' });
  const old = await handshake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
  assert.ok(old.error, `TLS 1.1 was accepted: ${JSON.stringify(old)}`);
});

// ---- configuration refused at start-up ---------------------------------------------------------

// Runs carecommd expecting it to exit; returns {code, output}.
function runDaemon(env, dataDir) {
  const r = spawnSync(daemonPath, [], {
    env: { ...process.env, CARECOMM_DATA_DIR: dataDir, CARECOMM_STATIC_DIR: '', ...env },
    encoding: 'utf8',
    timeout: 15000,
  });
  const output = `${r.stdout}${r.stderr}`;
  assert.doesNotMatch(output, /AddressSanitizer|LeakSanitizer|runtime error:/, 'a refused start-up is clean too');
  return { code: r.status, signal: r.signal, output };
}

test('plain_http is refused on a non-loopback address, with a clear message', async () => {
  const dir = tempDir();
  try {
    const port = await freePort();
    const r = runDaemon({ CARECOMM_PLAIN_HTTP: 'true', CARECOMM_LISTEN: `0.0.0.0:${port}` }, dir);
    assert.equal(r.signal, null, 'it exits by itself instead of serving');
    assert.notEqual(r.code, 0);
    assert.match(r.output, /plain_http/);
    assert.match(r.output, /loopback/);
    // On loopback it is allowed (behind a local TLS proxy): it starts and answers over http://.
    const port2 = await freePort();
    const proc = spawn(daemonPath, [], {
      env: { ...process.env, CARECOMM_DATA_DIR: dir, CARECOMM_STATIC_DIR: '', CARECOMM_PLAIN_HTTP: 'true', CARECOMM_LISTEN: `127.0.0.1:${port2}` },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    try {
      let status = null;
      for (let i = 0; i < 100 && status === null; i++) {
        status = await new Promise((resolve) => {
          http.get({ host: '127.0.0.1', port: port2, path: '/healthz' }, (res) => {
            res.resume();
            resolve(res.statusCode);
          }).on('error', () => resolve(null));
        });
        if (status === null) await sleep(50);
      }
      assert.equal(status, 200);
    } finally {
      proc.kill('SIGTERM');
      assert.equal(await exited, 0);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown TLS cipher suite stops start-up, naming the key', () => {
  const dir = tempDir();
  try {
    const r = runDaemon({ CARECOMM_TLS_CIPHERSUITES: 'TLS_RC4_WHATEVER', CARECOMM_LISTEN: '127.0.0.1:0' }, dir);
    assert.equal(r.signal, null);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /tls_ciphersuites/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an invalid configuration file stops start-up, naming the key and the line', async () => {
  const dir = tempDir();
  try {
    const port = await freePort();
    const conf = path.join(dir, 'carecomm.conf');
    fs.writeFileSync(conf, `# carecomm configuration\nlisten = 127.0.0.1:${port}\nmax_body_byte = 4096\n`);
    let r = runDaemon({}, dir);
    assert.equal(r.signal, null);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /max_body_byte/);
    assert.match(r.output, /line 3/);

    fs.writeFileSync(conf, `listen = 127.0.0.1:${port}\n\nmax_body_bytes = lots\n`);
    r = runDaemon({}, dir);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /max_body_bytes/);
    assert.match(r.output, /line 3/);

    // A bad value in the environment is named too.
    fs.writeFileSync(conf, `listen = 127.0.0.1:${port}\n`);
    r = runDaemon({ CARECOMM_REQUEST_TIMEOUT_SECONDS: '0' }, dir);
    assert.notEqual(r.code, 0);
    assert.match(r.output, /CARECOMM_REQUEST_TIMEOUT_SECONDS|request_timeout_seconds/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The kernel's own table of listening sockets: "127.0.0.1:PORT" must listen on loopback alone.
// (lws 4.1.6 put an IPv4 address on an IPv6 socket without its address: every interface.)
function listeners(port) {
  const found = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue; // 0A: LISTEN
      const [addr, p] = f[1].split(':');
      if (parseInt(p, 16) === port) found.push(addr);
    }
  }
  return found;
}

test('a server told to listen on 127.0.0.1 listens on loopback only', () => {
  const addrs = listeners(server.port);
  assert.deepEqual(addrs, ['0100007F'], `listening sockets of port ${server.port}: ${addrs.join(', ')}`);
});
