// Scheduled meetings: a title, a time, invitees and an agenda, held in a conversation's meeting.
// With invitees, a group conversation is made for it; in a department's channel (its standing
// room), members schedule there. The invitation reaches every invitee live (meeting.scheduled)
// and as a message; someone not invited sees nothing of it; cancelling does the same; only who
// planned it (or an owner) cancels; bad input changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from './lib/harness.js';
import { staff, client, createConversation, openSocket, nextEvent, barrier, audit } from './lib/msg.js';

let server, p, api;
const inAnHour = () => Date.now() + 3600000;

before(async () => {
  server = await new Server().start();
  p = await staff(server, { root: 'admin', alice: 'practitioner', bob: 'nurse', eve: 'nurse' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('a meeting with invitees: their own conversation, the invitation live and as a message', async () => {
  const bob = await openSocket(server, p.bob);
  const eve = await openSocket(server, p.eve);
  const start = inAnHour();
  const m = await api.alice.ok('POST', '/meetings', { title: 'Staff du lundi', start, end: start + 1800000, agenda: '1. Lits\n2. Gardes', invitees: [p.bob.userId, p.bob.userId, p.alice.userId] }, 201);
  assert.equal(m.title, 'Staff du lundi');
  assert.equal(m.created_by, p.alice.userId);
  const conv = await api.bob.ok('GET', `/conversations/${m.conversation_id}`);
  assert.equal(conv.name, 'Staff du lundi');
  assert.equal(conv.members_count, 2, 'alice and bob, once each');
  const told = await nextEvent(bob, 'meeting.scheduled');
  assert.equal(told.data.id, m.id);
  assert.equal(told.data.agenda, '1. Lits\n2. Gardes');
  const msg = await nextEvent(bob, 'message.created', (d) => d.conversation_id === m.conversation_id);
  assert.match(msg.data.body, /Réunion planifiée : Staff du lundi, le \d\d\/\d\d\/\d{4} à \d\d:\d\d/);
  // Mine, upcoming; not someone else's.
  assert.deepEqual((await api.bob.ok('GET', '/meetings')).meetings.map((x) => x.id), [m.id]);
  assert.deepEqual((await api.eve.ok('GET', '/meetings')).meetings, []);
  await barrier(eve);
  assert.ok(!eve.events().some((e) => e.event === 'meeting.scheduled'), 'nothing reaches someone not invited');
  assert.equal((await audit(server, p.root.token, { action: 'meeting.schedule' })).length, 1);
});

test('in a department\'s channel, its standing room: members schedule there, others cannot', async () => {
  const room = await createConversation(api.alice, { kind: 'channel', name: 'Cardiologie', visibility: 'private', members: [p.bob.userId] });
  const start = inAnHour();
  const m = await api.bob.ok('POST', '/meetings', { title: 'Transmissions', start, end: start + 900000, conversation_id: room.id }, 201);
  assert.equal(m.conversation_id, room.id);
  const r = await api.eve.post('/meetings', { title: 'x', start, end: start + 60000, conversation_id: room.id });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'conversation_not_found');
  // Who planned it (or an owner) cancels it; another member cannot.
  const other = await api.alice.ok('POST', '/meetings', { title: 'Bilan', start, end: start + 60000, conversation_id: room.id }, 201);
  assert.equal((await api.bob.post(`/meetings/${other.id}/cancel`)).status, 403);
  await api.alice.ok('POST', `/meetings/${m.id}/cancel`); // the channel's owner
  const cancelled = await api.bob.ok('GET', '/meetings');
  assert.deepEqual(cancelled.meetings.filter((x) => x.conversation_id === room.id).map((x) => x.id), [other.id]);
  assert.equal((await api.alice.post(`/meetings/${m.id}/cancel`)).status, 409);
  const history = await api.bob.ok('GET', `/conversations/${room.id}/messages`);
  assert.ok(history.messages.some((x) => /Réunion annulée : Transmissions/.test(x.body)));
});

test('bad input is refused and changes nothing', async () => {
  const start = inAnHour();
  const before = (await api.alice.ok('GET', '/meetings')).meetings.length;
  for (const body of [
    { title: 'x', start, end: start },
    { title: 'x', start, end: start + 25 * 3600000, invitees: [p.bob.userId] },
    { title: 'x', start: Date.now() - 2 * 3600000, end: Date.now() - 3600000, invitees: [p.bob.userId] },
    { title: 'x', start, end: start + 60000 },
    { title: 'x', start, end: start + 60000, invitees: [] },
    { title: 'x', start, end: start + 60000, invitees: ['nope'] },
    { title: 'x', start, end: start + 60000, invitees: [p.alice.userId] },
    { title: 'x', start, end: start + 60000, invitees: [p.bob.userId], conversation_id: 'X'.repeat(26) },
    { title: '', start, end: start + 60000, invitees: [p.bob.userId] },
    { title: 'x'.repeat(201), start, end: start + 60000, invitees: [p.bob.userId] },
  ]) {
    const r = await api.alice.post('/meetings', body);
    assert.equal(r.status, 400, JSON.stringify(body));
  }
  const unknown = await api.alice.post('/meetings', { title: 'x', start, end: start + 60000, invitees: ['01JZZZZZZZZZZZZZZZZZZZZZZZ'] });
  assert.equal(unknown.status, 400);
  assert.equal((await api.alice.ok('GET', '/meetings')).meetings.length, before);
  assert.equal((await api.alice.post('/meetings/01JZZZZZZZZZZZZZZZZZZZZZZZ/cancel')).status, 404);
});
