// Guests from outside in a conversation's meeting, against a real Janus: a member makes an
// invitation link, the guest proves it on the guest WebSocket (meeting.guest_hello), asks to join
// and waits in the lobby; everyone in the meeting sees who waits, only the host lets them in or
// turns them away; revoking the link sends its guests away and closes their connections. And
// every refusal: a stranger's link, another conversation's meeting, a consultation's call, a
// non-host's admit, a link of a conversation one is not in, wrong tokens from one address.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Server, mediaEnv } from './lib/harness.js';
import { waitFor } from './lib/accounts.js';
import { staff, client, createConversation, openSocket, audit, request, guestSocket as sharedGuestSocket } from './lib/msg.js';

const haveMedia = fs.existsSync('/usr/bin/janus') && fs.existsSync('/usr/bin/turnserver');
const skip = haveMedia ? false : 'Janus or coturn not installed (scripts/install-deps)';

let server;
let p;
let conv;
let other;
const sockets = [];
const call = request;

async function staffSocket(who) {
  const w = await openSocket(server, who);
  sockets.push(w);
  return w;
}

const guestSocket = () => sharedGuestSocket(server, sockets);

// The first message matching pred among those w receives after mark (w.messages.length then).
function seenAfter(w, mark, pred) {
  return waitFor(() => w.messages.slice(mark).find(pred), { what: 'a frame', timeout: 10000 });
}

const tokenOf = (url) => new URL(url).pathname.replace(/^\/join\//, '');

async function invite(who, conversationId, body = { name: 'Dr Martin (CHU Lyon)' }) {
  return client(server, who).ok('POST', `/conversations/${conversationId}/guest-links`, body, 201);
}

// A guest socket whose link is proved: the welcome frame.
async function guestWith(url) {
  const g = await guestSocket();
  g.welcome = await call(g, { type: 'meeting.guest_hello', token: tokenOf(url) });
  return g;
}

before(async () => {
  if (skip) return;
  server = await new Server({ env: await mediaEnv() }).start();
  await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 20000 });
  p = await staff(server, { alice: 'practitioner', bob: 'nurse', eve: 'nurse', root: 'admin' });
  conv = await createConversation(client(server, p.alice), { kind: 'group', name: 'RCP cardio', members: [p.bob.userId] });
  other = await createConversation(client(server, p.eve), { kind: 'channel', name: 'Eve only', visibility: 'private' });
});

after(async () => {
  if (process.env.LOBBY_LOGS && server) console.log(server.logs.slice(-6000));
  for (const w of sockets) w.ws.terminate();
  if (!server) return;
  await server.stop();
  server.cleanup();
});

let link;

test('a member makes a guest link: shown once, listed without its token, audited', { skip }, async () => {
  const made = await invite(p.alice, conv.id, { name: 'Dr Martin (CHU Lyon)', hours: 2 });
  link = made;
  assert.equal(made.url.split('/join/')[0], `https://127.0.0.1:${server.port}`, 'public_url unset: where it listens');
  assert.match(made.url, /\/join\/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(made.link.name, 'Dr Martin (CHU Lyon)');
  assert.equal(made.link.conversation_id, conv.id);
  assert.equal(made.link.created_by, p.alice.userId);
  const hours = (made.link.expires_at - made.link.created_at) / 3600000;
  assert.equal(hours, 2);
  const listed = await client(server, p.bob).ok('GET', `/conversations/${conv.id}/guest-links`);
  assert.deepEqual(listed.links.map((l) => l.id), [made.link.id]);
  assert.ok(!JSON.stringify(listed).includes(tokenOf(made.url)), 'the token is never listed');
  const records = await audit(server, p.root.token, { action: 'meeting.guest_link' });
  assert.ok(records.some((r) => r.object === `guest_link:${made.link.id}` && r.actor_id === p.alice.userId));
});

test('links are refused outside one\'s conversations and with bad input', { skip }, async () => {
  const eve = client(server, p.eve);
  // A group one is not in does not exist, as far as one can tell.
  const r = await eve.post(`/conversations/${conv.id}/guest-links`, { name: 'x' });
  assert.equal(r.status, 404, r.text);
  assert.equal((await eve.get(`/conversations/${conv.id}/guest-links`)).status, 404);
  const alice = client(server, p.alice);
  assert.equal((await alice.post(`/conversations/${other.id}/guest-links`, { name: 'x' })).status, 404);
  assert.equal((await alice.post(`/conversations/${conv.id}/guest-links`, { name: 'x', hours: 0 })).status, 400);
  assert.equal((await alice.post(`/conversations/${conv.id}/guest-links`, { name: 'x', hours: 169 })).status, 400);
  assert.equal((await alice.post(`/conversations/${conv.id}/guest-links`, {})).status, 400);
  assert.equal((await alice.post(`/conversations/${conv.id}/guest-links`, { name: 'x'.repeat(81) })).status, 400);
});

test('the guest proves the link, then only its own conversation\'s meeting is open to it', { skip }, async () => {
  const g = await guestWith(link.url);
  assert.deepEqual(
    { type: g.welcome.type, conversation: g.welcome.conversation, name: g.welcome.name, title: g.welcome.title },
    { type: 'meeting.guest_welcome', conversation: conv.id, name: 'Dr Martin (CHU Lyon)', title: 'RCP cardio' },
  );
  // Another conversation, even a real one, and a consultation: no.
  const elsewhere = await call(g, { type: 'meeting.join', conversation: other.id });
  assert.equal(elsewhere.code, 'conversation_not_found');
  const consult = await call(g, { type: 'meeting.join', consultation: other.id });
  assert.equal(consult.code, 'consultation_not_found');
  // Staff frames and events are not for guests.
  g.send({ type: 'hello' });
  const hello = await g.next((m) => m.type === 'error' && m.code === 'not_allowed');
  assert.ok(hello);
  g.ws.terminate();
  // A token this server did not make, and a made-up one.
  const h = await guestSocket();
  const forged = tokenOf(link.url).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
  assert.equal((await call(h, { type: 'meeting.guest_hello', token: forged })).code, 'link_unknown');
  assert.equal((await call(h, { type: 'meeting.guest_hello', token: 'nope' })).code, 'link_unknown');
  h.ws.terminate();
});

let alice;
let aliceJoined;
let bob;
let bobJoined;
let guest;

test('a guest waits in the lobby; everyone sees it; only the host lets it in', { skip }, async () => {
  alice = await staffSocket(p.alice);
  aliceJoined = await call(alice, { type: 'meeting.join', conversation: conv.id });
  assert.equal(aliceJoined.type, 'meeting.joined', JSON.stringify(aliceJoined));
  bob = await staffSocket(p.bob);
  bobJoined = await call(bob, { type: 'meeting.join', conversation: conv.id });
  assert.equal(bobJoined.type, 'meeting.joined');

  guest = await guestWith(link.url);
  const wait = await call(guest, { type: 'meeting.join', conversation: conv.id });
  assert.equal(wait.type, 'meeting.lobby_wait', JSON.stringify(wait));
  assert.equal(wait.room, aliceJoined.room);
  // Not in the meeting yet: no frame of the room works.
  const early = await call(guest, { type: 'meeting.subscribe', room: aliceJoined.room, streams: [{ feed: aliceJoined.feed }] });
  assert.equal(early.code, 'not_in_room');

  const seen = (w) => w.next((m) => m.type === 'meeting.lobby' && m.guests.length === 1);
  const [aliceLobby, bobLobby] = await Promise.all([seen(alice), seen(bob)]);
  assert.equal(aliceLobby.room, aliceJoined.room);
  assert.equal(aliceLobby.guests[0].name, 'Dr Martin (CHU Lyon)');
  assert.equal(bobLobby.guests[0].id, aliceLobby.guests[0].id);

  // Bob is in the meeting but not its host.
  const notHost = await call(bob, { type: 'meeting.admit', room: bobJoined.room, guest: bobLobby.guests[0].id });
  assert.equal(notHost.code, 'not_host');
  const unknown = await call(alice, { type: 'meeting.admit', room: aliceJoined.room, guest: 'nobody-waits-her' });
  assert.equal(unknown.code, 'guest_not_found');

  const mark = alice.messages.length;
  const done = await call(alice, { type: 'meeting.admit', room: aliceJoined.room, guest: aliceLobby.guests[0].id });
  assert.equal(done.type, 'meeting.done', JSON.stringify(done));
  const joined = await guest.next((m) => m.type === 'meeting.joined' && m.id === wait.id);
  assert.equal(joined.room, aliceJoined.room);
  assert.equal(joined.conversation, conv.id);
  assert.ok(joined.ice_servers.length >= 1);
  await seenAfter(alice, mark, (m) => m.type === 'meeting.lobby' && m.guests.length === 0);
  // The guest never hosts, and never lets anyone in.
  assert.equal(joined.host, false);
  const letIn = await call(guest, { type: 'meeting.admit', room: joined.room, guest: 'nobody-waits-her' });
  assert.equal(letIn.code, 'not_host');
  // Who let someone from outside in is on record.
  await waitFor(async () => (await audit(server, p.root.token, { action: 'meeting.admit' }))
    .some((r) => r.actor_id === p.alice.userId && r.object === `guest_link:${link.link.id}`), { what: 'the admit in the audit chain' });
});

test('the host turns a guest away; a guest may also stop waiting', { skip }, async () => {
  const second = await guestWith(link.url);
  let mark = alice.messages.length;
  const wait = await call(second, { type: 'meeting.join', conversation: conv.id });
  assert.equal(wait.type, 'meeting.lobby_wait');
  const lobby = await seenAfter(alice, mark, (m) => m.type === 'meeting.lobby' && m.guests.length === 1);
  const done = await call(alice, { type: 'meeting.deny', room: aliceJoined.room, guest: lobby.guests[0].id });
  assert.equal(done.type, 'meeting.done');
  const left = await second.next((m) => m.type === 'meeting.left');
  assert.equal(left.reason, 'denied');
  await waitFor(async () => (await audit(server, p.root.token, { action: 'meeting.deny' })).length === 1, { what: 'the deny in the audit chain' });

  const third = await guestWith(link.url);
  mark = alice.messages.length;
  const w3 = await call(third, { type: 'meeting.join', conversation: conv.id });
  await seenAfter(alice, mark, (m) => m.type === 'meeting.lobby' && m.guests.length === 1);
  const gone = await call(third, { type: 'meeting.leave', room: w3.room });
  assert.equal(gone.type, 'meeting.left');
  assert.equal(gone.reason, 'left');
  // A closed page leaves the lobby too.
  const fourth = await guestWith(link.url);
  mark = alice.messages.length;
  await call(fourth, { type: 'meeting.join', conversation: conv.id });
  await seenAfter(alice, mark, (m) => m.type === 'meeting.lobby' && m.guests.length === 1);
  mark = alice.messages.length;
  fourth.ws.terminate();
  await seenAfter(alice, mark, (m) => m.type === 'meeting.lobby' && m.guests.length === 0);
});

test('a guest can wait before anyone is there: the first one in is told', { skip }, async () => {
  const quiet = await createConversation(client(server, p.bob), { kind: 'group', name: 'Staff briefing', members: [p.alice.userId] });
  const made = await invite(p.bob, quiet.id, { name: 'Interprète' });
  const g = await guestWith(made.url);
  assert.equal(g.welcome.title, 'Staff briefing');
  const wait = await call(g, { type: 'meeting.join', conversation: quiet.id });
  assert.equal(wait.type, 'meeting.lobby_wait');
  const b = await staffSocket(p.bob);
  const joined = await call(b, { type: 'meeting.join', conversation: quiet.id });
  assert.equal(joined.type, 'meeting.joined');
  assert.equal(joined.room, wait.room);
  const lobby = await b.next((m) => m.type === 'meeting.lobby' && m.room === joined.room);
  assert.deepEqual(lobby.guests.map((x) => x.name), ['Interprète']);
  await call(b, { type: 'meeting.leave', room: joined.room });
});

test('a guest let in comes straight back after a media-server restart, without asking again', { skip }, async () => {
  const pid = Number(fs.readFileSync(path.join(server.dataDir, 'media/janus.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  const left = await guest.next((m) => m.type === 'meeting.left' && m.reason === 'media_restarting', 15000);
  assert.equal(left.room, aliceJoined.room);
  await guest.next((m) => m.type === 'meeting.rejoin', 30000);
  const again = await call(guest, { type: 'meeting.join', conversation: conv.id });
  assert.equal(again.type, 'meeting.joined', JSON.stringify(again));
  assert.equal(again.room, aliceJoined.room);
  // Alice comes back too (as the web app does by itself).
  await alice.next((m) => m.type === 'meeting.rejoin', 30000);
  const back = await call(alice, { type: 'meeting.join', conversation: conv.id });
  assert.equal(back.type, 'meeting.joined');
});

test('revoking the link sends its guests away at once and the link stops working', { skip }, async () => {
  // Only who made it, or an owner: Bob is a plain member of Alice's group.
  const bobTry = await client(server, p.bob).del(`/conversations/${conv.id}/guest-links/${link.link.id}`);
  assert.equal(bobTry.status, 403, bobTry.text);
  const r = await client(server, p.alice).del(`/conversations/${conv.id}/guest-links/${link.link.id}`);
  assert.equal(r.status, 204, r.text);
  const closed = await guest.closed;
  assert.equal(closed.code, 4403);
  const listed = await client(server, p.alice).ok('GET', `/conversations/${conv.id}/guest-links`);
  assert.deepEqual(listed.links, []);
  const h = await guestSocket();
  assert.equal((await call(h, { type: 'meeting.guest_hello', token: tokenOf(link.url) })).code, 'link_revoked');
  h.ws.terminate();
  const again = await client(server, p.alice).del(`/conversations/${conv.id}/guest-links/${link.link.id}`);
  assert.equal(again.status, 404);
  const records = await audit(server, p.root.token, { action: 'meeting.guest_link_revoke' });
  assert.equal(records.length, 1);
});

test('wrong tokens from one address are cut off after ten', { skip }, async () => {
  const h = await guestSocket();
  const codes = [];
  for (let i = 0; i < 12; i++) {
    const bogus = `${'A'.repeat(21)}${String.fromCharCode(66 + i)}.${'B'.repeat(43)}`;
    codes.push((await call(h, { type: 'meeting.guest_hello', token: bogus })).code);
  }
  // Earlier tests already spent a few of this address's ten; whatever they spent, the refusals
  // come within ten and, once they have, stay.
  const first = codes.indexOf('too_many_attempts');
  assert.ok(first > 0 && first <= 10, codes.join(' '));
  assert.deepEqual(codes.slice(0, first), Array(first).fill('link_unknown'));
  assert.deepEqual(codes.slice(first), Array(12 - first).fill('too_many_attempts'));
  // A real link from the same address is refused too for now: guessing stops, whatever is tried.
  assert.equal((await call(h, { type: 'meeting.guest_hello', token: tokenOf(link.url) })).code, 'too_many_attempts');
  h.ws.terminate();
});
