// The privacy rule: a person who is not a member never sees a private conversation's messages —
// not through the live stream, not through a resume, not through search, not through counts,
// not through any REST route — and someone removed stops seeing it at the moment of removal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from './lib/harness.js';
import { staff, client, createConversation, postMessage, openSocket, nextEvent, barrier } from './lib/msg.js';

let server;
let p;
let api;
let priv;
const SECRET = 'Diagnostic confidentiel: Mme Lefèvre';
const LATER = 'Après le départ de Dan: résultats du scanner';

before(async () => {
  server = await new Server().start();
  p = await staff(server, { alice: 'practitioner', bob: 'nurse', dan: 'nurse', eve: 'secretary', root: 'admin' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

// Everything a socket received, as text: nothing of the conversation may be in it.
const received = (w) => w.messages.map((m) => JSON.stringify(m)).join('\n');

test('a non-member and a removed member see nothing of a private conversation, by any path', async () => {
  const we = await openSocket(server, p.eve); // never a member
  const wd = await openSocket(server, p.dan); // a member, then removed
  const wb = await openSocket(server, p.bob); // a member throughout
  const start = wb.welcome.head;
  priv = await createConversation(api.alice, { kind: 'channel', name: 'Oncologie RCP', visibility: 'private', members: [p.bob.userId, p.dan.userId] });
  const m1 = await postMessage(api.alice, priv.id, `${SECRET} @dan @channel`);
  await nextEvent(wd, 'message.created', (d) => d.id === m1.id);
  await api.alice.ok('POST', `/messages/${m1.id}/reactions`, { emoji: '👀' });

  // Dan is removed: he is told, and from then on receives nothing of it.
  await api.alice.ok('DELETE', `/conversations/${priv.id}/members/${p.dan.userId}`);
  const left = await nextEvent(wd, 'member.left', (d) => d.user_id === p.dan.userId);
  const cut = left.seq;
  const m2 = await postMessage(api.alice, priv.id, { body: `${LATER} @dan`, urgent: true });
  await api.bob.ok('POST', `/messages/${m1.id}/pin`);
  await api.alice.ok('PATCH', `/messages/${m1.id}`, { body: `${SECRET} (corrigé)` });
  await api.alice.ok('PATCH', `/conversations/${priv.id}`, { topic: 'Réunion du jeudi' });
  await api.bob.ok('POST', `/conversations/${priv.id}/read`, { seq: 2 });
  we.send({ type: 'typing', conversation: priv.id });
  wb.send({ type: 'typing', conversation: priv.id });
  await nextEvent(wb, 'conversation.updated', (d) => d.topic === 'Réunion du jeudi');
  await barrier(we);
  await barrier(wd);

  // The stream: eve got nothing at all of it; dan nothing after his removal.
  assert.ok(!received(we).includes(priv.id), 'eve: nothing of the conversation');
  assert.ok(!received(we).includes('Lefèvre'));
  const danAfter = wd.events().filter((e) => e.seq > cut);
  assert.deepEqual(danAfter, [], 'dan: nothing after his removal');
  assert.ok(!received(wd).includes(LATER));
  assert.ok(!received(wd).includes('typing'), 'no typing either');
  assert.ok(!received(we).includes('typing'));
  // Bob, a member, got everything in order.
  const bobNames = wb.events().filter((e) => e.seq > start && (e.data.conversation_id === priv.id || e.data.id === priv.id)).map((e) => e.event);
  for (const n of ['conversation.created', 'message.created', 'reaction.added', 'member.left', 'message.pinned', 'message.updated', 'conversation.updated']) {
    assert.ok(bobNames.includes(n), `bob received ${n}`);
  }

  // Resume from the very beginning: the same rule.
  for (const [who, w] of [['eve', we], ['dan', wd]]) {
    const again = await openSocket(server, p[who], 0);
    await barrier(again);
    const text = received(again);
    assert.ok(!text.includes(LATER), `${who}: resume shows nothing posted after`);
    if (who === 'eve') assert.ok(!text.includes(priv.id), 'eve: resume shows nothing of it');
    else {
      // Dan is not a member any more: even what he once received is not replayed, only his removal.
      const his = again.events().filter((e) => JSON.stringify(e).includes(priv.id));
      assert.deepEqual(his.map((e) => e.event), ['member.left']);
      assert.ok(!text.includes('Lefèvre'));
    }
    await again.close();
    await w.close();
  }

  // Search: nothing, whatever the words.
  for (const who of ['eve', 'dan']) {
    for (const word of ['lefevre', 'diagnostic', 'scanner', 'confidentiel']) {
      const r = await api[who].ok('GET', `/search?q=${word}`);
      assert.deepEqual(r.results, [], `${who} searching ${word}`);
    }
    const r = await api[who].get(`/search?q=scanner&conversation=${priv.id}`);
    assert.equal(r.status, 404);
  }
  assert.equal((await api.bob.ok('GET', '/search?q=lefevre')).results.length, 1);

  // Counts and lists: the conversation is not theirs, its mentions are not counted.
  for (const who of ['eve', 'dan']) {
    const list = await api[who].ok('GET', '/conversations');
    assert.ok(!list.conversations.some((c) => c.id === priv.id), `${who}: not in my conversations`);
    const disc = await api[who].ok('GET', '/conversations?discover=public');
    assert.ok(!disc.conversations.some((c) => c.id === priv.id), `${who}: not discoverable`);
    const r = await api[who].post(`/conversations/${priv.id}/read`, { seq: 1 });
    assert.equal(r.status, 404, `${who}: no read position either`);
  }
  const bobs = (await api.bob.ok('GET', '/conversations')).conversations.find((c) => c.id === priv.id);
  assert.equal(bobs.unread, 0);
  assert.equal(bobs.last_seq, 2);

  // Every REST route: 404, as if it did not exist.
  const routes = [
    ['GET', `/conversations/${priv.id}`],
    ['PATCH', `/conversations/${priv.id}`, { name: 'x' }],
    ['POST', `/conversations/${priv.id}/join`],
    ['POST', `/conversations/${priv.id}/leave`],
    ['GET', `/conversations/${priv.id}/members`],
    ['POST', `/conversations/${priv.id}/members`, { user_id: p.eve.userId }],
    ['DELETE', `/conversations/${priv.id}/members/${p.bob.userId}`],
    ['GET', `/conversations/${priv.id}/messages`],
    ['POST', `/conversations/${priv.id}/messages`, { body: 'intrus' }],
    ['GET', `/conversations/${priv.id}/pins`],
    ['POST', `/conversations/${priv.id}/read`, { seq: 1 }],
    ['PATCH', `/messages/${m1.id}`, { body: 'x' }],
    ['DELETE', `/messages/${m1.id}`],
    ['POST', `/messages/${m1.id}/reactions`, { emoji: 'x' }],
    ['DELETE', `/messages/${m1.id}/reactions/x`],
    ['POST', `/messages/${m1.id}/pin`],
    ['DELETE', `/messages/${m1.id}/pin`],
    ['POST', `/messages/${m2.id}/ack`],
    ['GET', `/messages/${m2.id}/acks`],
  ];
  for (const who of ['eve', 'dan']) {
    for (const [method, path, body] of routes) {
      const r = await server.request(method, `/api/v1${path}`, { token: p[who].token, body });
      assert.equal(r.status, 404, `${who} ${method} ${path}: ${r.text}`);
      assert.ok(!r.text.includes('Lefèvre') && !r.text.includes('Oncologie'));
    }
  }
  // Even the administrator, who administers accounts, is no member.
  assert.equal((await api.root.get(`/conversations/${priv.id}/messages`)).status, 404);
  await wb.close();
});

test('a person invited later reads the history, and is a member like the others from then on', async () => {
  const we = await openSocket(server, p.eve);
  await api.alice.ok('POST', `/conversations/${priv.id}/members`, { user_id: p.eve.userId }, 201);
  const joined = await nextEvent(we, 'member.joined', (d) => d.user_id === p.eve.userId);
  assert.equal(joined.data.conversation.name, 'Oncologie RCP');
  const h = await api.eve.ok('GET', `/conversations/${priv.id}/messages`);
  assert.equal(h.messages.length, 2);
  const m = await postMessage(api.bob, priv.id, 'Bienvenue Eve');
  await nextEvent(we, 'message.created', (d) => d.id === m.id);
  assert.equal((await api.eve.ok('GET', '/search?q=bienvenue')).results.length, 1);
  await we.close();
});

test('an edited or deleted message is never replayed with its earlier text, from memory or from the store', async () => {
  const wa = await openSocket(server, p.alice);
  const from = wa.welcome.head;
  const m = await postMessage(api.bob, priv.id, 'Erreur de patient: Mme Martin, chambre 8');
  await api.bob.ok('PATCH', `/messages/${m.id}`, { body: 'Corrigé: Mme Martin, chambre 9' });
  await api.bob.ok('DELETE', `/messages/${m.id}`);
  const del = await nextEvent(wa, 'message.deleted', (d) => d.id === m.id);
  assert.equal(del.data.redacts.length, 2, 'it replaces the creation and the edit');
  await wa.close();
  const replay = async () => {
    const w = await openSocket(server, p.alice, from);
    await nextEvent(w, 'message.deleted', (d) => d.id === m.id);
    const mine = w.events().filter((e) => e.data.id === m.id);
    await w.close();
    return mine;
  };
  for (const where of ['the ring of recent events', 'the store, after a restart']) {
    if (where.startsWith('the store')) {
      await server.stop();
      await server.start();
    }
    const evs = await replay();
    assert.deepEqual(evs.map((e) => e.event), ['message.created', 'message.updated', 'message.deleted'], where);
    for (const e of evs) {
      assert.equal(e.data.body, '', `${where}: ${e.event}`);
      assert.equal(e.data.deleted, true);
      assert.ok(!JSON.stringify(e).includes('Martin'), `${where}: ${e.event} without the text`);
    }
  }
});
