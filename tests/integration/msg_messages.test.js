// Messages: text with mentions (@person, @channel), thread replies, edit and delete (a deleted
// message shows as deleted; its content is kept in the retention table, referenced by an audit
// record), reactions, pins, attachment links, and history paged backwards and forwards by
// sequence. Each change is an event of the conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { Server } from './lib/harness.js';
import { staff, client, createConversation, postMessage, openSocket, nextEvent, audit } from './lib/msg.js';

let server;
let p;
let api;
let ch; // a public channel of alice, bob and carol

before(async () => {
  server = await new Server().start();
  p = await staff(server, { root: 'admin', alice: 'nurse', bob: 'practitioner', carol: 'secretary', dan: 'nurse' });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
  ch = await createConversation(api.alice, { kind: 'channel', name: 'Urgences', members: [p.bob.userId, p.carol.userId] });
});
after(async () => {
  await server.stop();
  server.cleanup();
});

// Reads a SQLite table of the server's store (the tests look at what is kept, not at the API).
function sql(query) {
  const r = spawnSync('sqlite3', ['-json', path.join(server.dataDir, 'carecomm.db'), query], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

test('a message: sequence per conversation, mentions of members, an event for every member', async () => {
  const wb = await openSocket(server, p.bob);
  const wd = await openSocket(server, p.dan);
  const m1 = await postMessage(api.alice, ch.id, 'Bonjour @bob et @Carol, voir avec @dan. (mail: x@hopital.fr)');
  assert.equal(m1.conversation_id, ch.id);
  assert.equal(m1.author_id, p.alice.userId);
  assert.equal(m1.seq, 1);
  assert.equal(m1.urgent, false);
  assert.equal(m1.thread_root, null);
  assert.equal(m1.deleted, false);
  assert.equal(m1.edited_at, null);
  assert.deepEqual([...m1.mentions].sort(), [p.bob.userId, p.carol.userId].sort(), 'dan is not a member: not mentioned');
  const ev = await nextEvent(wb, 'message.created', (d) => d.id === m1.id);
  assert.deepEqual(ev.data, m1);
  const m2 = await postMessage(api.bob, ch.id, '@channel réunion à 14h');
  assert.equal(m2.seq, 2);
  assert.equal(m2.mentions_channel, true);
  await nextEvent(wb, 'message.created', (d) => d.id === m2.id);
  assert.equal(wd.events().length, 0, 'a non-member receives nothing');
  await wb.close();
  await wd.close();
});

test('bodies: empty refused, 15000 bytes accepted, more refused; attachments are links', async () => {
  let r = await api.alice.post(`/conversations/${ch.id}/messages`, { body: '  \n ' });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'empty_message');
  const big = 'é'.repeat(7500); // 15000 bytes
  const m = await postMessage(api.alice, ch.id, big);
  assert.equal(m.body, big);
  r = await api.alice.post(`/conversations/${ch.id}/messages`, { body: big + 'x' });
  assert.equal(r.status, 400);
  const att = [{ file_id: '01HFILE00000000000000000000', name: 'ecg.pdf', size: 123456 }];
  const withFile = await postMessage(api.alice, ch.id, { body: '', attachments: att });
  assert.deepEqual(withFile.attachments, att);
  r = await api.alice.post(`/conversations/${ch.id}/messages`, { body: 'x', attachments: ['a'] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_attachments');
  r = await api.alice.post(`/conversations/${ch.id}/messages`, { body: 'x', attachments: Array(11).fill({}) });
  assert.equal(r.status, 400);
});

test('threads: replies carry their root, the root counts them, history filters one thread', async () => {
  const root = await postMessage(api.alice, ch.id, 'Question sur le patient du lit 4');
  const r1 = await postMessage(api.bob, ch.id, { body: 'Réponse 1', thread_root: root.id });
  const r2 = await postMessage(api.carol, ch.id, { body: 'Réponse 2', thread_root: r1.id }); // a reply to a reply
  assert.equal(r1.thread_root, root.id);
  assert.equal(r2.thread_root, root.id, 'a reply to a reply joins the root thread');
  await postMessage(api.alice, ch.id, 'hors fil');
  const t = await api.bob.ok('GET', `/conversations/${ch.id}/messages?thread=${root.id}`);
  assert.deepEqual(t.messages.map((m) => m.id), [root.id, r1.id, r2.id]);
  assert.equal(t.messages[0].reply_count, 2);
  const bad = await api.bob.post(`/conversations/${ch.id}/messages`, { body: 'x', thread_root: '0'.repeat(26) });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'invalid_thread');
  // A root in another conversation is refused too.
  const other = await createConversation(api.bob, { kind: 'channel', name: 'Autre' });
  const x = await api.bob.post(`/conversations/${other.id}/messages`, { body: 'x', thread_root: root.id });
  assert.equal(x.status, 400);
});

test('history pages backwards and forwards by sequence, without gap or overlap', async () => {
  const conv = await createConversation(api.alice, { kind: 'group', members: [p.bob.userId] });
  for (let i = 1; i <= 25; i++) await postMessage(api.alice, conv.id, `message ${i}`);
  let page = await api.bob.ok('GET', `/conversations/${conv.id}/messages?limit=10`);
  assert.deepEqual(page.messages.map((m) => m.seq), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25], 'the latest, oldest first');
  assert.equal(page.has_more, true);
  const seen = page.messages.map((m) => m.seq);
  while (page.has_more) {
    page = await api.bob.ok('GET', `/conversations/${conv.id}/messages?limit=10&before=${page.messages[0].seq}`);
    seen.unshift(...page.messages.map((m) => m.seq));
  }
  assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => i + 1));
  page = await api.bob.ok('GET', `/conversations/${conv.id}/messages?after=20&limit=3`);
  assert.deepEqual(page.messages.map((m) => m.seq), [21, 22, 23]);
  assert.equal(page.has_more, true);
  page = await api.bob.ok('GET', `/conversations/${conv.id}/messages?after=23&limit=3`);
  assert.deepEqual(page.messages.map((m) => m.seq), [24, 25]);
  assert.equal(page.has_more, false);
  for (const q of ['limit=0', 'limit=201', 'before=x', 'after=-1', 'before=5&after=2', 'thread=abc']) {
    const r = await api.bob.get(`/conversations/${conv.id}/messages?${q}`);
    assert.equal(r.status, 400, q);
  }
});

test('edit by the author only: the previous text is retained and audited, never logged', async () => {
  const wc = await openSocket(server, p.carol);
  const m = await postMessage(api.bob, ch.id, 'Le patient X a 39,5 de fièvre');
  let r = await api.alice.patch(`/messages/${m.id}`, { body: 'piraté' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'not_author');
  const e = await api.bob.ok('PATCH', `/messages/${m.id}`, { body: 'Le patient X a 38,5 de fièvre, @carol' });
  assert.equal(e.body, 'Le patient X a 38,5 de fièvre, @carol');
  assert.ok(e.edited_at >= m.created_at);
  assert.deepEqual(e.mentions, [p.carol.userId]);
  assert.equal((await nextEvent(wc, 'message.updated', (d) => d.id === m.id)).data.body, e.body);
  const kept = sql(`SELECT action, body, by_user FROM msg_retention WHERE message_id = '${m.id}'`);
  assert.deepEqual(kept, [{ action: 'edit', body: 'Le patient X a 39,5 de fièvre', by_user: p.bob.userId }]);
  const rec = await audit(server, p.root.token, { action: 'message.edit', object: `message:${m.id}` });
  assert.equal(rec.length, 1);
  assert.equal(rec[0].actor_name, 'bob');
  assert.ok(rec[0].details.retention_id);
  assert.ok(!JSON.stringify(rec).includes('fièvre'), 'no message text in the audit trail');
  assert.ok(!server.logs.includes('fièvre'), 'no message text in the logs');
  await wc.close();
});

test('delete by the author or an owner: shown as deleted, content kept for the retention period', async () => {
  const wc = await openSocket(server, p.carol);
  const m = await postMessage(api.bob, ch.id, 'Résultat confidentiel: kaliémie 6,2');
  let r = await api.carol.del(`/messages/${m.id}`);
  assert.equal(r.status, 403, 'a member who is neither author nor owner');
  assert.equal(r.body.error.code, 'not_allowed');
  const d = await api.alice.ok('DELETE', `/messages/${m.id}`); // alice owns the channel
  assert.equal(d.deleted, true);
  assert.equal(d.body, '');
  assert.equal(d.deleted_by, p.alice.userId);
  const ev = await nextEvent(wc, 'message.deleted', (x) => x.id === m.id);
  assert.equal(ev.data.body, '');
  assert.equal(ev.data.deleted, true);
  // In the history it is a deleted message, with its place and no content.
  const h = await api.carol.ok('GET', `/conversations/${ch.id}/messages?after=${m.seq - 1}&limit=1`);
  assert.equal(h.messages[0].id, m.id);
  assert.equal(h.messages[0].deleted, true);
  assert.equal(h.messages[0].body, '');
  assert.ok(!JSON.stringify(h).includes('kaliémie'));
  // Deleted twice: the same answer. Edited after: refused.
  assert.equal((await api.bob.ok('DELETE', `/messages/${m.id}`)).deleted, true);
  r = await api.bob.patch(`/messages/${m.id}`, { body: 'again' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'message_deleted');
  // Kept, with who deleted it; audited without the text.
  const kept = sql(`SELECT action, body, by_user, author_id FROM msg_retention WHERE message_id = '${m.id}'`);
  assert.deepEqual(kept, [{ action: 'delete', body: 'Résultat confidentiel: kaliémie 6,2', by_user: p.alice.userId, author_id: p.bob.userId }]);
  const rec = await audit(server, p.root.token, { action: 'message.delete', object: `message:${m.id}` });
  assert.equal(rec.length, 1);
  assert.equal(rec[0].details.author_id, p.bob.userId);
  assert.ok(!JSON.stringify(rec).includes('kaliémie'));
  await wc.close();
});

test('reactions: added once per person and emoji, removed, shown on the message', async () => {
  const wa = await openSocket(server, p.alice);
  const m = await postMessage(api.alice, ch.id, 'Café ?');
  const add = await api.bob.ok('POST', `/messages/${m.id}/reactions`, { emoji: '👍' });
  assert.equal(add.emoji, '👍');
  await nextEvent(wa, 'reaction.added', (d) => d.message_id === m.id && d.user_id === p.bob.userId);
  await api.bob.ok('POST', `/messages/${m.id}/reactions`, { emoji: '👍' }); // again: no change
  await api.carol.ok('POST', `/messages/${m.id}/reactions`, { emoji: '👍' });
  await api.carol.ok('POST', `/messages/${m.id}/reactions`, { emoji: ':coffee:' });
  let h = await api.alice.ok('GET', `/conversations/${ch.id}/messages?after=${m.seq - 1}&limit=1`);
  const r = h.messages[0].reactions;
  assert.deepEqual(r.find((x) => x.emoji === '👍').users.sort(), [p.bob.userId, p.carol.userId].sort());
  assert.equal(r.find((x) => x.emoji === '👍').count, 2);
  assert.equal(r.find((x) => x.emoji === ':coffee:').count, 1);
  await api.bob.ok('DELETE', `/messages/${m.id}/reactions/${encodeURIComponent('👍')}`);
  await nextEvent(wa, 'reaction.removed', (d) => d.message_id === m.id && d.emoji === '👍');
  h = await api.alice.ok('GET', `/conversations/${ch.id}/messages?after=${m.seq - 1}&limit=1`);
  assert.deepEqual(h.messages[0].reactions.find((x) => x.emoji === '👍').users, [p.carol.userId]);
  const bad = await api.bob.post(`/messages/${m.id}/reactions`, { emoji: 'a b' });
  assert.equal(bad.status, 400);
  assert.equal(eventsOfType(wa, 'reaction.added').length, 3, 'the repeated reaction was not an event');
  await wa.close();
});

function eventsOfType(w, name) {
  return w.events().filter((m) => m.event === name);
}

test('pins: pinned and unpinned by members, listed newest first', async () => {
  const wb = await openSocket(server, p.bob);
  const a = await postMessage(api.alice, ch.id, 'Protocole sepsis');
  const b = await postMessage(api.alice, ch.id, 'Numéros utiles');
  await api.bob.ok('POST', `/messages/${a.id}/pin`);
  await nextEvent(wb, 'message.pinned', (d) => d.message_id === a.id);
  await api.carol.ok('POST', `/messages/${b.id}/pin`);
  let pins = await api.alice.ok('GET', `/conversations/${ch.id}/pins`);
  assert.deepEqual(pins.messages.map((m) => m.id), [b.id, a.id]);
  assert.equal(pins.messages[0].pinned_by, p.carol.userId);
  await api.alice.ok('DELETE', `/messages/${a.id}/pin`);
  await nextEvent(wb, 'message.unpinned', (d) => d.message_id === a.id);
  pins = await api.alice.ok('GET', `/conversations/${ch.id}/pins`);
  assert.deepEqual(pins.messages.map((m) => m.id), [b.id]);
  const r = await api.dan.get(`/conversations/${ch.id}/pins`);
  assert.equal(r.status, 403, 'a public channel not joined');
  await wb.close();
});

test('messages of a conversation someone cannot read are not found', async () => {
  const priv = await createConversation(api.alice, { kind: 'channel', name: 'Privé', visibility: 'private' });
  const m = await postMessage(api.alice, priv.id, 'secret');
  for (const [method, p2, body] of [
    ['PATCH', `/messages/${m.id}`, { body: 'x' }],
    ['DELETE', `/messages/${m.id}`],
    ['POST', `/messages/${m.id}/reactions`, { emoji: 'x' }],
    ['POST', `/messages/${m.id}/pin`],
    ['POST', `/messages/${m.id}/ack`],
    ['GET', `/messages/${m.id}/acks`],
  ]) {
    const r = await server.request(method, `/api/v1${p2}`, { token: p.dan.token, body });
    assert.equal(r.status, 404, `${method} ${p2}`);
    assert.equal(r.body.error.code, 'message_not_found');
  }
});
