// Read receipts ("read up to", never backwards, followed by the reader's other devices), unread
// and mention counts per conversation, and typing indicators: ephemeral (never in the log),
// for the other members only, rate limited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, sleep } from './lib/harness.js';
import { staff, client, createConversation, postMessage, openSocket, nextEvent, eventsOf, barrier } from './lib/msg.js';

let server;
let p;
let api;

before(async () => {
  server = await new Server().start();
  p = await staff(server, { alice: 'nurse', bob: 'practitioner', carol: 'secretary', dan: 'nurse' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const mine = async (who, id) => (await api[who].ok('GET', '/conversations')).conversations.find((c) => c.id === id);

test('unread and mention counts per conversation, moved by read positions that never go back', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Pédiatrie', members: [p.bob.userId, p.carol.userId] });
  await postMessage(api.alice, ch.id, 'un');
  await postMessage(api.alice, ch.id, 'deux @bob');
  const third = await postMessage(api.carol, ch.id, 'trois @channel');
  await postMessage(api.bob, ch.id, 'mes propres messages ne comptent pas');
  let c = await mine('bob', ch.id);
  assert.equal(c.last_seq, 4);
  assert.equal(c.read_seq, 0);
  assert.equal(c.unread, 3);
  assert.equal(c.mentions, 2, '@bob and @channel');
  c = await mine('alice', ch.id);
  assert.equal(c.unread, 2);
  assert.equal(c.mentions, 1, '@channel only');

  // Another device of bob follows his reading.
  const other = await openSocket(server, p.bob);
  const r = await api.bob.ok('POST', `/conversations/${ch.id}/read`, { seq: 2 });
  assert.deepEqual(r, { conversation_id: ch.id, read_seq: 2, unread: 1, mentions: 1 });
  const ev = await nextEvent(other, 'read.updated', (d) => d.conversation_id === ch.id);
  assert.deepEqual(ev.data, r);
  // Backwards is ignored (and no event); past the end is clamped.
  assert.equal((await api.bob.ok('POST', `/conversations/${ch.id}/read`, { seq: 1 })).read_seq, 2);
  assert.equal((await api.bob.ok('POST', `/conversations/${ch.id}/read`, { seq: 999 })).read_seq, 4);
  c = await mine('bob', ch.id);
  assert.equal(c.unread, 0);
  assert.equal(c.mentions, 0);
  await barrier(other);
  assert.deepEqual(eventsOf(other, 'read.updated').map((e) => e.data.read_seq), [2, 4]);
  // A read position is the reader's: nobody else receives it.
  const wa = await openSocket(server, p.alice);
  await api.bob.ok('POST', `/conversations/${ch.id}/read`, { seq: 4 });
  await api.alice.ok('POST', `/conversations/${ch.id}/read`, { seq: 3 });
  await nextEvent(wa, 'read.updated');
  assert.ok(eventsOf(wa, 'read.updated').every((e) => e.data.read_seq === 3));

  // A new message is unread; once deleted it is not (nor its mention).
  const five = await postMessage(api.carol, ch.id, 'cinq @channel');
  assert.equal((await mine('bob', ch.id)).unread, 1);
  c = await mine('alice', ch.id);
  assert.equal(c.unread, 2, 'bob\'s and carol\'s after seq 3');
  assert.equal(c.mentions, 1);
  await api.carol.ok('DELETE', `/messages/${five.id}`);
  assert.equal((await mine('bob', ch.id)).unread, 0);
  c = await mine('alice', ch.id);
  assert.equal(c.unread, 1, 'the deleted message no longer counts');
  assert.equal(c.mentions, 0);
  assert.equal(third.seq, 3);

  // Someone who joins starts with nothing unread.
  await api.dan.ok('POST', `/conversations/${ch.id}/join`);
  c = await mine('dan', ch.id);
  assert.equal(c.unread, 0);
  assert.equal(c.read_seq, c.last_seq);
  let bad = await api.bob.post(`/conversations/${ch.id}/read`, { seq: -1 });
  assert.equal(bad.status, 400);
  bad = await api.bob.post(`/conversations/${ch.id}/read`, {});
  assert.equal(bad.status, 400);
  await other.close();
  await wa.close();
});

test('typing: the other members see it, it is not in the log, and it is rate limited', async () => {
  const g = await createConversation(api.alice, { kind: 'group', members: [p.bob.userId, p.carol.userId] });
  const wa = await openSocket(server, p.alice);
  const wb = await openSocket(server, p.bob);
  const wd = await openSocket(server, p.dan);
  wa.send({ type: 'typing', conversation: g.id });
  const t = await wb.next((m) => m.type === 'typing');
  assert.deepEqual(t, { type: 'typing', conversation: g.id, user_id: p.alice.userId });
  // Again at once: swallowed by the rate limit; the typist and non-members get nothing.
  wa.send({ type: 'typing', conversation: g.id });
  await barrier(wa);
  await sleep(300);
  await barrier(wb);
  assert.equal(wb.messages.filter((m) => m.type === 'typing').length, 1);
  assert.equal(wa.messages.filter((m) => m.type === 'typing').length, 0);
  assert.equal(wd.messages.filter((m) => m.type === 'typing').length, 0);
  // Nothing of it in the log: a replay of the whole log holds no typing. (Comparing the log's head
  // before and after raced the presence events that opening the sockets writes.)
  const replay = await openSocket(server, p.alice, 0);
  await barrier(replay);
  assert.ok(replay.messages.some((m) => m.type === 'event'), 'the replay holds the log');
  assert.deepEqual(
    replay.messages.filter((m) => m.type === 'typing' || /typing/.test(m.event || '')),
    [],
    'typing wrote nothing to the event log',
  );
  await replay.close();
  // Typing where one is not a member is an error; a malformed message too.
  wd.send({ type: 'typing', conversation: g.id });
  assert.equal((await wd.next((m) => m.type === 'error')).code, 'conversation_not_found');
  wd.send({ type: 'typing' });
  assert.equal((await wd.next((m) => m.type === 'error' && m.code === 'bad_message')).code, 'bad_message');
  // After the interval, a new indicator goes out; resuming never replays any.
  await sleep(2100);
  wa.send({ type: 'typing', conversation: g.id });
  await wb.next((m) => m.type === 'typing' && wb.messages.filter((x) => x.type === 'typing').length === 2);
  const again = await openSocket(server, p.bob, 0);
  await barrier(again);
  assert.equal(again.messages.filter((m) => m.type === 'typing').length, 0);
  for (const w of [wa, wb, wd, again]) await w.close();
});
