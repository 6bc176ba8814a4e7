// The video call of a teleconsultation, against a real Janus (signalling on loopback; media is
// tested in Chromium in a network namespace). The patient has no account: their browser opens
// the guest WebSocket /api/v1/visit/events and proves who they are with visit.hello and the
// link's token. The call is open only while the consultation is in call (from the
// practitioner's admit to the end), only to the consultation's own practitioner and the
// holders of its working links; the end takes everyone out of it; every join, allowed or
// refused, is audited; a guest connection never sees an event or a staff frame.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Server, freePort, loginReady, mediaEnv, PASSWORD } from './lib/harness.js';
import { adminSession, waitFor } from './lib/accounts.js';
import { client, openSocket, nextEvent, audit, request, guestSocket as sharedGuestSocket } from './lib/msg.js';
import { sendHl7, siu, PRACTITIONER_IDENT, invitationToken, agendaDay } from './lib/hl7.js';

const haveMedia = fs.existsSync('/usr/bin/janus') && fs.existsSync('/usr/bin/turnserver');
const skip = haveMedia ? false : 'Janus or coturn not installed (scripts/install-deps)';

let server, mllp, doc, other, root;
const sockets = [];
const inTenMinutes = () => Math.ceil((Date.now() + 10 * 60000) / 60000) * 60000;

const linkFor = (bookingId) => invitationToken(server, bookingId);

// A booked teleconsultation whose patient has consented and waits: { token, id }.
async function waitingPatient(bookingId) {
  const start = inTenMinutes();
  const codes = await sendHl7(mllp, [siu({ id: bookingId, control: `C-${bookingId}`, start, family: bookingId })]);
  assert.deepEqual(codes, ['AA']);
  const token = await linkFor(bookingId);
  const visit = (p, body) => server.request('POST', `/api/v1/visit/${token}${p}`, { body });
  assert.equal((await visit('/consent', { accepted: true })).status, 200);
  const r = await visit('/arrive');
  assert.equal(r.status, 200, r.text);
  const agenda = await client(server, doc).ok('GET', `/care/agenda?date=${agendaDay(start)}`);
  return { token, id: agenda.appointments.find((a) => a.patient.family === bookingId).id };
}

// The patient's browser: the guest WebSocket, no cookie, no bearer.
const guestSocket = () => sharedGuestSocket(server, sockets);

async function staffSocket(who) {
  const w = await openSocket(server, who);
  sockets.push(w);
  return w;
}

const call = request;

before(async () => {
  if (skip) return;
  mllp = await freePort();
  server = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}`, ...(await mediaEnv()) } }).start();
  for (const [name, ident] of [['dr.martin', PRACTITIONER_IDENT], ['dr.other', '20009999999']]) {
    const r = server.cli(['user', 'create', name, '--role', 'practitioner', '--ident', ident, '--display', name],
      { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
  }
  doc = await loginReady(server, 'dr.martin');
  other = await loginReady(server, 'dr.other');
  root = await adminSession(server);
  await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
});

after(async () => {
  for (const w of sockets) w.ws.terminate();
  if (!server) return;
  await server.stop();
  server.cleanup();
});

test('a guest connection proves its link first, and sees no event and no staff frame', { skip }, async () => {
  const { token, id } = await waitingPatient('CALL-G');
  const g = await guestSocket();
  // Nothing before visit.hello.
  let m = await call(g, { type: 'meeting.join', consultation: id });
  assert.equal(m.type, 'meeting.error');
  assert.equal(m.code, 'not_allowed');
  // A wrong token: refused (and counted as a guess for the address).
  m = await call(g, { type: 'visit.hello', token: `${token.slice(0, -4)}AAAA` });
  assert.equal(m.code, 'link_unknown');
  m = await call(g, { type: 'visit.hello', token });
  assert.equal(m.type, 'visit.welcome', JSON.stringify(m));
  assert.equal(m.consultation, id);
  assert.equal(m.role, 'patient');
  // The event stream and staff frames are not for guests.
  g.send({ type: 'hello' });
  m = await g.next((x) => x.type === 'error' && !x.id);
  assert.equal(m.code, 'not_allowed');
  m = await call(g, { type: 'typing', conversation: id });
  assert.equal(m.code, 'bad_message');
  // Only a consultation's call, never a conversation's meeting.
  m = await call(g, { type: 'meeting.join', conversation: id });
  assert.equal(m.code, 'conversation_not_found');
  // Not in call yet: the waiting patient cannot start the call on their own.
  m = await call(g, { type: 'meeting.join', consultation: id });
  assert.equal(m.code, 'consultation_not_found');
  // The staff event WebSocket, on the other hand, needs a session.
  const anon = server.ws(null);
  anon.ws.on('error', () => {});
  const refused = await anon.opened.then(() => null, (e) => e);
  assert.match(String(refused), /401/);
});

test('an unbound guest connection is let go', { skip, timeout: 40000 }, async () => {
  const g = await guestSocket();
  const code = await new Promise((resolve) => g.ws.on('close', resolve));
  assert.ok(code !== undefined);
});

test('admitted: the patient and their practitioner are in the call, nobody else; the end takes both out', { skip }, async () => {
  const { token, id } = await waitingPatient('CALL-A');
  const second = await waitingPatient('CALL-B');
  const g = await guestSocket();
  assert.equal((await call(g, { type: 'visit.hello', token })).type, 'visit.welcome');
  const api = client(server, doc);
  await api.ok('POST', `/care/appointments/${id}/admit`);
  // The patient's page is told at once.
  const told = await g.next((x) => x.type === 'visit.updated' && x.state === 'in_call');
  assert.equal(told.state, 'in_call');

  const docWs = await staffSocket(doc);
  const dj = await call(docWs, { type: 'meeting.join', consultation: id });
  assert.equal(dj.type, 'meeting.joined', JSON.stringify(dj));
  assert.equal(dj.consultation, id);
  const pj = await call(g, { type: 'meeting.join', consultation: id });
  assert.equal(pj.type, 'meeting.joined', JSON.stringify(pj));
  assert.equal(pj.room, dj.room);
  assert.ok(pj.ice_servers.length > 0, 'the patient gets TURN credentials too');
  assert.ok(!pj.ice_servers[0].username.includes('CALL-A'), 'no patient name in the TURN user');
  // The practitioner hosts the call; the patient cannot act as host.
  assert.equal(dj.host, true);
  assert.equal(pj.host, false);
  assert.equal(pj.host_feed, dj.feed);
  const notHost = await call(g, { type: 'meeting.remove', room: pj.room, feed: dj.feed });
  assert.equal(notHost.code, 'not_host');
  // The practitioner learns the patient's name from the room.
  const joining = await docWs.next((x) => x.type === 'meeting.participants' && x.joining);
  assert.match(joining.joining.display, /CALL-A/);

  // Another practitioner, a forged room, the other consultation's patient: refused.
  const otherWs = await staffSocket(other);
  let m = await call(otherWs, { type: 'meeting.join', consultation: id });
  assert.equal(m.code, 'consultation_not_found');
  m = await call(otherWs, { type: 'meeting.publish', room: dj.room, jsep: { type: 'offer', sdp: 'v=0\r\n' } });
  assert.equal(m.code, 'not_in_room');
  const g2 = await guestSocket();
  assert.equal((await call(g2, { type: 'visit.hello', token: second.token })).type, 'visit.welcome');
  m = await call(g2, { type: 'meeting.join', consultation: id });
  assert.equal(m.code, 'consultation_not_found');
  m = await call(g2, { type: 'meeting.leave', room: dj.room });
  assert.equal(m.code, 'not_in_room');
  // A conversation's meeting is not reachable through a consultation id, nor the reverse.
  m = await call(otherWs, { type: 'meeting.join', conversation: id });
  assert.equal(m.code, 'conversation_not_found');

  // The end: both are out of the call, and cannot come back.
  await api.ok('POST', `/care/appointments/${id}/end`, { report: { act: 'TC', incidents: 'aucun' } });
  const [l1, l2] = await Promise.all([
    g.next((x) => x.type === 'meeting.left'),
    docWs.next((x) => x.type === 'meeting.left'),
  ]);
  assert.equal(l1.reason, 'ended');
  assert.equal(l2.reason, 'ended');
  await g.next((x) => x.type === 'visit.updated' && x.state === 'done');
  m = await call(g, { type: 'meeting.join', consultation: id });
  assert.equal(m.code, 'consultation_not_found');

  // Every join is in the audit chain, with its outcome; no patient name in it.
  const recs = await audit(server, root.token, { action: 'consultation.join' });
  const mine = recs.filter((r) => r.object === `appointment:${id}`);
  assert.ok(mine.some((r) => r.outcome === 'success' && r.actor_name === 'patient-link'), JSON.stringify(mine));
  assert.ok(mine.some((r) => r.outcome === 'success' && r.actor_id === doc.userId));
  assert.ok(mine.some((r) => r.outcome === 'denied' && r.actor_id === other.userId));
  assert.ok(!JSON.stringify(recs).includes('CALL-'), 'no patient name in the audit records');
});

test('an interpreter with a link of their own joins the call under their label', { skip }, async () => {
  const { token, id } = await waitingPatient('CALL-I');
  const api = client(server, doc);
  const made = await api.ok('POST', `/care/appointments/${id}/links`, { role: 'interpreter', label: 'Interprète en arabe' }, 201);
  const itoken = /\/visit\/(\S+)$/.exec(made.url)[1];
  await api.ok('POST', `/care/appointments/${id}/admit`);
  const docWs = await staffSocket(doc);
  assert.equal((await call(docWs, { type: 'meeting.join', consultation: id })).type, 'meeting.joined');
  const g = await guestSocket();
  const welcome = await call(g, { type: 'visit.hello', token: itoken });
  assert.equal(welcome.role, 'interpreter');
  const joined = await call(g, { type: 'meeting.join', consultation: id });
  assert.equal(joined.type, 'meeting.joined', JSON.stringify(joined));
  const heard = await docWs.next((m) => m.type === 'meeting.participants' && m.joining?.id === joined.feed);
  assert.equal(heard.joining.display, 'Interprète en arabe');
  // The patient joins too: three in the call.
  const p = await guestSocket();
  await call(p, { type: 'visit.hello', token });
  assert.equal((await call(p, { type: 'meeting.join', consultation: id })).type, 'meeting.joined');
});

test('after a restart, a consultation still in call can be joined again', { skip, timeout: 60000 }, async () => {
  const { token, id } = await waitingPatient('CALL-R');
  await client(server, doc).ok('POST', `/care/appointments/${id}/admit`);
  await server.stop();
  await server.start();
  await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
  const g = await guestSocket();
  assert.equal((await call(g, { type: 'visit.hello', token })).type, 'visit.welcome');
  // As a client does while the media server's session comes up: try again shortly.
  const m = await waitFor(async () => {
    const r = await call(g, { type: 'meeting.join', consultation: id });
    return r.code === 'media_unavailable' ? null : r;
  }, { what: 'a join once the media server is reachable', timeout: 30000, interval: 500 });
  assert.equal(m.type, 'meeting.joined', JSON.stringify(m));
  // The practitioner's session outlived the restart too.
  const d = await call(await staffSocket(doc), { type: 'meeting.join', consultation: id });
  assert.equal(d.room, m.room);
});

test('one address cannot hold more than 20 patient WebSockets open', { skip }, async () => {
  // The earlier tests' sockets go first.
  await Promise.all(sockets.splice(0).map((w) => new Promise((r) => {
    if (w.ws.readyState === w.ws.CLOSED) return r();
    w.ws.on('close', r);
    w.ws.close();
  })));
  // (A closed socket is counted out when the server has seen its end: ask again shortly.)
  const openOne = () => waitFor(async () => {
    const w = server.ws(null, { path: '/api/v1/visit/events' });
    w.ws.on('error', () => {});
    return (await w.opened.then(() => w, () => null));
  }, { what: 'a patient WebSocket', timeout: 5000, interval: 100 });
  const opened = [];
  for (let i = 0; i < 20; i++) opened.push(await openOne());
  const extra = server.ws(null, { path: '/api/v1/visit/events' });
  extra.ws.on('error', () => {});
  const refused = await extra.opened.then(() => null, (e) => e);
  assert.match(String(refused), /429/);
  // One closes: the next is let in.
  opened[0].ws.close();
  await new Promise((r) => opened[0].ws.on('close', r));
  sockets.push(await openOne());
  for (const w of opened) w.ws.terminate();
});
