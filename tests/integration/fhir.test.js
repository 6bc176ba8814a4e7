// FHIR R4 Appointment as a booking system uses it: an independent client from npm
// (fhir-kit-client) books, reads, searches and cancels; every resource carecomm returns passes
// FHIR.js validation (npm fhir) and the FHIRPath invariants of Appointment (npm fhirpath), which
// JSON-schema validators miss. A booking made over HL7 is the same consultation over FHIR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4/index.js';
import FhirModule from 'fhir';
import { Server, freePort, loginReady, PASSWORD } from './lib/harness.js';
import { audit } from './lib/msg.js';
import { adminSession, waitFor } from './lib/accounts.js';
import { sendHl7, siu, PRACTITIONER_IDENT } from './lib/hl7.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const Fhir = FhirModule.Fhir || FhirModule;
const validator = new Fhir();
const VS = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService';

let server, mllp, sec, doc, root, base;

function fhirClient(op, args = {}, token = sec.token) {
  const r = spawnSync(process.execPath, [path.join(here, 'lib/fhir-peer.mjs'), base, token, op, JSON.stringify(args)], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(server.dataDir, 'tls/dev-cert.pem') },
    encoding: 'utf8',
    timeout: 20000,
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

// What a FHIR server must give: a valid resource, and Appointment's invariants.
function assertValidAppointment(res) {
  const v = validator.validate(res);
  assert.ok(v.valid, JSON.stringify(v.messages));
  const inv = (expr) => fhirpath.evaluate(res, expr, { resource: res }, r4)[0];
  assert.equal(inv('(start.exists() = end.exists())'), true, 'app-2');
  assert.equal(inv("(start.exists() and end.exists()) or (status in ('proposed' | 'cancelled' | 'waitlist'))"), true, 'app-3');
  assert.equal(inv('participant.all(type.exists() or actor.exists())'), true, 'app-1');
  assert.equal(inv("contained.all(('#' + id) in %resource.descendants().reference)"), true, 'dom-3: contained is referenced');
}

const booking = (over = {}) => ({
  resourceType: 'Appointment',
  status: 'booked',
  identifier: [{ system: 'https://rdv.chu-nord.example/appointments', value: 'WEB-1001' }],
  appointmentType: { coding: [{ system: 'urn:carecomm:appointment-type', code: 'TLC' }] },
  start: '2026-12-03T14:00:00+01:00',
  end: '2026-12-03T14:20:00+01:00',
  contained: [{
    resourceType: 'Patient', id: 'pat',
    identifier: [{ system: 'urn:oid:1.2.250.1.213.1.4.8', value: '185067512345645' }],
    name: [{ family: 'MOREAU', given: ['Louise'] }],
    birthDate: '1985-06-14',
    telecom: [{ system: 'email', value: 'louise.moreau@example.org' }, { system: 'phone', value: '+33612345678', use: 'mobile' }],
  }],
  participant: [
    { actor: { reference: '#pat' }, status: 'accepted' },
    { actor: { reference: `Practitioner/${doc.userId}` }, status: 'accepted' },
  ],
  ...over,
});

before(async () => {
  mllp = await freePort();
  server = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}` } }).start();
  base = `https://localhost:${server.port}/fhir/R4`;
  const r = server.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', PRACTITIONER_IDENT], { input: `${PASSWORD}\n` });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(server.cli(['user', 'create', 'sec', '--role', 'secretary'], { input: `${PASSWORD}\n` }).code, 0);
  doc = await loginReady(server, 'dr.martin');
  sec = await loginReady(server, 'sec');
  root = await adminSession(server);
});

after(async () => {
  await server.stop();
  server.cleanup();
});

test('the CapabilityStatement says what is served', () => {
  const r = fhirClient('capabilities');
  assert.ok(r.ok, JSON.stringify(r));
  const cs = r.result;
  assert.equal(cs.resourceType, 'CapabilityStatement');
  assert.equal(cs.fhirVersion, '4.0.1');
  assert.ok(validator.validate(cs).valid, JSON.stringify(validator.validate(cs).messages));
  const appt = cs.rest[0].resource.find((x) => x.type === 'Appointment');
  assert.deepEqual(appt.interaction.map((i) => i.code).sort(), ['create', 'read', 'search-type', 'update']);
  assert.deepEqual(appt.searchParam.map((p) => p.name).sort(), ['date', 'identifier', 'patient', 'practitioner', 'status']);
});

test('book, read, search, cancel with fhir-kit-client; the link stops working', async () => {
  const created = fhirClient('create', { body: booking() });
  assert.ok(created.ok, JSON.stringify(created));
  const appt = created.result;
  assertValidAppointment(appt);
  assert.equal(appt.status, 'booked');
  assert.equal(appt.start, '2026-12-03T13:00:00Z');
  assert.equal(appt.end, '2026-12-03T13:20:00Z');
  const vs = appt.extension.find((e) => e.url === VS);
  const link = vs.extension.find((e) => e.url === 'addressUrl').valueUrl;
  assert.match(link, /^https:\/\/.*\/visit\/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(appt.contained[0].name[0].family, 'MOREAU');

  const read = fhirClient('read', { id: appt.id });
  assert.ok(read.ok);
  assert.deepEqual(read.result, appt);

  for (const params of [
    { identifier: 'WEB-1001' },
    { identifier: 'https://rdv.chu-nord.example/appointments|WEB-1001' },
    { practitioner: `Practitioner/${doc.userId}`, date: '2026-12-03' },
    { patient: '185067512345645' },
    { status: 'booked,pending', date: ['ge2026-12-01', 'lt2026-12-04'] },
  ]) {
    const found = fhirClient('search', { params });
    assert.ok(found.ok, JSON.stringify(found));
    assert.equal(found.result.resourceType, 'Bundle');
    assert.ok(validator.validate(found.result).valid);
    assert.deepEqual(found.result.entry.map((e) => e.resource.id), [appt.id], JSON.stringify(params));
  }
  const none = fhirClient('search', { params: { identifier: 'WEB-9999' } });
  assert.equal(none.result.total, 0);

  const token = link.split('/visit/')[1];
  assert.equal((await server.request('GET', `/api/v1/visit/${token}`)).status, 200);
  const cancelled = fhirClient('update', { id: appt.id, body: { ...appt, status: 'cancelled' } });
  assert.ok(cancelled.ok, JSON.stringify(cancelled));
  assertValidAppointment(cancelled.result);
  assert.equal(cancelled.result.status, 'cancelled');
  assert.ok(!cancelled.result.extension[0].extension.some((e) => e.url === 'addressUrl'), 'no link once cancelled');
  assert.equal((await server.request('GET', `/api/v1/visit/${token}`)).status, 410);

  const trail = await audit(server, root.token, { object: `appointment:${appt.id}` });
  assert.ok(trail.some((x) => x.action === 'fhir.read'));
});

test('a booking made over HL7 is the same consultation over FHIR', async () => {
  const start = Date.parse('2026-12-04T08:00:00Z');
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-H1', control: 'H1', start })]), ['AA']);
  const found = fhirClient('search', { params: { identifier: 'RDV-H1' } });
  assert.equal(found.result.total, 1);
  const appt = found.result.entry[0].resource;
  assertValidAppointment(appt);
  assert.equal(appt.identifier[0].system, 'urn:carecomm:placer:AGENDA');
  assert.equal(appt.identifier[0].type.coding[0].code, 'PLAC');
  assert.equal(appt.start, '2026-12-04T08:00:00Z');
  // Rescheduled over FHIR: the HL7 booking's appointment moves (one consultation, one link).
  const moved = fhirClient('update', { id: appt.id, body: { ...appt, start: '2026-12-04T09:00:00Z', end: '2026-12-04T09:30:00Z' } });
  assert.ok(moved.ok, JSON.stringify(moved));
  assert.equal(moved.result.id, appt.id);
  assert.equal(moved.result.start, '2026-12-04T09:00:00Z');
  assert.equal(fhirClient('search', { params: { identifier: 'RDV-H1' } }).result.total, 1);
});

test('errors are OperationOutcomes that say where', () => {
  const noStatus = fhirClient('create', { body: booking({ status: undefined, identifier: [{ system: 'x:y', value: 'E1' }] }) });
  assert.equal(noStatus.status, 400);
  assert.equal(noStatus.outcome.resourceType, 'OperationOutcome');
  assert.deepEqual(noStatus.outcome.issue[0].expression, ['Appointment.status']);
  assert.ok(validator.validate(noStatus.outcome).valid);

  const badTime = fhirClient('create', { body: booking({ start: '2026-12-03T14:00:00', identifier: [{ system: 'x:y', value: 'E2' }] }) });
  assert.equal(badTime.status, 400);
  assert.deepEqual(badTime.outcome.issue[0].expression, ['Appointment.start']);

  const nobody = fhirClient('create', { body: booking({ identifier: [{ system: 'x:y', value: 'E3' }], participant: [{ actor: { reference: '#pat' }, status: 'accepted' }, { actor: { reference: 'Practitioner/00000000000000000000000000' }, status: 'accepted' }] }) });
  assert.equal(nobody.status, 422);
  assert.equal(nobody.outcome.issue[0].code, 'business-rule');

  const missing = fhirClient('read', { id: '00000000000000000000000000' });
  assert.equal(missing.status, 404);
  assert.equal(missing.outcome.resourceType, 'OperationOutcome');
  assert.equal(fhirClient('search', { params: { identifier: 'E1' } }).result.total, 0, 'nothing created');
});

test('FHIR needs a session with patient.read; only the secretariat books', () => {
  const r = fhirClient('search', { params: { identifier: 'WEB-1001' } }, 'not-a-token');
  assert.equal(r.status, 401);
  const read = fhirClient('search', { params: { identifier: 'WEB-1001' } }, doc.token);
  assert.ok(read.ok, 'a practitioner reads');
  const book = fhirClient('create', { body: booking({ identifier: [{ system: 'x:y', value: 'DOC-1' }] }) }, doc.token);
  assert.equal(book.status, 403);
  assert.equal(book.outcome.resourceType, 'OperationOutcome');
});

test('a booking system has an account of its own: a token from the shell, FHIR only, revocable', async () => {
  assert.equal(server.cli(['user', 'create', 'doctolib', '--role', 'booking_system']).code, 0, 'no password asked');
  // Tokens are for system accounts only.
  assert.notEqual(server.cli(['user', 'token', 'sec']).code, 0);
  const made = server.cli(['user', 'token', 'doctolib', '--days', '30']);
  assert.equal(made.code, 0, made.stderr);
  const token = made.stdout.trim();
  assert.match(token, /^[A-Za-z0-9_-]{40,}$/);
  assert.match(made.stderr, /30 days/);

  // The running server learns the new token from the log (within its follow interval).
  await waitFor(async () => (await server.request('GET', '/fhir/R4/Appointment?identifier=none', { token })).status === 200, { what: 'the token known' });
  // It books, reads and searches with the FHIR client library, like the secretariat.
  const created = fhirClient('create', { body: booking({ identifier: [{ system: 'urn:doctolib', value: 'DL-1' }] }) }, token);
  assert.ok(created.ok, JSON.stringify(created));
  assertValidAppointment(created.result);
  const found = fhirClient('search', { params: { identifier: 'DL-1' } }, token);
  assert.equal(found.result.total, 1);
  // Nothing else: no account, no agenda, no messages, no event stream.
  for (const [method, p] of [['GET', '/api/v1/me'], ['GET', '/api/v1/care/agenda'], ['GET', '/api/v1/conversations'], ['GET', '/api/v1/users']]) {
    const r = await server.request(method, p, { token });
    assert.equal(r.status, 403, `${method} ${p}`);
  }
  // No password works for it, and an administrator cannot make one through the API.
  const login = await server.request('POST', '/api/v1/auth/login', { body: { username: 'doctolib', password: PASSWORD } });
  assert.equal(login.status, 401);
  const viaApi = await server.request('POST', '/api/v1/users', { token: root.token, body: { username: 'robot', display_name: 'Robot', role: 'booking_system' } });
  assert.equal(viaApi.status, 400);
  // Audited; the token is revoked by disabling the account.
  const trail = await audit(server, root.token, { action: 'user.token' });
  assert.equal(trail.length, 1);
  assert.ok(!JSON.stringify(trail).includes(token));
  assert.equal(server.cli(['user', 'disable', 'doctolib']).code, 0);
  await waitFor(async () => (await server.request('GET', '/fhir/R4/Appointment?identifier=DL-1', { token })).status === 401, { what: 'the token refused' });
});
