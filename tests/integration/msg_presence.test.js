// Presence: online when a first WebSocket opens, offline when the last one closes, away after
// msg_away_after_seconds (2 s here) without using messaging and online again at the next use;
// busy, in consultation, on call by choice, with a custom text. Shown in member lists and
// GET /api/v1/presence; presence.updated reaches the people who share a conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, sleep } from './lib/harness.js';
import { staff, client, createConversation, openSocket, nextEvent, eventsOf, barrier } from './lib/msg.js';

let server;
let p;
let api;

before(async () => {
  server = await new Server({ env: { CARECOMM_MSG_AWAY_AFTER_SECONDS: '2' } }).start();
  p = await staff(server, { alice: 'practitioner', bob: 'nurse', carol: 'secretary', dan: 'it_support' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
  await createConversation(api.alice, { kind: 'group', members: [p.bob.userId, p.carol.userId] });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const presenceOf = async (who, id) => (await api[who].ok('GET', `/presence?users=${id}`)).presence[0];
const isFor = (id, status) => (d) => d.user_id === id && d.status === status;

test('online with the first socket, offline when the last one closes; seen by those who share a conversation', async () => {
  assert.equal((await presenceOf('bob', p.alice.userId)).status, 'offline');
  const wb = await openSocket(server, p.bob);
  const wd = await openSocket(server, p.dan); // shares nothing with alice
  const a1 = await openSocket(server, p.alice);
  const on = await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'online'));
  assert.equal(on.data.text, null);
  assert.equal((await presenceOf('dan', p.alice.userId)).status, 'online', 'anyone may ask');
  const members = (await api.bob.ok('GET', '/conversations')).conversations[0];
  const list = (await api.bob.ok('GET', `/conversations/${members.id}/members`)).members;
  assert.equal(list.find((m) => m.user_id === p.alice.userId).presence.status, 'online');

  const a2 = await openSocket(server, p.alice);
  await a1.close();
  await sleep(300);
  assert.equal((await presenceOf('bob', p.alice.userId)).status, 'online', 'a second device is still connected');
  await a2.close();
  await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'offline'));
  assert.equal((await presenceOf('bob', p.alice.userId)).status, 'offline');
  await barrier(wd);
  assert.ok(!eventsOf(wd, 'presence.updated').some((e) => e.data.user_id === p.alice.userId), 'dan shares no conversation with alice');
  await wb.close();
  await wd.close();
});

test('busy, in consultation, on call, with a text; a choice holds while connected', async () => {
  const wb = await openSocket(server, p.bob);
  const wa = await openSocket(server, p.alice);
  await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'online'));
  for (const [status, text] of [
    ['busy', 'Au bloc jusqu’à 15h'],
    ['in_consultation', null],
    ['on_call', 'Astreinte cardio'],
  ]) {
    const body = text ? { status, text } : { status };
    const r = await api.alice.ok('PUT', '/presence', body);
    assert.equal(r.status, status);
    assert.equal(r.chosen, status);
    const ev = await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, status));
    assert.equal(ev.data.text, text);
    const got = await presenceOf('carol', p.alice.userId);
    assert.equal(got.status, status);
    assert.equal(got.text, text);
  }
  let r = await api.alice.put('/presence', { status: 'offline' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_status');
  r = await api.alice.put('/presence', { status: 'busy', text: 'x'.repeat(101) });
  assert.equal(r.status, 400);
  // Closing shows offline; reconnecting shows the choice again.
  await wa.close();
  await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'offline'));
  const wa2 = await openSocket(server, p.alice);
  const back = await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'on_call'));
  assert.equal(back.data.text, 'Astreinte cardio');
  await api.alice.ok('PUT', '/presence', { status: 'online' });
  await wa2.close();
  await wb.close();
});

test('away after the idle time, online again at the next use of messaging', async () => {
  const wb = await openSocket(server, p.bob);
  const wc = await openSocket(server, p.carol);
  await nextEvent(wb, 'presence.updated', isFor(p.carol.userId, 'online'));
  const away = await nextEvent(wb, 'presence.updated', isFor(p.carol.userId, 'away'), 6000);
  assert.equal((await presenceOf('bob', p.carol.userId)).status, 'away');
  await api.carol.ok('GET', '/conversations'); // using messaging
  const back = await nextEvent(wb, 'presence.updated', (d) => isFor(p.carol.userId, 'online')(d) && d.updated_at > away.data.updated_at);
  assert.ok(back.seq > away.seq);
  // A chosen "busy" is not turned into away.
  await api.carol.ok('PUT', '/presence', { status: 'busy' });
  await sleep(3000);
  assert.equal((await presenceOf('bob', p.carol.userId)).status, 'busy');
  await api.carol.ok('PUT', '/presence', { status: 'online' });
  await wc.close();
  await wb.close();
});

test('after a restart, nobody is left shown online', async () => {
  const wb = await openSocket(server, p.bob);
  const wa = await openSocket(server, p.alice);
  await nextEvent(wb, 'presence.updated', isFor(p.alice.userId, 'online'));
  const last = wb.events().at(-1).seq;
  await server.stop('SIGKILL'); // no goodbye from anyone
  await server.start();
  const wb2 = await openSocket(server, p.bob, last);
  await nextEvent(wb2, 'presence.updated', isFor(p.alice.userId, 'offline'));
  assert.equal((await presenceOf('bob', p.alice.userId)).status, 'offline');
  await wb2.close();
  wa.ws.terminate();
});
