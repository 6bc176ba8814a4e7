// Conversations: channels for departments (public inside the hospital, or private by
// invitation) with owners and members; join, leave, invite, remove, archive; group
// conversations of up to 50 people; one direct conversation per pair of people. Administrative
// actions are audited; the "messages" permission is every role's and needs 2FA.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, createUser, PASSWORD } from './lib/harness.js';
import { login } from './lib/accounts.js';
import { staff, client, createConversation, postMessage, openSocket, nextEvent, audit } from './lib/msg.js';

let server;
let p; // people
let api; // name -> client

before(async () => {
  server = await new Server().start();
  p = await staff(server, {
    root: 'admin',
    alice: 'nurse',
    bob: 'practitioner',
    carol: 'secretary',
    dan: 'it_support',
    eve: 'nurse',
  });
  api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('every role may message, but only with 2FA enrolled', async () => {
  createUser(server, 'newbie', 'it_support');
  const r = await login(server, 'newbie', PASSWORD);
  assert.equal(r.status, 200);
  assert.equal(r.body.restriction, 'totp_enrolment_required');
  const c = await server.request('GET', '/api/v1/conversations', { token: r.body.token });
  assert.equal(c.status, 403);
  assert.equal(c.body.error.code, 'totp_enrolment_required');
  for (const who of ['root', 'alice', 'bob', 'carol', 'dan']) {
    const me = await api[who].ok('GET', '/me');
    assert.ok(me.permissions.includes('messages'), who);
    await api[who].ok('GET', '/conversations');
  }
});

test('a public channel: created with its owner, discovered, joined and left by anyone', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Cardiologie', topic: 'Service de cardiologie' });
  assert.equal(ch.kind, 'channel');
  assert.equal(ch.visibility, 'public');
  assert.equal(ch.my_role, 'owner');
  assert.equal(ch.members_count, 1);
  assert.equal(ch.archived, false);
  assert.equal(ch.topic, 'Service de cardiologie');

  const disc = await api.bob.ok('GET', '/conversations?discover=public');
  assert.ok(disc.conversations.some((c) => c.id === ch.id && c.my_role === null));
  assert.ok(!(await api.bob.ok('GET', '/conversations')).conversations.some((c) => c.id === ch.id), 'not mine yet');
  // Visible before joining, but its messages are for members.
  assert.equal((await api.bob.ok('GET', `/conversations/${ch.id}`)).my_role, null);
  const r = await api.bob.get(`/conversations/${ch.id}/messages`);
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'not_a_member');

  const w = await openSocket(server, p.alice);
  const joined = await api.bob.ok('POST', `/conversations/${ch.id}/join`);
  assert.equal(joined.my_role, 'member');
  assert.equal(joined.members_count, 2);
  const ev = await nextEvent(w, 'member.joined', (d) => d.user_id === p.bob.userId);
  assert.equal(ev.data.conversation_id, ch.id);
  assert.equal(ev.data.role, 'member');
  // Joining twice changes nothing.
  assert.equal((await api.bob.ok('POST', `/conversations/${ch.id}/join`)).members_count, 2);
  assert.ok((await api.bob.ok('GET', '/conversations')).conversations.some((c) => c.id === ch.id));
  assert.ok(!(await api.bob.ok('GET', '/conversations?discover=public')).conversations.some((c) => c.id === ch.id));

  await api.bob.ok('POST', `/conversations/${ch.id}/leave`);
  const left = await nextEvent(w, 'member.left', (d) => d.user_id === p.bob.userId);
  assert.equal(left.data.reason, 'left');
  assert.equal((await api.alice.ok('GET', `/conversations/${ch.id}`)).members_count, 1);
  await w.close();
});

test('a private channel: invisible to others, members by invitation of its owners', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Staff meeting', visibility: 'private', members: [p.bob.userId] });
  assert.equal(ch.visibility, 'private');
  assert.equal(ch.members_count, 2);
  // Not discoverable, not joinable, not readable: for carol it does not exist.
  assert.ok(!(await api.carol.ok('GET', '/conversations?discover=public')).conversations.some((c) => c.id === ch.id));
  for (const [m, path] of [
    ['GET', `/conversations/${ch.id}`],
    ['POST', `/conversations/${ch.id}/join`],
    ['GET', `/conversations/${ch.id}/members`],
    ['GET', `/conversations/${ch.id}/messages`],
  ]) {
    const r = await (m === 'GET' ? api.carol.get(path) : api.carol.post(path));
    assert.equal(r.status, 404, `${m} ${path}`);
    assert.equal(r.body.error.code, 'conversation_not_found');
  }
  // A plain member may not invite into a private channel; an owner may, and may promote.
  let r = await api.bob.post(`/conversations/${ch.id}/members`, { user_id: p.carol.userId });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'not_owner');
  const inv = await api.alice.ok('POST', `/conversations/${ch.id}/members`, { user_id: p.carol.userId }, 201);
  assert.equal(inv.role, 'member');
  await api.carol.ok('GET', `/conversations/${ch.id}`);
  const prom = await api.alice.ok('POST', `/conversations/${ch.id}/members`, { user_id: p.bob.userId, role: 'owner' });
  assert.equal(prom.role, 'owner');
  r = await api.bob.post(`/conversations/${ch.id}/members`, { user_id: p.dan.userId });
  assert.equal(r.status, 201, 'an owner now');
  // Unknown people are refused.
  r = await api.alice.post(`/conversations/${ch.id}/members`, { user_id: '0'.repeat(26) });
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'user_not_found');

  // Members list with roles, names and presence.
  const members = (await api.carol.ok('GET', `/conversations/${ch.id}/members`)).members;
  assert.deepEqual(members.map((m) => m.username).sort(), ['alice', 'bob', 'carol', 'dan']);
  assert.equal(members.find((m) => m.username === 'alice').role, 'owner');
  for (const m of members) assert.ok(['online', 'offline', 'away', 'busy', 'in_consultation', 'on_call'].includes(m.presence.status));

  // Removal: only owners, audited; the removed member is told and loses access at once.
  r = await api.carol.del(`/conversations/${ch.id}/members/${p.dan.userId}`);
  assert.equal(r.status, 403);
  const wd = await openSocket(server, p.dan);
  await api.alice.ok('DELETE', `/conversations/${ch.id}/members/${p.dan.userId}`);
  const gone = await nextEvent(wd, 'member.left', (d) => d.user_id === p.dan.userId);
  assert.equal(gone.data.reason, 'removed');
  assert.equal(gone.data.by, p.alice.userId);
  assert.equal((await api.dan.get(`/conversations/${ch.id}`)).status, 404);
  r = await api.alice.del(`/conversations/${ch.id}/members/${p.dan.userId}`);
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'member_not_found');
  await wd.close();

  const invites = await audit(server, p.root.token, { action: 'conversation.invite', object: `conversation:${ch.id}` });
  assert.equal(invites.length, 2);
  assert.equal(invites[0].actor_name, 'bob');
  const removals = await audit(server, p.root.token, { action: 'conversation.remove', object: `conversation:${ch.id}` });
  assert.equal(removals.length, 1);
  assert.equal(removals[0].details.user_id, p.dan.userId);
  assert.equal(removals[0].actor_name, 'alice');
  const roles = await audit(server, p.root.token, { action: 'conversation.member_role', object: `conversation:${ch.id}` });
  assert.equal(roles[0].details.role, 'owner');
});

test('owners rename and archive; an archived channel is read-only; the last owner leaving hands over', async () => {
  const ch = await createConversation(api.alice, { kind: 'channel', name: 'Projet IRM', members: [p.bob.userId, p.carol.userId] });
  let r = await api.bob.patch(`/conversations/${ch.id}`, { name: 'Mine now' });
  assert.equal(r.status, 403);
  assert.equal(r.body.error.code, 'not_owner');
  const wb = await openSocket(server, p.bob);
  const renamed = await api.alice.ok('PATCH', `/conversations/${ch.id}`, { name: 'Projet IRM 3T', topic: 'Achat' });
  assert.equal(renamed.name, 'Projet IRM 3T');
  assert.equal((await nextEvent(wb, 'conversation.updated', (d) => d.id === ch.id)).data.name, 'Projet IRM 3T');
  await postMessage(api.bob, ch.id, 'avant archivage');

  const arch = await api.alice.ok('PATCH', `/conversations/${ch.id}`, { archived: true });
  assert.equal(arch.archived, true);
  assert.equal((await nextEvent(wb, 'conversation.updated', (d) => d.archived === true)).data.id, ch.id);
  r = await api.bob.post(`/conversations/${ch.id}/messages`, { body: 'après' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'archived');
  assert.equal((await api.bob.ok('GET', `/conversations/${ch.id}/messages`)).messages.length, 1, 'history stays readable');
  r = await api.dan.post(`/conversations/${ch.id}/join`);
  assert.equal(r.status, 409, 'an archived channel is not joined');
  assert.ok(!(await api.dan.ok('GET', '/conversations?discover=public')).conversations.some((c) => c.id === ch.id));
  const recs = await audit(server, p.root.token, { action: 'conversation.archive', object: `conversation:${ch.id}` });
  assert.equal(recs.length, 1);
  assert.equal(recs[0].actor_name, 'alice');
  await api.alice.ok('PATCH', `/conversations/${ch.id}`, { archived: false });
  await postMessage(api.bob, ch.id, 'de retour');

  // The only owner leaves: the longest-standing member becomes owner.
  await api.alice.ok('POST', `/conversations/${ch.id}/leave`);
  const heir = await nextEvent(wb, 'member.updated', (d) => d.role === 'owner');
  assert.ok([p.bob.userId, p.carol.userId].includes(heir.data.user_id));
  const members = (await api.bob.ok('GET', `/conversations/${ch.id}/members`)).members;
  assert.equal(members.filter((m) => m.role === 'owner').length, 1);
  await wb.close();
});

test('group conversations: 2 to 50 people, any member adds people, 51 is refused', async () => {
  let r = await api.alice.post('/conversations', { kind: 'group', members: [] });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_members');
  const g = await createConversation(api.alice, { kind: 'group', members: [p.bob.userId, p.carol.userId] });
  assert.equal(g.kind, 'group');
  assert.equal(g.visibility, 'private');
  assert.deepEqual([...g.members].sort(), [p.alice.userId, p.bob.userId, p.carol.userId].sort());
  await api.bob.ok('POST', `/conversations/${g.id}/members`, { user_id: p.eve.userId }, 201);

  // 50 is the most: create accounts to fill it.
  const ids = [];
  for (let i = 0; i < 47; i++) {
    const u = await server.request('POST', '/api/v1/users', {
      token: p.root.token,
      body: { username: `g${i}`, display_name: `G ${i}`, role: 'nurse' },
    });
    assert.equal(u.status, 201, u.text);
    ids.push(u.body.user.id);
  }
  r = await api.alice.post('/conversations', { kind: 'group', members: ids.concat([p.bob.userId, p.carol.userId, p.eve.userId]) });
  assert.equal(r.status, 400, '51 people');
  for (const id of ids.slice(0, 46)) await api.alice.ok('POST', `/conversations/${g.id}/members`, { user_id: id }, 201);
  assert.equal((await api.alice.ok('GET', `/conversations/${g.id}`)).members_count, 50);
  r = await api.alice.post(`/conversations/${g.id}/members`, { user_id: ids[46] });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'group_full');
  const full = await createConversation(api.alice, { kind: 'group', members: ids.slice(0, 46).concat([p.bob.userId, p.carol.userId, p.eve.userId]) });
  assert.equal(full.members_count, 50);
});

test('a direct conversation is unique per pair, whoever starts it, and cannot change', async () => {
  const d1 = await createConversation(api.alice, { kind: 'direct', members: [p.eve.userId] });
  assert.equal(d1.kind, 'direct');
  assert.equal(d1.name, null);
  const again = await api.eve.ok('POST', '/conversations', { kind: 'direct', members: [p.alice.userId] }, 200);
  assert.equal(again.id, d1.id, 'the same conversation, from the other side');
  const third = await api.alice.ok('POST', '/conversations', { kind: 'direct', members: [p.eve.userId, p.alice.userId] }, 200);
  assert.equal(third.id, d1.id);
  let r = await api.alice.post('/conversations', { kind: 'direct', members: [p.eve.userId, p.bob.userId] });
  assert.equal(r.status, 400);
  r = await api.alice.post('/conversations', { kind: 'direct', members: [p.alice.userId] });
  assert.equal(r.status, 400);
  r = await api.alice.post(`/conversations/${d1.id}/members`, { user_id: p.bob.userId });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'direct_conversation');
  r = await api.alice.post(`/conversations/${d1.id}/leave`);
  assert.equal(r.status, 409);
  r = await api.alice.patch(`/conversations/${d1.id}`, { topic: 'x' });
  assert.equal(r.status, 409);
  await postMessage(api.eve, d1.id, 'coucou');
  const mine = (await api.alice.ok('GET', '/conversations')).conversations.find((c) => c.id === d1.id);
  assert.deepEqual([...mine.members].sort(), [p.alice.userId, p.eve.userId].sort());
  assert.equal(mine.unread, 1);
});

test('invalid requests are refused with stable codes', async () => {
  const cases = [
    [{ kind: 'room', name: 'x' }, 'invalid_kind'],
    [{ kind: 'channel' }, 'invalid_request'],
    [{ kind: 'channel', name: 'x', visibility: 'secret' }, 'invalid_visibility'],
    [{ kind: 'group', visibility: 'public', members: [p.bob.userId] }, 'invalid_visibility'],
    [{ kind: 'channel', name: 'x', members: ['not-an-id'] }, 'invalid_request'],
    [{ kind: 'channel', name: 'x', members: ['0'.repeat(26)] }, 'unknown_user'],
    [{ kind: 'channel', name: 'x'.repeat(81) }, 'invalid_request'],
    [{ kind: 'channel', name: 'x', extra: 1 }, 'invalid_request'],
  ];
  for (const [body, code] of cases) {
    const r = await api.alice.post('/conversations', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.body.error.code, code, JSON.stringify(body));
  }
  for (const id of ['nope', '0'.repeat(26), '0'.repeat(27)]) {
    const r = await api.alice.get(`/conversations/${id}`);
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'conversation_not_found');
  }
  const r = await api.alice.get('/conversations?discover=everything');
  assert.equal(r.status, 400);
});
