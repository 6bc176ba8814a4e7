// The staff directory (GET /api/v1/directory): anyone who may message finds colleagues by name,
// folded for case and accents, or names the people of given ids; only active accounts, and
// nothing of an account but its id, username, display name, role and presence.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, createUser } from './lib/harness.js';
import { staff, client, openSocket } from './lib/msg.js';

let server;
let p;
let api;

before(async () => {
  server = await new Server().start();
  // Display names with accents and a ligature, as a French hospital has them.
  createUser(server, 'helene.durand', 'practitioner');
  server.cli(['user', 'create', 'gaelle.lefevre', '--role', 'nurse', '--display', 'Gaëlle Lefèvre'], { input: 'Correct-Horse-Battery-42\n' });
  p = await staff(server, { alice: 'secretary', bob: 'nurse', admin: 'admin' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const names = (r) => r.people.map((x) => x.username);

test('a name search is folded for case and accents and lists only what a colleague needs', async () => {
  let r = await api.alice.ok('GET', `/directory?q=${encodeURIComponent('LEFEVRE')}`);
  assert.deepEqual(names(r), ['gaelle.lefevre']);
  const g = r.people[0];
  assert.deepEqual(Object.keys(g).sort(), ['display_name', 'id', 'presence', 'role', 'username']);
  assert.equal(g.display_name, 'Gaëlle Lefèvre');
  assert.equal(g.role, 'nurse');
  assert.deepEqual(Object.keys(g.presence).sort(), ['status', 'text', 'updated_at']);
  assert.equal(g.presence.status, 'offline');
  assert.equal(r.has_more, false);

  // Accents typed or not, prefixes of any word of the display name or of the username.
  for (const q of ['gaël', 'gael lef', 'Lefèv', 'gaelle.l']) {
    r = await api.bob.ok('GET', `/directory?q=${encodeURIComponent(q)}`);
    assert.deepEqual(names(r), ['gaelle.lefevre'], q);
  }
  r = await api.bob.ok('GET', `/directory?q=${encodeURIComponent('gaelle martin')}`);
  assert.deepEqual(names(r), [], 'every word must match');

  // An empty q lists everyone active, ordered by display name, a page at a time.
  r = await api.bob.ok('GET', '/directory?q=');
  assert.deepEqual(names(r), ['admin', 'alice', 'bob', 'gaelle.lefevre', 'helene.durand']);
  r = await api.bob.ok('GET', '/directory?q=&limit=2');
  assert.deepEqual(names(r), ['admin', 'alice']);
  assert.equal(r.has_more, true);
});

test('ids name the people one sees; presence is current', async () => {
  const w = await openSocket(server, p.bob);
  const ids = [p.bob.userId, p.alice.userId, 'not-an-id', '01ARZ3NDEKTSV4RRFFQ69G5FAV'].join(',');
  const r = await api.alice.ok('GET', `/directory?ids=${ids}`);
  assert.deepEqual(names(r), ['alice', 'bob']);
  assert.equal(r.people.find((x) => x.username === 'bob').presence.status, 'online');
  await w.close();
  assert.deepEqual((await api.alice.ok('GET', '/directory?ids=,')).people, []);
});

test('disabled accounts are left out', async () => {
  const id = (await api.alice.ok('GET', '/directory?q=helene')).people[0].id;
  await api.admin.ok('PATCH', `/users/${id}`, { disabled: true });
  assert.deepEqual(names(await api.alice.ok('GET', '/directory?q=helene')), []);
  assert.deepEqual(names(await api.alice.ok('GET', `/directory?ids=${id}`)), []);
});

test('bad requests', async () => {
  for (const q of ['', '?q=a&ids=b', `?q=${'x'.repeat(101)}`, '?q=a&limit=0', '?q=a&limit=51', `?ids=${Array(101).fill(p.bob.userId).join(',')}`]) {
    const r = await api.alice.get(`/directory${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.body.error.code, 'invalid_request', q);
  }
  const r = await server.request('GET', '/api/v1/directory?q=a');
  assert.equal(r.status, 401);
});
