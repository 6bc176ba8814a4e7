// A teleconsultation day, from both sides: the patient opens the link from the invitation (no
// account), consents, enters the waiting room; the practitioner is told at once, sees the patient
// waiting in the agenda, admits, ends with a report. A link never opens another consultation,
// stops working when its consultation is cancelled or marked no-show, and guessing is refused
// then audited.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Server, freePort, loginReady, PASSWORD } from './lib/harness.js';
import { adminSession, waitFor } from './lib/accounts.js';
import { client, openSocket, nextEvent, audit, barrier } from './lib/msg.js';
import { sendHl7, siu, PRACTITIONER_IDENT, invitationToken, agendaDay } from './lib/hl7.js';

let server, mllp, doc, other, sec, root;
const inTenMinutes = () => Math.ceil((Date.now() + 10 * 60000) / 60000) * 60000;

const linkFor = (bookingId) => invitationToken(server, bookingId);
const startOf = new Map(); // booking id -> its start (ms)

// The agenda of the day a booking starts on: ten minutes ahead may be tomorrow already.
const agendaOf = (who, bookingId) => client(server, who).ok('GET', `/care/agenda?date=${agendaDay(startOf.get(bookingId))}`);

// The patient's browser: no token, no cookie.
const visit = (token, method = 'GET', p = '', body) =>
  server.request(method, `/api/v1/visit/${token}${p}`, body === undefined ? {} : { body });

async function book(id, opts = {}) {
  // The family name carries the booking id, so that its invitation can be found.
  const start = inTenMinutes();
  startOf.set(id, start);
  const codes = await sendHl7(mllp, [siu({ id, control: `C-${id}`, start, family: id, ...opts })]);
  assert.deepEqual(codes, ['AA']);
  return linkFor(id);
}

before(async () => {
  mllp = await freePort();
  server = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}` } }).start();
  for (const [name, ident] of [['dr.martin', PRACTITIONER_IDENT], ['dr.other', '20009999999']]) {
    const r = server.cli(['user', 'create', name, '--role', 'practitioner', '--ident', ident, '--display', name],
      { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
  }
  const mk = server.cli(['user', 'create', 'sec', '--role', 'secretary'], { input: `${PASSWORD}\n` });
  assert.equal(mk.code, 0, mk.stderr);
  doc = { ...(await loginReady(server, 'dr.martin')), name: 'dr.martin' };
  other = { ...(await loginReady(server, 'dr.other')), name: 'dr.other' };
  sec = { ...(await loginReady(server, 'sec')), name: 'sec' };
  root = await adminSession(server);
});

after(async () => {
  await server.stop();
  server.cleanup();
});

test('the patient opens the link, consents, waits; the practitioner is told, admits and ends', async () => {
  const token = await book('RDV-A');
  const docEvents = await openSocket(server, doc);
  const otherEvents = await openSocket(server, other);
  const secEvents = await openSocket(server, sec);

  let r = await visit(token);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.link, 'open');
  assert.equal(r.body.consultation, 'scheduled');
  assert.equal(r.body.consent, false);
  assert.equal(r.body.practitioner, 'dr.martin');
  assert.equal(r.body.patient_given, 'Jeanne');
  assert.ok(!('patient_family' in r.body) && !JSON.stringify(r.body).includes('2850675'), 'no identity data beyond the greeting');

  r = await visit(token, 'POST', '/arrive');
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'consent_required');
  r = await visit(token, 'POST', '/consent', { accepted: false });
  assert.equal(r.status, 400);
  r = await visit(token, 'POST', '/consent', { accepted: true });
  assert.equal(r.status, 200);
  assert.equal(r.body.consent, true);

  r = await visit(token, 'POST', '/arrive');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.consultation, 'waiting');
  const since = r.body.waiting_since;
  assert.ok(Math.abs(since - Date.now()) < 60000);
  const told = await nextEvent(docEvents, 'appointment.updated', (d) => d.state === 'waiting');
  assert.equal(told.data.waiting_since, since);
  // The secretariat is told too; another practitioner never hears of this patient.
  await nextEvent(secEvents, 'appointment.updated', (d) => d.state === 'waiting' && d.patient.family === 'RDV-A');
  await barrier(otherEvents);
  assert.ok(!JSON.stringify(otherEvents.messages).includes('RDV-A'), 'no other practitioner\'s patients in the stream');
  // A reload does not reset the waiting time.
  assert.equal((await visit(token, 'POST', '/arrive')).body.waiting_since, since);
  // The waiting room's questions (poll=1) are not each a new opening in the audit trail.
  const opensBefore = (await audit(server, root.token, { action: 'visit.open' })).length;
  for (let i = 0; i < 3; i++) assert.equal((await visit(token, 'GET', '?poll=1')).status, 200);
  assert.equal((await audit(server, root.token, { action: 'visit.open' })).length, opensBefore);

  const api = client(server, doc);
  const agenda = await agendaOf(doc, 'RDV-A');
  const mine = agenda.appointments.find((a) => a.patient.family === 'RDV-A');
  assert.equal(mine.state, 'waiting');
  assert.equal(mine.waiting_since, since);
  assert.equal(mine.consent, true);
  // Another practitioner sees none of it and cannot act on it; the secretary sees it.
  const theirs = await agendaOf(other, 'RDV-A');
  assert.ok(!theirs.appointments.some((a) => a.id === mine.id));
  const forbidden = await client(server, other).post(`/care/appointments/${mine.id}/admit`);
  assert.equal(forbidden.status, 403);
  const secView = await agendaOf(sec, 'RDV-A');
  assert.ok(secView.appointments.some((a) => a.id === mine.id));
  assert.equal((await client(server, sec).post(`/care/appointments/${mine.id}/admit`)).status, 403);

  await api.ok('POST', `/care/appointments/${mine.id}/admit`);
  assert.equal((await visit(token)).body.consultation, 'in_call');
  const bad = await api.post(`/care/appointments/${mine.id}/end`, { report: { incidents: 'none' } });
  assert.equal(bad.status, 400, 'the act is required');
  await api.ok('POST', `/care/appointments/${mine.id}/end`, { report: { act: 'TC', incidents: 'image figée 20 s' } });
  const done = (await agendaOf(doc, 'RDV-A')).appointments.find((a) => a.id === mine.id);
  assert.equal(done.state, 'done');
  assert.equal(done.status, 'fulfilled');
  assert.ok(done.admitted_at <= done.ended_at);

  const trail = await audit(server, root.token, { object: `appointment:${mine.id}` });
  const actions = trail.map((x) => x.action);
  for (const a of ['appointment.create', 'visit.open', 'visit.consent', 'visit.arrive', 'care.admit', 'care.end']) {
    assert.ok(actions.includes(a), `${a} is audited`);
  }
  await docEvents.close();
});

test('a link opens its own consultation only, and none once cancelled or marked no-show', async () => {
  const a = await book('RDV-B');
  const b = await book('RDV-C');
  assert.notEqual(a, b);
  const ra = await visit(a), rb = await visit(b);
  assert.equal(ra.body.consultation, 'scheduled');
  // Mixing the parts of two links opens neither.
  const mixed = `${a.split('.')[0]}.${b.split('.')[1]}`;
  assert.equal((await visit(mixed)).status, 404);

  assert.deepEqual(await sendHl7(mllp, [siu({ event: 'S15', id: 'RDV-C', control: 'C-RDV-C-cancel', start: startOf.get('RDV-C'), family: 'RDV-C' })]), ['AA']);
  await waitFor(async () => (await visit(b)).status === 410, { what: 'the cancelled link refused' });
  const refused = await visit(b);
  assert.equal(refused.body.error.code, 'link_revoked');
  assert.equal((await visit(a)).status, 200, 'the other consultation is untouched');
  assert.equal(rb.status, 200);

  const agenda = await agendaOf(sec, 'RDV-B');
  const rdvB = agenda.appointments.find((x) => x.patient.family === 'RDV-B');
  await client(server, sec).ok('POST', `/care/appointments/${rdvB.id}/noshow`);
  assert.equal((await visit(a)).status, 410);
});

test('a secretary sends the invitation again: the same link', async () => {
  const token = await book('RDV-D');
  const agenda = await agendaOf(sec, 'RDV-D');
  const d = agenda.appointments.find((x) => x.patient.family === 'RDV-D');
  const dir = path.join(server.dataDir, 'outbox');
  const count = () => fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes('RDV-D')).length;
  const before = count();
  await client(server, sec).ok('POST', `/care/appointments/${d.id}/resend`);
  await waitFor(() => count() === before + 1, { what: 'the second invitation' });
  const all = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).filter((x) => x.includes('RDV-D'));
  assert.ok(all.every((x) => x.includes(`/visit/${token}`)));
});

test('the practitioner or the secretariat leaves a word for the waiting patient', async () => {
  const token = await book('RDV-N');
  const d = (await agendaOf(doc, 'RDV-N')).appointments.find((x) => x.patient.family === 'RDV-N');
  assert.equal((await visit(token)).body.notice, undefined);
  const text = 'Je prends 15 minutes de retard, merci de patienter.';
  await client(server, doc).ok('POST', `/care/appointments/${d.id}/notice`, { text });
  let seen = (await visit(token)).body;
  assert.equal(seen.notice.text, text);
  assert.ok(Math.abs(seen.notice.at - Date.now()) < 60000);
  // The secretary may replace it; another practitioner may not; bad text changes nothing.
  await client(server, sec).ok('POST', `/care/appointments/${d.id}/notice`, { text: 'Le docteur arrive.' });
  assert.equal((await client(server, other).post(`/care/appointments/${d.id}/notice`, { text: 'x' })).status, 403);
  assert.equal((await client(server, doc).post(`/care/appointments/${d.id}/notice`, { text: '' })).status, 400);
  assert.equal((await client(server, doc).post(`/care/appointments/${d.id}/notice`, { text: 'x'.repeat(501) })).status, 400);
  assert.equal((await client(server, doc).post(`/care/appointments/${d.id}/notice`, { text: 'a\u0007b' })).status, 400);
  seen = (await visit(token)).body;
  assert.equal(seen.notice.text, 'Le docteur arrive.');
  const agenda = (await agendaOf(doc, 'RDV-N')).appointments.find((x) => x.id === d.id);
  assert.equal(agenda.notice_at, seen.notice.at);
  // Once the consultation has started there is nothing to wait for.
  assert.equal((await visit(token, 'POST', '/consent', { accepted: true })).status, 200);
  assert.equal((await visit(token, 'POST', '/arrive')).status, 200);
  await client(server, doc).ok('POST', `/care/appointments/${d.id}/admit`);
  assert.equal((await client(server, doc).post(`/care/appointments/${d.id}/notice`, { text: 'x' })).status, 409);
  // Audited, without the words.
  const trail = await audit(server, root.token, { action: 'care.notice' });
  assert.equal(trail.length, 2);
  assert.ok(!JSON.stringify(trail).includes('retard') && !JSON.stringify(trail).includes('arrive'));
});

test('a relative and an interpreter get links of their own; only the patient consents', async () => {
  const patientLink = await book('RDV-G');
  const d = (await agendaOf(doc, 'RDV-G')).appointments.find((x) => x.patient.family === 'RDV-G');
  const made = await client(server, doc).ok('POST', `/care/appointments/${d.id}/links`, { role: 'interpreter', label: 'Interprète en arabe' }, 201);
  assert.equal(made.role, 'interpreter');
  const token = /\/visit\/(\S+)$/.exec(made.url)[1];
  assert.notEqual(token, patientLink);
  const seen = await visit(token);
  assert.equal(seen.status, 200);
  assert.equal(seen.body.role, 'interpreter');
  assert.equal((await visit(token, 'POST', '/consent', { accepted: true })).status, 403);
  assert.equal((await visit(token, 'POST', '/arrive')).status, 200, 'waits without consenting');
  assert.equal((await visit(patientLink)).body.consultation, 'scheduled', 'the patient has not arrived');
  // Not another practitioner's to give; a secretary may; a made-up role is refused.
  assert.equal((await client(server, other).post(`/care/appointments/${d.id}/links`, { role: 'relative', label: 'x' })).status, 403);
  assert.equal((await client(server, other).post(`/care/appointments/${d.id}/noshow`)).status, 403, 'nor a no-show');
  assert.equal((await client(server, other).post(`/care/appointments/${d.id}/resend`)).status, 403, 'nor a resend');
  await client(server, sec).ok('POST', `/care/appointments/${d.id}/links`, { role: 'relative', label: 'Sa fille' }, 201);
  assert.equal((await client(server, doc).post(`/care/appointments/${d.id}/links`, { role: 'doctor', label: 'x' })).status, 400);
  // Cancelled: every link of the consultation stops.
  assert.deepEqual(await sendHl7(mllp, [siu({ event: 'S15', id: 'RDV-G', control: 'C-RDV-G-cancel', start: startOf.get('RDV-G'), family: 'RDV-G' })]), ['AA']);
  await waitFor(async () => (await visit(token)).status === 410, { what: 'the interpreter link refused' });
  const trail = await audit(server, root.token, { action: 'care.link.add' });
  assert.equal(trail.length, 2);
  assert.ok(!JSON.stringify(trail).includes('arabe'), 'no label in the audit details');
});

test('guessing links is slowed down, then refused, and audited with the address', async () => {
  const guess = () => `${'A'.repeat(22)}.${Math.random().toString(36).slice(2).padEnd(43, 'x').slice(0, 43)}`;
  // (The mixed link above was this address's first wrong one.)
  let wrong = 0, blocked;
  for (;;) {
    blocked = await visit(guess());
    if (blocked.status !== 404 || wrong === 20) break;
    wrong++;
  }
  assert.equal(blocked.status, 429);
  assert.ok(wrong <= 10, `refused after ${wrong} wrong links`);
  assert.equal(blocked.body.error.code, 'too_many_attempts');
  const denied = await audit(server, root.token, { action: 'visit.denied' });
  assert.ok(denied.length >= 10);
  assert.equal(denied[0].source_ip, '127.0.0.1');
  assert.equal(denied[0].outcome, 'denied');
});
