// Meeting signalling against a real Janus (carecommd in embedded mode, media_ip = 127.0.0.1:
// signalling works on loopback, media does not — tests/e2e/meeting_call.test.js covers media in
// a network namespace). Joins over the event WebSocket, per connection (two tabs are two
// participants), and every refusal: not a member, a forged room id, another connection's room,
// a frame with fields of its own, a frame before the join. Then Janus is killed: the
// participants are told to leave, then to rejoin the same room once Janus is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Server, sleep, mediaEnv } from './lib/harness.js';
import { staff, client, createConversation, openSocket, audit, barrier, request } from './lib/msg.js';

const haveMedia = fs.existsSync('/usr/bin/janus') && fs.existsSync('/usr/bin/turnserver');
const skip = haveMedia ? false : 'Janus or coturn not installed (scripts/install-deps)';

let server;
let p;
let conv;
let other;
const sockets = [];

async function until(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function socket(who) {
  const w = await openSocket(server, who);
  sockets.push(w);
  return w;
}

// Sends a meeting frame with a fresh id and waits for the answer carrying that id.
const call = request;

before(async () => {
  if (skip) return;
  server = await new Server({ env: { ...(await mediaEnv()), CARECOMM_CALL_RING_SECONDS: '5' } }).start();
  await until('media ready', async () => (await server.request('GET', '/readyz')).status === 200);
  p = await staff(server, { alice: 'practitioner', bob: 'nurse', eve: 'nurse', root: 'admin' });
  conv = await createConversation(client(server, p.alice), { kind: 'group', members: [p.bob.userId] });
  other = await createConversation(client(server, p.eve), { kind: 'channel', name: 'Eve only', visibility: 'private' });
});

after(async () => {
  for (const w of sockets) w.ws.terminate();
  if (!server) return;
  await server.stop();
  server.cleanup();
});

let alice;
let aliceJoined;

test('a member joins the meeting of a conversation and gets ICE servers', { skip }, async () => {
  alice = await socket(p.alice);
  aliceJoined = await call(alice, { type: 'meeting.join', conversation: conv.id });
  assert.equal(aliceJoined.type, 'meeting.joined', JSON.stringify(aliceJoined));
  assert.match(aliceJoined.room, /^[1-9][0-9]{0,18}$/);
  assert.equal(aliceJoined.conversation, conv.id);
  assert.ok(aliceJoined.feed);
  assert.deepEqual(aliceJoined.publishers, []);
  assert.equal(aliceJoined.ice_servers.length, 1);
  assert.match(aliceJoined.ice_servers[0].username, new RegExp(`^\\d+:${p.alice.userId}$`));
  // Nothing of Janus's own secrets reaches the client.
  const secrets = JSON.parse(fs.readFileSync(path.join(server.dataDir, 'media/secrets.json'), 'utf8'));
  for (const v of Object.values(secrets)) assert.ok(!JSON.stringify(aliceJoined).includes(v));
  const metrics = await server.request('GET', '/metrics');
  assert.match(metrics.text, /^carecomm_meeting_participants 1$/m);
  // A second join on the same connection is refused.
  const again = await call(alice, { type: 'meeting.join', conversation: conv.id });
  assert.equal(again.type, 'meeting.error');
  assert.equal(again.code, 'already_joined');
});

test('two tabs of one person are two participants of the same room', { skip }, async () => {
  const tab1 = await socket(p.bob);
  const tab2 = await socket(p.bob);
  const j1 = await call(tab1, { type: 'meeting.join', conversation: conv.id });
  const j2 = await call(tab2, { type: 'meeting.join', conversation: conv.id });
  assert.equal(j1.type, 'meeting.joined', JSON.stringify(j1));
  assert.equal(j2.type, 'meeting.joined', JSON.stringify(j2));
  assert.equal(j1.room, aliceJoined.room);
  assert.equal(j2.room, aliceJoined.room);
  assert.notEqual(j1.feed, j2.feed);
  // Alice hears them come in (Janus's "joining", with the display name).
  const heard = await alice.next((m) => m.type === 'meeting.participants' && m.joining?.id === j1.feed);
  assert.equal(heard.room, aliceJoined.room);
  assert.equal(heard.joining.display, 'bob'); // the CLI's default display name
  // One tab leaves; the other stays in.
  const left = await call(tab1, { type: 'meeting.leave', room: j1.room });
  assert.equal(left.type, 'meeting.left');
  assert.equal(left.reason, 'left');
  const gone = await call(tab1, { type: 'meeting.leave', room: j1.room });
  assert.equal(gone.code, 'not_in_room');
  const still = await call(tab2, { type: 'meeting.subscribe', room: j2.room, streams: [{ feed: 'nobody' }] });
  assert.equal(still.type, 'meeting.error');
  assert.equal(still.code, 'no_such_feed', JSON.stringify(still));
  // Its socket closes: it leaves the room as well (Janus is told; no frame is left to send).
  await tab2.close();
});

test('a non-member cannot join, and a room id from elsewhere is refused', { skip }, async () => {
  const eve = await socket(p.eve);
  const refused = await call(eve, { type: 'meeting.join', conversation: conv.id });
  assert.equal(refused.type, 'meeting.error');
  assert.equal(refused.request, 'meeting.join');
  assert.equal(refused.code, 'conversation_not_found');
  // The room id she learned (or guessed), without having joined it.
  for (const frame of [
    { type: 'meeting.subscribe', room: aliceJoined.room, streams: [{ feed: aliceJoined.feed }] },
    { type: 'meeting.publish', room: aliceJoined.room, jsep: { type: 'offer', sdp: 'v=0\r\n' } },
    { type: 'meeting.trickle', room: aliceJoined.room, target: 'publisher', candidate: null },
    { type: 'meeting.leave', room: aliceJoined.room },
  ]) {
    const r = await call(eve, frame);
    assert.equal(r.type, 'meeting.error', JSON.stringify(r));
    assert.equal(r.code, 'not_in_room', JSON.stringify(r));
  }
  // In a meeting of her own, the other room is still not hers.
  const mine = await call(eve, { type: 'meeting.join', conversation: other.id });
  assert.equal(mine.type, 'meeting.joined', JSON.stringify(mine));
  assert.notEqual(mine.room, aliceJoined.room);
  const forged = await call(eve, { type: 'meeting.subscribe', room: aliceJoined.room, streams: [{ feed: aliceJoined.feed }] });
  assert.equal(forged.code, 'not_in_room');
  const invented = await call(eve, { type: 'meeting.subscribe', room: '12345', streams: [{ feed: aliceJoined.feed }] });
  assert.equal(invented.code, 'not_in_room');
  // Fields of the client's own never reach Janus: the frame is refused.
  const extra = await call(eve, { type: 'meeting.leave', room: mine.room, pin: '1234' });
  assert.equal(extra.code, 'bad_message');
  assert.match(extra.message, /unknown field 'pin'/);
  const badSdp = await call(eve, { type: 'meeting.publish', room: mine.room, jsep: { type: 'answer', sdp: 'v=0\r\n' } });
  assert.equal(badSdp.code, 'bad_message');
  const leave = await call(eve, { type: 'meeting.leave', room: mine.room });
  assert.equal(leave.type, 'meeting.left');
  // The attempts are in the audit chain; a late frame for her own room after leaving is not.
  const late = await call(eve, { type: 'meeting.leave', room: mine.room });
  assert.equal(late.code, 'not_in_room');
  const denied = async (object) => {
    let records = [];
    for (let i = 0; i < 50 && records.length === 0; i++) {
      records = await audit(server, p.root.token, { action: 'access.denied', object });
      if (!records.length) await sleep(100);
    }
    return records;
  };
  const joinDenied = await denied(`meeting:${conv.id}`);
  assert.equal(joinDenied.length, 1);
  assert.equal(joinDenied[0].actor_id, p.eve.userId);
  assert.ok((await denied(`meeting_room:${aliceJoined.room}`)).length >= 5);
  assert.equal((await denied('meeting_room:12345')).length, 1);
  assert.equal((await audit(server, p.root.token, { action: 'access.denied', object: `meeting_room:${mine.room}` })).length, 0);
});

test('a person removed from the conversation is taken out of its meeting at once', { skip }, async () => {
  const group = await createConversation(client(server, p.alice), { kind: 'group', members: [p.bob.userId, p.eve.userId] });
  const bob = await socket(p.bob);
  const j = await call(bob, { type: 'meeting.join', conversation: group.id });
  assert.equal(j.type, 'meeting.joined', JSON.stringify(j));
  const r = await client(server, p.alice).del(`/conversations/${group.id}/members/${p.bob.userId}`);
  assert.ok(r.status === 200 || r.status === 204, JSON.stringify(r.body));
  const left = await bob.next((m) => m.type === 'meeting.left' && m.room === j.room);
  assert.equal(left.reason, 'removed');
  const after = await call(bob, { type: 'meeting.join', conversation: group.id });
  assert.equal(after.code, 'conversation_not_found');
});

test('the host removes, mutes, locks and ends; nobody else may', { skip }, async () => {
  const group = await createConversation(client(server, p.bob), { kind: 'group', members: [p.alice.userId, p.eve.userId] });
  const [bob, alice2, eve] = [await socket(p.bob), await socket(p.alice), await socket(p.eve)];
  const jb = await call(bob, { type: 'meeting.join', conversation: group.id });
  assert.equal(jb.host, true, 'who opens the meeting hosts it');
  const ja = await call(alice2, { type: 'meeting.join', conversation: group.id });
  assert.equal(ja.host, false);
  const je = await call(eve, { type: 'meeting.join', conversation: group.id });
  // Everyone is told who hosts.
  assert.equal(ja.host_feed, jb.feed);
  assert.equal(je.host_feed, jb.feed);

  // Not the host: refused.
  let r = await call(alice2, { type: 'meeting.remove', room: ja.room, feed: je.feed });
  assert.equal(r.code, 'not_host');
  // A feed that is not in this meeting, or one's own: refused.
  r = await call(bob, { type: 'meeting.remove', room: jb.room, feed: 'nobody' });
  assert.equal(r.code, 'no_such_feed');
  // Mute: the participant's client is asked to.
  r = await call(bob, { type: 'meeting.mute', room: jb.room, feed: ja.feed });
  assert.equal(r.type, 'meeting.done');
  const muted = await alice2.next((m) => m.type === 'meeting.muted');
  assert.equal(muted.room, ja.room);
  // Remove: out of the room (its Janus participant kicked), told why.
  r = await call(bob, { type: 'meeting.remove', room: jb.room, feed: je.feed });
  assert.equal(r.type, 'meeting.done', JSON.stringify(r));
  const out = await eve.next((m) => m.type === 'meeting.left');
  assert.equal(out.reason, 'removed_by_host');
  r = await call(eve, { type: 'meeting.publish', room: je.room, jsep: { type: 'offer', sdp: 'v=0\r\n' } });
  assert.equal(r.code, 'not_in_room');
  // Lock: she cannot come back; unlocked, she can.
  r = await call(bob, { type: 'meeting.lock', room: jb.room, locked: true });
  assert.equal(r.type, 'meeting.done');
  assert.equal((await alice2.next((m) => m.type === 'meeting.locked')).locked, true);
  r = await call(eve, { type: 'meeting.join', conversation: group.id });
  assert.equal(r.code, 'meeting_locked');
  await call(bob, { type: 'meeting.lock', room: jb.room, locked: false });
  const je2 = await call(eve, { type: 'meeting.join', conversation: group.id });
  assert.equal(je2.type, 'meeting.joined', JSON.stringify(je2));
  // A layer of simulcast needs a receiving connection first; a malformed one is refused.
  let layer = await call(alice2, { type: 'meeting.layer', room: ja.room, streams: [{ mid: '1', substream: 0 }] });
  assert.equal(layer.code, 'not_subscribed');
  layer = await call(alice2, { type: 'meeting.layer', room: ja.room, streams: [{ mid: '1', substream: 3 }] });
  assert.equal(layer.code, 'bad_message');
  // Anyone raises a hand; everyone in the meeting sees whose.
  alice2.send({ type: 'meeting.hand', room: ja.room, raised: true });
  const hand = await eve.next((m) => m.type === 'meeting.hand');
  assert.equal(hand.feed, ja.feed);
  assert.equal(hand.raised, true);
  // Class mode: only the host and those they let present may send.
  r = await call(alice2, { type: 'meeting.mode', room: ja.room, mode: 'class' });
  assert.equal(r.code, 'not_host');
  r = await call(bob, { type: 'meeting.mode', room: jb.room, mode: 'class' });
  assert.equal(r.type, 'meeting.done');
  assert.equal((await eve.next((m) => m.type === 'meeting.mode')).mode, 'class');
  const offer = { type: 'offer', sdp: 'v=0\r\n' };
  r = await call(eve, { type: 'meeting.publish', room: je.room, jsep: offer });
  assert.equal(r.code, 'not_presenter');
  r = await call(bob, { type: 'meeting.presenter', room: jb.room, feed: je2.feed, on: true });
  assert.equal(r.type, 'meeting.done');
  assert.equal((await eve.next((m) => m.type === 'meeting.presenter')).on, true);
  r = await call(eve, { type: 'meeting.publish', room: je.room, jsep: offer });
  assert.notEqual(r.code, 'not_presenter', 'a presenter may send (this offer is no real SDP: Janus refuses it)');
  await call(bob, { type: 'meeting.mode', room: jb.room, mode: 'meeting' });
  // The host leaves: the one there longest hosts now.
  await call(bob, { type: 'meeting.leave', room: jb.room });
  const next = await alice2.next((m) => m.type === 'meeting.host' && m.feed === ja.feed);
  assert.equal(next.room, ja.room);
  // End: everyone out.
  r = await call(alice2, { type: 'meeting.end', room: ja.room });
  assert.equal(r.type, 'meeting.done');
  const ended = await eve.next((m) => m.type === 'meeting.left' && m.reason === 'ended');
  assert.equal(ended.room, ja.room);
  assert.equal((await alice2.next((m) => m.type === 'meeting.left' && m.reason === 'ended')).room, ja.room);
});

test('the host caps this room: people (the next join is refused) and bitrate (told to everyone)', { skip }, async () => {
  const group = await createConversation(client(server, p.bob), { kind: 'group', members: [p.alice.userId, p.eve.userId] });
  const [bob, alice2, eve] = [await socket(p.bob), await socket(p.alice), await socket(p.eve)];
  const jb = await call(bob, { type: 'meeting.join', conversation: group.id });
  // The node's defaults until the host says otherwise.
  assert.equal(jb.max_participants, 100);
  assert.equal(jb.bitrate, 1024000);
  assert.equal(jb.max_participants_allowed, 100);
  const ja = await call(alice2, { type: 'meeting.join', conversation: group.id });
  let r = await call(alice2, { type: 'meeting.limits', room: ja.room, max_participants: 2 });
  assert.equal(r.code, 'not_host');
  r = await call(bob, { type: 'meeting.limits', room: jb.room, max_participants: 1 });
  assert.equal(r.code, 'bad_message');
  r = await call(bob, { type: 'meeting.limits', room: jb.room });
  assert.equal(r.code, 'bad_message');
  r = await call(bob, { type: 'meeting.limits', room: jb.room, max_participants: 101 });
  assert.equal(r.code, 'invalid_limits', 'never above the server\'s own limit');
  r = await call(bob, { type: 'meeting.limits', room: jb.room, max_participants: 2, bitrate: 256000 });
  assert.equal(r.type, 'meeting.done', JSON.stringify(r));
  const told = await alice2.next((m) => m.type === 'meeting.limits');
  assert.deepEqual({ n: told.max_participants, b: told.bitrate, most: told.max_participants_allowed }, { n: 2, b: 256000, most: 100 });
  // Two are in: the third is refused, and nobody already in is sent away.
  r = await call(eve, { type: 'meeting.join', conversation: group.id });
  assert.equal(r.code, 'meeting_full');
  // Raised again, the third comes in and is told the room's caps.
  await call(bob, { type: 'meeting.limits', room: jb.room, max_participants: 3 });
  const je = await call(eve, { type: 'meeting.join', conversation: group.id });
  assert.equal(je.type, 'meeting.joined', JSON.stringify(je));
  assert.deepEqual({ n: je.max_participants, b: je.bitrate }, { n: 3, b: 256000 });
  // The caps end with the meeting: the next one in this conversation has the defaults.
  for (const [w, j] of [[bob, jb], [alice2, ja], [eve, je]]) await call(w, { type: 'meeting.leave', room: j.room });
  const again = await call(bob, { type: 'meeting.join', conversation: group.id });
  assert.deepEqual({ n: again.max_participants, b: again.bitrate }, { n: 100, b: 1024000 });
  await call(bob, { type: 'meeting.leave', room: again.room });
});

test('a call rings the others of the conversation; accepted, it stops ringing everywhere', { skip }, async () => {
  const caller = await socket(p.alice);
  const [bobPhone, bobDesk, eve] = [await socket(p.bob), await socket(p.bob), await socket(p.eve)];
  const r = await call(caller, { type: 'call.ring', conversation: conv.id });
  assert.equal(r.type, 'call.ringing', JSON.stringify(r));
  // Ringing again is the same call (no flood of calls, nor of missed-call messages).
  assert.equal((await call(caller, { type: 'call.ring', conversation: conv.id })).call, r.call);
  const [i1, i2] = await Promise.all([bobPhone, bobDesk].map((w) => w.next((m) => m.type === 'call.incoming')));
  assert.equal(i1.call, r.call);
  assert.equal(i2.conversation, conv.id);
  assert.equal(i1.from.user_id, p.alice.userId);
  // Not a member: nothing rings; nobody else may cancel.
  await barrier(eve);
  assert.ok(!eve.messages.some((m) => m.type === 'call.incoming'));
  const wrong = await call(bobPhone, { type: 'call.cancel', call: r.call });
  assert.equal(wrong.code, 'not_allowed');
  bobDesk.send({ type: 'call.accept', call: r.call });
  const accepted = await caller.next((m) => m.type === 'call.accepted');
  assert.equal(accepted.by.user_id, p.bob.userId);
  const ended = await bobPhone.next((m) => m.type === 'call.ended' && m.call === r.call);
  assert.equal(ended.reason, 'answered');
  // The caller hangs up: the ring is over; a late answer is told so, and no missed call is left
  // for a call that was answered (the next test counts them).
  caller.send({ type: 'call.cancel', call: r.call });
  await barrier(caller);
  const late = await call(bobPhone, { type: 'call.accept', call: r.call });
  assert.equal(late.code, 'call_over');
  const outsider = await call(eve, { type: 'call.ring', conversation: conv.id });
  assert.equal(outsider.code, 'conversation_not_found');
});

test('declined, then unanswered: the caller is told, and a missed call is left in the conversation', { skip, timeout: 30000 }, async () => {
  const caller = await socket(p.alice);
  const bob = await socket(p.bob);
  const r = await call(caller, { type: 'call.ring', conversation: conv.id });
  const incoming = await bob.next((m) => m.type === 'call.incoming' && m.call === r.call);
  bob.send({ type: 'call.decline', call: incoming.call });
  assert.equal((await caller.next((m) => m.type === 'call.declined')).by.user_id, p.bob.userId);
  assert.equal((await bob.next((m) => m.type === 'call.ended' && m.call === r.call)).reason, 'declined');
  const gone = await caller.next((m) => m.type === 'call.ended' && m.call === r.call, 15000);
  assert.equal(gone.reason, 'no_answer');
  const missed = await bob.next((m) => m.type === 'event' && m.event === 'message.created' && /Appel manqué/.test(m.data.body), 10000);
  assert.equal(missed.data.author_id, p.alice.userId);
  // The caller hangs up first: the same.
  const r2 = await call(caller, { type: 'call.ring', conversation: conv.id });
  await bob.next((m) => m.type === 'call.incoming' && m.call === r2.call);
  caller.send({ type: 'call.cancel', call: r2.call });
  assert.equal((await bob.next((m) => m.type === 'call.ended' && m.call === r2.call)).reason, 'cancelled');
  const history = await client(server, p.bob).ok('GET', `/conversations/${conv.id}/messages`);
  assert.equal(history.messages.filter((m) => /Appel manqué/.test(m.body)).length, 2);
});

test('Janus killed: participants are told to leave, then to rejoin the same room', { skip }, async () => {
  const pid = Number(fs.readFileSync(path.join(server.dataDir, 'media/janus.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  const left = await alice.next((m) => m.type === 'meeting.left' && m.reason === 'media_restarting', 15000);
  assert.equal(left.room, aliceJoined.room);
  const rejoin = await alice.next((m) => m.type === 'meeting.rejoin', 30000);
  assert.equal(rejoin.room, aliceJoined.room);
  assert.equal(rejoin.conversation, conv.id);
  const again = await call(alice, { type: 'meeting.join', conversation: conv.id });
  assert.equal(again.type, 'meeting.joined', JSON.stringify(again));
  assert.equal(again.room, aliceJoined.room);
  assert.match(server.logs, /"msg":"meetings: Janus session lost; participants will rejoin"/);
});
