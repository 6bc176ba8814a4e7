// Messaging flows shared by the msg_*.test.js files: staff accounts ready to message (2FA
// enrolled), a small REST client that asserts statuses, and event socket helpers (open with hello
// or a resume, wait for an event, a ping barrier).
import assert from 'node:assert/strict';
import { createUser, loginReady } from './harness.js';
import { auditQuery } from './accounts.js';

// Creates each person (name -> role) with the CLI and logs them in with 2FA enrolled. Returns
// {name: {token, userId, secret, recovery, name}}.
export async function staff(server, people) {
  const out = {};
  for (const [name, role] of Object.entries(people)) {
    createUser(server, name, role);
    out[name] = { ...(await loginReady(server, name)), name };
  }
  return out;
}

// A REST client for one person: api.get(path), api.post(path, body), ... resolve {status, body}.
// api.ok(method, path, body, status = 200) asserts the status and returns the body.
export function client(server, who) {
  const call = (method, path, body) => server.request(method, `/api/v1${path}`, { token: who.token, body });
  const api = {
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b),
    put: (p, b) => call('PUT', p, b),
    patch: (p, b) => call('PATCH', p, b),
    del: (p) => call('DELETE', p),
    async ok(method, p, body, status = 200) {
      const r = await call(method, p, body);
      assert.equal(r.status, status, `${method} ${p} as ${who.name}: ${r.text}`);
      return r.body;
    },
  };
  return api;
}

// Shortcuts used everywhere.
export async function createConversation(api, body) {
  return api.ok('POST', '/conversations', body, 201);
}
export async function postMessage(api, conversationId, body) {
  return api.ok('POST', `/conversations/${conversationId}/messages`, typeof body === 'string' ? { body } : body, 201);
}

// An event socket that has said hello (resuming after lastSeq when given).
export async function openSocket(server, who, lastSeq) {
  const w = server.ws(who.token);
  w.ws.on('error', () => {});
  await w.opened;
  w.send(lastSeq === undefined ? { type: 'hello' } : { type: 'hello', last_seq: lastSeq });
  w.welcome = await w.next((m) => m.type === 'welcome');
  return w;
}

// Waits for an event of the given name whose data matches pred.
export function nextEvent(w, name, pred = () => true, timeoutMs = 10000) {
  return w.next((m) => m.type === 'event' && m.event === name && pred(m.data), timeoutMs);
}

export const eventsOf = (w, name) => w.events().filter((m) => !name || m.event === name);

// Sends a ping and waits for its pong: every frame queued before it has arrived.
export async function barrier(w) {
  const id = `b${Math.random().toString(36).slice(2)}`;
  w.send({ type: 'ping', id });
  await w.next((m) => m.type === 'pong' && m.id === id);
}

// The audit records matching query (as an administrator): accounts.js's auditQuery, records only.
export async function audit(server, adminToken, query) {
  return (await auditQuery(server, adminToken, query)).records;
}

// Sends frame on w with a fresh request id and waits for the answer carrying that id (a
// meeting.*, call.*, visit.* answer or an error).
export async function request(w, frame, timeoutMs = 15000) {
  const id = `r${Math.random().toString(36).slice(2, 10)}`;
  w.send({ ...frame, id });
  return w.next((m) => m.id === id, timeoutMs);
}

// A browser without an account on the guest WebSocket (a patient's or a meeting guest's link):
// no cookie, no bearer. Kept in sockets (to terminate after the tests).
export async function guestSocket(server, sockets) {
  const w = server.ws(null, { path: '/api/v1/visit/events' });
  w.ws.on('error', () => {});
  sockets.push(w);
  await w.opened;
  return w;
}
