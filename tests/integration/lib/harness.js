// Test harness: starts a real carecommd on a free port with a fresh data folder, drives it over
// HTTPS (verifying its generated certificate) and WSS, runs the carecomm CLI, computes TOTP codes
// and starts a throwaway PostgreSQL when a test needs one.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../../..');
const build = path.resolve(root, process.env.CARECOMM_BUILD || 'build');
export const daemonPath = path.join(build, 'carecommd');
export const cliPath = path.join(build, 'carecomm');

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function tempDir(prefix = 'carecomm-test-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// A strong password that passes the policy.
export const PASSWORD = 'Correct-Horse-Battery-42';

// ---- PostgreSQL ------------------------------------------------------------------------------

let pgServer = null;
// Starts one PostgreSQL for this test process (stopped at exit) and returns a conninfo for a
// fresh database.
export function pgDatabase() {
  if (!pgServer) {
    const dir = tempDir('carecomm-pg-');
    fs.chmodSync(dir, 0o711);
    const conninfo = execFileSync(path.join(root, 'scripts/pg-test-server'), ['start', path.join(dir, 'pg')], {
      encoding: 'utf8',
    }).trim();
    pgServer = { dir, conninfo };
    process.on('exit', () => {
      spawnSync(path.join(root, 'scripts/pg-test-server'), ['stop', path.join(dir, 'pg')]);
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
  const name = 'cc_' + crypto.randomBytes(6).toString('hex');
  execFileSync('psql', [pgServer.conninfo, '-q', '-c', `CREATE DATABASE ${name}`], { stdio: 'pipe' });
  return pgServer.conninfo.replace(/dbname=\S+/, `dbname=${name}`);
}

// ---- the daemon ------------------------------------------------------------------------------

export class Server {
  constructor(opts = {}) {
    this.dataDir = opts.dataDir || tempDir();
    this.backend = opts.backend || 'sqlite';
    this.pgConninfo = opts.pgConninfo || null;
    this.extraEnv = opts.env || {};
    this.port = opts.port || null;
    this.logs = '';
    this.proc = null;
  }

  env() {
    const env = {
      ...process.env,
      CARECOMM_DATA_DIR: this.dataDir,
      CARECOMM_LISTEN: `127.0.0.1:${this.port}`,
      CARECOMM_STORE_BACKEND: this.backend,
      CARECOMM_STATIC_DIR: '',
      ...this.extraEnv,
    };
    if (this.pgConninfo) env.CARECOMM_PG_CONNINFO = this.pgConninfo;
    return env;
  }

  async start() {
    if (!this.port) this.port = await freePort();
    this.logs = '';
    this.proc = spawn(daemonPath, [], { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => (this.logs += d));
    this.proc.stderr.on('data', (d) => (this.logs += d));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 15000;
    for (;;) {
      if (this.proc.exitCode !== null) throw new Error(`carecommd exited at start:\n${this.logs}`);
      try {
        const r = await this.request('GET', '/readyz');
        if (r.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`carecommd not ready:\n${this.logs}`);
      await sleep(50);
    }
    return this;
  }

  get url() {
    return `https://localhost:${this.port}`;
  }

  ca() {
    return fs.readFileSync(path.join(this.dataDir, 'tls/dev-cert.pem'));
  }

  // Resolves {status, headers, body (parsed JSON when possible), text}. localAddress picks the
  // client's source address (any 127.x.y.z works on Linux loopback): per-address throttling then
  // sees distinct clients.
  // agent: an https.Agent to send requests on one kept-alive connection (default: one each).
  request(method, urlPath, { body, token, cookie, headers = {}, raw, localAddress, agent = false } = {}) {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      let payload = null;
      if (raw !== undefined) payload = Buffer.from(raw);
      else if (body !== undefined) {
        payload = Buffer.from(JSON.stringify(body));
        h['content-type'] ??= 'application/json';
      }
      if (payload) h['content-length'] = payload.length;
      if (token) h.authorization = `Bearer ${token}`;
      if (cookie) h.cookie = cookie;
      const req = https.request(
        {
          host: '127.0.0.1',
          servername: 'localhost',
          port: this.port,
          method,
          path: urlPath,
          headers: h,
          ca: this.ca(),
          agent,
          localAddress,
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed = null;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode, headers: res.headers, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      req.setTimeout(20000, () => req.destroy(new Error('request timeout')));
      if (payload) req.write(payload);
      req.end();
    });
  }

  ws(token, { origin, headers = {}, path = '/api/v1/events' } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    if (origin) h.origin = origin;
    return new EventSocket(`wss://localhost:${this.port}${path}`, { ca: this.ca(), headers: h });
  }

  cli(args, { input, env = {} } = {}) {
    const r = spawnSync(cliPath, args, { input, env: { ...this.env(), ...env }, encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return this.exited;
    this.proc.kill(signal);
    const r = await this.exited;
    this.checkSanitizers();
    return r;
  }

  // In the sanitizer build (CI) any report from the daemon fails the test that ran it.
  checkSanitizers() {
    const m = /AddressSanitizer|LeakSanitizer|runtime error:/.exec(this.logs);
    if (m) {
      // The report itself (not the whole log before it), so that it survives a truncated CI log.
      const from = this.logs.lastIndexOf('\n', Math.max(0, m.index - 200)) + 1;
      throw new Error(`carecommd sanitizer report:\n${this.logs.slice(from, from + 6000)}`);
    }
  }

  cleanup() {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

// The JSON messages a test client received, which tests can await (EventSocket here,
// H2EventSocket in h2ws.js).
export class MessageLog {
  constructor() {
    this.messages = [];
    this.waiters = [];
  }

  receive(m) {
    this.messages.push(m);
    this.waiters = this.waiters.filter((w) => !w(m));
  }

  // Waits for the first message (already received or coming) matching pred.
  next(pred, timeoutMs = 10000) {
    const found = this.messages.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a WebSocket message')), timeoutMs);
      this.waiters.push((m) => {
        if (!pred(m)) return false;
        clearTimeout(t);
        resolve(m);
        return true;
      });
    });
  }
}

// A WebSocket client that collects messages and lets tests await them.
export class EventSocket extends MessageLog {
  constructor(url, opts) {
    super();
    this.ws = new WebSocket(url, opts);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.ws.on('message', (data) => this.receive(JSON.parse(data.toString())));
  }

  send(obj) {
    this.ws.send(JSON.stringify(obj));
  }

  events() {
    return this.messages.filter((m) => m.type === 'event');
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

// ---- TOTP (RFC 6238), computed independently of the server ---------------------------------

export function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of s.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | alphabet.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export function totp(secretB32, atMs = Date.now()) {
  const step = Math.floor(atMs / 1000 / 30);
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const h = crypto.createHmac('sha1', base32Decode(secretB32)).update(msg).digest();
  const off = h[h.length - 1] & 0xf;
  const code = (h.readUInt32BE(off) & 0x7fffffff) % 1000000;
  return String(code).padStart(6, '0');
}

// ---- common flows ----------------------------------------------------------------------------

// Creates a user with the CLI (operator-chosen password, no forced change).
export function createUser(server, name, role, password = PASSWORD) {
  const r = server.cli(['user', 'create', name, '--role', role], { input: password + '\n' });
  if (r.code !== 0) throw new Error(`user create failed: ${r.stderr}`);
}

// Logs in, enrolling 2FA if the role requires it; returns {token, secret, sessionId, userId,
// recovery} (recovery: the one-time codes given at enrolment, each good for one more login).
export async function loginReady(server, name, password = PASSWORD) {
  let r = await server.request('POST', '/api/v1/auth/login', { body: { username: name, password } });
  if (r.status !== 200) throw new Error(`login ${r.status} ${r.text}`);
  const token = r.body.token;
  const sessionId = r.body.session_id;
  const userId = r.body.user.id;
  let secret = null;
  let recovery = [];
  if (r.body.restriction === 'totp_enrolment_required') {
    r = await server.request('POST', '/api/v1/auth/totp/enroll', { token });
    secret = r.body.secret;
    r = await server.request('POST', '/api/v1/auth/totp/confirm', { token, body: { code: totp(secret) } });
    if (r.status !== 200) throw new Error(`totp confirm ${r.status} ${r.text}`);
    recovery = r.body.recovery_codes;
  }
  return { token, secret, sessionId, userId, recovery };
}

// The media settings of a carecommd that runs its own Janus and coturn (embedded mode) on
// mediaIp, with free ports. Random port bases keep parallel checkouts on this machine apart
// (the ranges are only bound when used). Media does not flow over loopback: tests that need it
// run in a network namespace (tests/e2e/lib/netns.js) with a veth address.
export async function mediaEnv(mediaIp = '127.0.0.1') {
  const base = 20000 + crypto.randomInt(0, 400) * 100;
  return {
    CARECOMM_MEDIA_MODE: 'embedded',
    CARECOMM_MEDIA_IP: mediaIp,
    CARECOMM_JANUS_API_PORT: String(await freePort()),
    CARECOMM_JANUS_ADMIN_PORT: String(await freePort()),
    CARECOMM_TURN_PORT: String(await freePort()),
    CARECOMM_RTP_PORT_RANGE: `${base}-${base + 49}`,
    CARECOMM_TURN_RELAY_PORT_RANGE: `${base + 50}-${base + 99}`,
  };
}
