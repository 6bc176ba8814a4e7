// Urgent messages: each recipient must acknowledge; the sender (and members) see who has and who
// has not; recipients who have not are reminded every msg_urgent_reminder_seconds (1 s here)
// until they do, leave, or the message is deleted — across a restart too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, sleep } from './lib/harness.js';
import { staff, client, createConversation, postMessage, openSocket, nextEvent, eventsOf } from './lib/msg.js';

let server;
let p;
let api;

before(async () => {
  server = await new Server({ env: { CARECOMM_MSG_URGENT_REMINDER_SECONDS: '1' } }).start();
  p = await staff(server, { alice: 'practitioner', bob: 'nurse', carol: 'nurse', dan: 'secretary' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('every recipient acknowledges; the sender sees who has and who has not', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Réa', members: [p.bob.userId, p.carol.userId] });
  const wa = await openSocket(server, p.alice);
  const m = await postMessage(api.alice, ch.id, { body: 'Patient instable lit 3, venez', urgent: true });
  assert.equal(m.urgent, true);
  let acks = await api.alice.ok('GET', `/messages/${m.id}/acks`);
  assert.deepEqual(acks.acknowledged, []);
  assert.deepEqual([...acks.pending].sort(), [p.bob.userId, p.carol.userId].sort(), 'everyone but the sender');

  const ack = await api.bob.ok('POST', `/messages/${m.id}/ack`);
  assert.equal(ack.user_id, p.bob.userId);
  const ev = await nextEvent(wa, 'urgent.acknowledged', (d) => d.message_id === m.id);
  assert.equal(ev.data.user_id, p.bob.userId);
  acks = await api.carol.ok('GET', `/messages/${m.id}/acks`); // members see it too
  assert.deepEqual(acks.acknowledged.map((a) => a.user_id), [p.bob.userId]);
  assert.equal(acks.acknowledged[0].at, ack.at);
  assert.deepEqual(acks.pending, [p.carol.userId]);
  // Twice: the first time stays, no second event.
  const again = await api.bob.ok('POST', `/messages/${m.id}/ack`);
  assert.equal(again.at, ack.at);
  // The sender is not a recipient; nor is someone who joined later; a plain message needs none.
  let r = await api.alice.post(`/messages/${m.id}/ack`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_a_recipient');
  await api.dan.ok('POST', `/conversations/${ch.id}/join`);
  r = await api.dan.post(`/messages/${m.id}/ack`);
  assert.equal(r.body.error.code, 'not_a_recipient');
  const plain = await postMessage(api.alice, ch.id, 'pas urgent');
  r = await api.bob.post(`/messages/${plain.id}/ack`);
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_urgent');
  assert.equal((await api.bob.ok('GET', `/messages/${plain.id}/acks`)).urgent, false);
  await api.carol.ok('POST', `/messages/${m.id}/ack`);
  acks = await api.alice.ok('GET', `/messages/${m.id}/acks`);
  assert.deepEqual(acks.pending, []);
  assert.equal(eventsOf(wa, 'urgent.acknowledged').filter((e) => e.data.message_id === m.id).length, 2);
  await wa.close();
});

test('unacknowledged recipients are reminded every period until they acknowledge', async () => {
  const g = await createConversation(api.alice, { kind: 'group', members: [p.bob.userId, p.carol.userId] });
  const wb = await openSocket(server, p.bob);
  const wc = await openSocket(server, p.carol);
  const wa = await openSocket(server, p.alice);
  const m = await postMessage(api.alice, g.id, { body: 'Code bleu', urgent: true });
  const r1 = await nextEvent(wb, 'urgent.reminder', (d) => d.message_id === m.id, 5000);
  assert.equal(r1.data.reminder, 1);
  assert.equal(r1.data.conversation_id, g.id);
  assert.equal(r1.data.body, undefined, 'a reminder names the message, without its text');
  await nextEvent(wc, 'urgent.reminder', (d) => d.message_id === m.id, 5000);
  const r2 = await nextEvent(wb, 'urgent.reminder', (d) => d.message_id === m.id && d.reminder === 2, 5000);
  assert.ok(r2.seq > r1.seq);
  await api.bob.ok('POST', `/messages/${m.id}/ack`);
  const before = eventsOf(wb, 'urgent.reminder').length;
  // Carol goes on being reminded; Bob is not any more; the sender never is.
  const c3 = await nextEvent(wc, 'urgent.reminder', (d) => d.message_id === m.id && d.reminder >= 3, 6000);
  await nextEvent(wc, 'urgent.reminder', (d) => d.message_id === m.id && d.reminder > c3.data.reminder, 6000);
  assert.ok(eventsOf(wb, 'urgent.reminder').length <= before + 1, 'at most one already on its way');
  assert.equal(eventsOf(wa, 'urgent.reminder').length, 0);
  // A reminder is a user event: other people never get someone else's.
  assert.ok(eventsOf(wb, 'urgent.reminder').every((e) => e.data.message_id === m.id));
  await api.carol.ok('POST', `/messages/${m.id}/ack`);
  await sleep(2500);
  const n = eventsOf(wc, 'urgent.reminder').length;
  await sleep(1500);
  assert.equal(eventsOf(wc, 'urgent.reminder').length, n, 'no reminder after acknowledging');
  for (const w of [wa, wb, wc]) await w.close();
});

test('reminders stop when the recipient leaves or the message is deleted, and survive a restart', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Bloc', members: [p.bob.userId, p.carol.userId] });
  const gone = await postMessage(api.alice, ch.id, { body: 'Salle 2 libre ?', urgent: true });
  await api.bob.ok('POST', `/conversations/${ch.id}/leave`);
  assert.deepEqual((await api.alice.ok('GET', `/messages/${gone.id}/acks`)).pending, [p.carol.userId]);
  await api.alice.ok('DELETE', `/messages/${gone.id}`);
  assert.deepEqual((await api.alice.ok('GET', `/messages/${gone.id}/acks`)).pending, []);

  const kept = await postMessage(api.alice, ch.id, { body: 'Transfert en réa', urgent: true });
  await server.stop();
  await server.start(); // same data: the reminders go on
  const wc = await openSocket(server, p.carol);
  const wb = await openSocket(server, p.bob);
  const r = await nextEvent(wc, 'urgent.reminder', (d) => d.message_id === kept.id, 6000);
  assert.ok(r.data.reminder >= 1);
  await sleep(1500);
  assert.ok(!eventsOf(wb, 'urgent.reminder').some((e) => e.data.message_id === kept.id), 'bob left');
  assert.ok(!eventsOf(wc, 'urgent.reminder').some((e) => e.data.message_id === gone.id), 'deleted');
  await api.carol.ok('POST', `/messages/${kept.id}/ack`);
  await wc.close();
  await wb.close();
});

test('each person lists the urgent messages they have still to acknowledge, and only those', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Bloc', visibility: 'private', members: [p.bob.userId, p.carol.userId] });
  const first = await postMessage(api.alice, ch.id, { body: 'Urgence bloc 2', urgent: true });
  const second = await postMessage(api.alice, ch.id, { body: 'Urgence bloc 3', urgent: true });
  await postMessage(api.alice, ch.id, 'pas urgent');
  const mine = async (who) => (await api[who].ok('GET', '/urgent/pending')).pending.filter((x) => x.conversation_id === ch.id);
  let bob = await mine('bob');
  assert.deepEqual(bob.map((x) => x.message_id), [first.id, second.id], 'oldest first, plain messages left out');
  assert.equal(bob[0].author_id, p.alice.userId);
  assert.equal(bob[0].seq, first.seq);
  assert.equal(typeof bob[0].reminders, 'number');
  assert.equal(JSON.stringify(bob).includes('Urgence'), false, 'no message text');
  // Acknowledged: gone from the list; the author and non-members have nothing to acknowledge.
  await api.bob.ok('POST', `/messages/${first.id}/ack`);
  bob = await mine('bob');
  assert.deepEqual(bob.map((x) => x.message_id), [second.id]);
  assert.deepEqual(await mine('alice'), []);
  assert.deepEqual(await mine('dan'), []);
  // Deleted, or no longer a member: nothing to show.
  await api.alice.ok('DELETE', `/messages/${second.id}`);
  assert.deepEqual(await mine('bob'), []);
  assert.equal((await mine('carol')).length, 1);
  await api.carol.ok('POST', `/conversations/${ch.id}/leave`);
  assert.deepEqual(await mine('carol'), []);
  const anon = await server.request('GET', '/api/v1/urgent/pending');
  assert.equal(anon.status, 401);
});
