// HL7 v2 bookings over MLLP, as a hospital's booking system sends them: an independent HL7
// client from npm (node-hl7-client) and raw sockets for the framing cases. What is checked is
// what the booking system sees (its ACKs) and what the staff see (appointment events).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client, Message } from 'node-hl7-client';
import { Server, createUser, freePort, sleep, loginReady, PASSWORD } from './lib/harness.js';
import { staff, openSocket, nextEvent, eventsOf, barrier } from './lib/msg.js';
import { NIR, frame, siu as siuOf } from './lib/hl7.js';

let server, mllpPort, sec, events, hl7, conn;
const acks = [];

const START = Date.parse('2026-12-01T09:00:00Z');
const siu = (o) => siuOf({ start: START, ...o });

// Sends one message with node-hl7-client and resolves its ACK's segments.
function send(text) {
  const msg = new Message({ text });
  return new Promise((resolve, reject) => {
    acks.push({ resolve, reject });
    conn.sendMessage(msg).catch(reject);
  });
}
const field = (ack, path) => ack.get(path).toString();
// A whole field, components and all (the library's get() gives the first component).
const rawField = (ack, seg, n) => ack.toString().split('\r').find((x) => x.startsWith(`${seg}|`)).split('|')[n];

before(async () => {
  mllpPort = await freePort();
  server = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllpPort}` } }).start();
  const made = server.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', '10003456789',
    '--display', 'Dr Paul Martin'], { input: `${PASSWORD}\n` });
  assert.equal(made.code, 0, made.stderr);
  ({ sec } = await staff(server, { sec: 'secretary' }));
  events = await openSocket(server, sec);
  hl7 = new Client({ host: '127.0.0.1' });
  conn = hl7.createConnection({ port: mllpPort, waitAck: true }, async (res) => {
    acks.shift().resolve(res.getMessage());
  });
});

after(async () => {
  await conn?.close();
  await events?.close();
  await server.stop();
  server.cleanup();
});

test('an SIU^S12 for a teleconsultation is acknowledged AA once stored, and the staff see it', async () => {
  const ack = await send(siu({ id: 'RDV-1001', control: 'MSG-1001' }));
  assert.equal(field(ack, 'MSA.1'), 'AA');
  assert.equal(field(ack, 'MSA.2'), 'MSG-1001', 'MSA-2 echoes MSH-10');
  assert.notEqual(field(ack, 'MSH.10'), 'MSG-1001', 'the ACK has its own control id');
  assert.equal(field(ack, 'MSH.3'), 'CARECOMM');
  assert.equal(field(ack, 'MSH.5'), 'AGENDA', 'sender and receiver swapped');
  assert.equal(field(ack, 'MSH.9.1'), 'ACK');
  const ev = await nextEvent(events, 'appointment.updated', (d) => d.patient.family === 'DUPONT');
  assert.equal(ev.data.status, 'booked');
  assert.equal(ev.data.teleconsult, true);
  assert.equal(ev.data.start, START);
  assert.equal(ev.data.end, START + 30 * 60000);
  assert.equal(ev.data.patient.given, 'Jeanne');
});

test('the same message sent again (lost ACK) is acknowledged again and applied once', async () => {
  const text = siu({ id: 'RDV-1002', control: 'MSG-1002', given: 'Doublon' });
  assert.equal(field(await send(text), 'MSA.1'), 'AA');
  const first = await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Doublon');
  const again = await send(text);
  assert.equal(field(again, 'MSA.1'), 'AA');
  assert.equal(field(again, 'MSA.2'), 'MSG-1002');
  // A later, different message is a barrier: once its event is here, a second application of
  // the duplicate would be too.
  assert.equal(field(await send(siu({ id: 'RDV-1003', control: 'MSG-1003', given: 'Barrière' })), 'MSA.1'), 'AA');
  await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Barrière');
  const forIt = eventsOf(events, 'appointment.updated').filter((e) => e.data.id === first.data.id);
  assert.equal(forIt.length, 1, 'applied once');
});

test('content errors are AE with an ERR naming the field, and nothing is created', async () => {
  const before = eventsOf(events, 'appointment.updated').length;
  const unknown = await send(siu({ id: 'RDV-2001', control: 'MSG-2001', practitioner: '99999999999' }));
  assert.equal(field(unknown, 'MSA.1'), 'AE');
  assert.equal(field(unknown, 'MSA.2'), 'MSG-2001');
  assert.equal(rawField(unknown, 'ERR', 2), 'AIP^1^3');
  assert.match(rawField(unknown, 'ERR', 8), /99999999999/);

  const badKey = NIR.slice(0, 13) + String((Number(NIR.slice(13)) % 97) + 1).padStart(2, '0');
  const wrongIns = await send(siu({ id: 'RDV-2002', control: 'MSG-2002', nir: badKey }));
  assert.equal(field(wrongIns, 'MSA.1'), 'AE');
  assert.match(rawField(wrongIns, 'ERR', 2), /^PID\^1\^3/);

  const noContact = await send(siu({ id: 'RDV-2003', control: 'MSG-2003', email: '' }));
  assert.equal(field(noContact, 'MSA.1'), 'AE');
  assert.match(rawField(noContact, 'ERR', 2), /^PID\^1\^13/);

  // Sent again, the same refusal: the message is not read differently the second time.
  const unknownAgain = await send(siu({ id: 'RDV-2001', control: 'MSG-2001', practitioner: '99999999999' }));
  assert.equal(field(unknownAgain, 'MSA.1'), 'AE');
  await barrier(events);
  assert.equal(eventsOf(events, 'appointment.updated').length, before, 'nothing created');
});

test('bookings that are not teleconsultations are acknowledged and ignored', async () => {
  const before = eventsOf(events, 'appointment.updated').length;
  const ack = await send(siu({ id: 'RDV-3001', control: 'MSG-3001', kind: 'CS^Consultation sur place' }));
  assert.equal(field(ack, 'MSA.1'), 'AA');
  assert.equal(field(await send(siu({ id: 'RDV-3002', control: 'MSG-3002', given: 'Témoin' })), 'MSA.1'), 'AA');
  await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Témoin');
  assert.equal(eventsOf(events, 'appointment.updated').length, before + 1);
});

test('a cancellation that overtakes its booking leaves the appointment cancelled', async () => {
  const t = Date.now();
  const s15 = await send(siu({ event: 'S15', id: 'RDV-4001', control: 'MSG-4001b', sentAt: t + 60000, given: 'Annulée' }));
  assert.equal(field(s15, 'MSA.1'), 'AA');
  const cancelled = await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Annulée');
  assert.equal(cancelled.data.status, 'cancelled');
  const s12 = await send(siu({ id: 'RDV-4001', control: 'MSG-4001a', sentAt: t, given: 'Annulée' }));
  assert.equal(field(s12, 'MSA.1'), 'AA', 'acknowledged: the engine must not resend it');
  assert.equal(field(await send(siu({ id: 'RDV-4002', control: 'MSG-4002', given: 'Après' })), 'MSA.1'), 'AA');
  await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Après');
  const forIt = eventsOf(events, 'appointment.updated').filter((e) => e.data.id === cancelled.data.id);
  assert.deepEqual(forIt.map((e) => e.data.status), ['cancelled'], 'the late booking changed nothing');
});

test('a short S14 that says nothing of the appointment type keeps the teleconsultation', async () => {
  assert.equal(field(await send(siu({ id: 'RDV-8001', control: 'MSG-8001', given: 'Courte' })), 'MSA.1'), 'AA');
  const booked = await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Courte');
  // The same appointment, modified by a message without SCH-7 (many engines send that).
  const short = siu({ event: 'S14', id: 'RDV-8001', control: 'MSG-8002', given: 'Courte', kind: '' });
  assert.equal(field(await send(short), 'MSA.1'), 'AA');
  const after = await nextEvent(events, 'appointment.updated', (d) => d.id === booked.data.id && d.version > booked.data.version);
  assert.equal(after.data.teleconsult, true);
  assert.equal(after.data.status, 'booked');
});

// ---- raw sockets: framing and character sets ------------------------------------------------

// Opens a socket and collects the ACKs it receives (framing removed, as latin1 text).
async function rawClient() {
  const sock = net.connect(mllpPort, '127.0.0.1');
  await new Promise((r, j) => sock.once('connect', r).once('error', j));
  let buf = Buffer.alloc(0);
  const got = [];
  const waiters = [];
  sock.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const s = buf.indexOf(0x0b), e = buf.indexOf(Buffer.from([0x1c, 0x0d]));
      if (s < 0 || e < 0) break;
      got.push(buf.subarray(s + 1, e).toString('latin1'));
      buf = buf.subarray(e + 2);
    }
    while (waiters.length && waiters[0].n <= got.length) waiters.shift().resolve();
  });
  const acksAfter = (n) => new Promise((resolve, reject) => {
    if (got.length >= n) return resolve();
    waiters.push({ n, resolve });
    setTimeout(() => reject(new Error(`only ${got.length} of ${n} ACKs`)), 10000);
  });
  return { sock, got, acksAfter };
}
const msa = (ack) => ack.split('\r').find((s) => s.startsWith('MSA|')).split('|');

test('framing: end bytes in a later packet, two messages in one write, answers in order', async () => {
  const c = await rawClient();
  const a = frame(siu({ id: 'RDV-5001', control: 'MSG-5001' }));
  c.sock.write(a.subarray(0, a.length - 1));
  await sleep(100);
  assert.equal(c.got.length, 0, 'no ACK before the frame ends');
  c.sock.write(a.subarray(a.length - 1));
  await c.acksAfter(1);
  c.sock.write(Buffer.concat([frame(siu({ id: 'RDV-5002', control: 'MSG-5002' })), frame(siu({ id: 'RDV-5003', control: 'MSG-5003' }))]));
  await c.acksAfter(3);
  assert.deepEqual(c.got.map((x) => msa(x).slice(1, 3)), [['AA', 'MSG-5001'], ['AA', 'MSG-5002'], ['AA', 'MSG-5003']]);
  c.sock.destroy();
});

test('an ISO 8859-1 message is read as such and stored as UTF-8', async () => {
  const c = await rawClient();
  const text = siu({ id: 'RDV-6001', control: 'MSG-6001', given: 'Hélène' }).replace('UNICODE UTF-8', '8859/1');
  c.sock.write(frame(text, 'latin1'));
  await c.acksAfter(1);
  assert.equal(msa(c.got[0])[1], 'AA');
  const ev = await nextEvent(events, 'appointment.updated', (d) => d.patient.given === 'Hélène');
  assert.equal(ev.data.status, 'booked');
  c.sock.destroy();
});

test('garbage, an unsupported message and an oversize one are refused; the connection goes on', async () => {
  const c = await rawClient();
  c.sock.write(frame('this is not HL7'));
  c.sock.write(frame('MSH|^~\\&|AGENDA|CHU-NORD|CARECOMM|CHU-NORD|20261122090000||ADT^A01|MSG-7002|P|2.5\rEVN|A01'));
  c.sock.write(frame(siu({ id: 'RDV-7003', control: 'MSG-7003' }) + '\rNTE|1||' + 'x'.repeat(1100 * 1024)));
  c.sock.write(frame(siu({ id: 'RDV-7004', control: 'MSG-7004' })));
  await c.acksAfter(4);
  assert.equal(msa(c.got[0])[1], 'AR');
  assert.deepEqual(msa(c.got[1]).slice(1, 3), ['AR', 'MSG-7002']);
  assert.deepEqual(msa(c.got[2]).slice(1, 3), ['AR', 'MSG-7003'], 'refused, yet named by its MSH-10');
  assert.deepEqual(msa(c.got[3]).slice(1, 3), ['AA', 'MSG-7004']);
  c.sock.destroy();
});

test('a bad MLLP listen address stops start-up, naming the key', async () => {
  const other = new Server({ env: { CARECOMM_MLLP_LISTEN: 'not-an-address' } });
  await assert.rejects(other.start(), /mllp_listen/);
  other.cleanup();
});

test('MLLP over TLS (mllp_tls): the npm client with the server certificate gets its ACK; plain TCP gets nothing', async () => {
  const port = await freePort();
  const s = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${port}`, CARECOMM_MLLP_TLS: 'true' } }).start();
  try {
    const made = s.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', '10003456789'], { input: `${PASSWORD}\n` });
    assert.equal(made.code, 0, made.stderr);
    const tlsClient = new Client({ host: '127.0.0.1', tls: { ca: s.ca(), servername: 'localhost' } });
    const got = [];
    const c = tlsClient.createConnection({ port, waitAck: true }, async (res) => got.push(res.getMessage()));
    await c.sendMessage(new Message({ text: siu({ id: 'RDV-T1', control: 'MSG-T1' }) }));
    for (let i = 0; i < 100 && got.length === 0; i++) await sleep(50);
    assert.equal(got.length, 1, 'an ACK over TLS');
    assert.equal(field(got[0], 'MSA.1'), 'AA');
    assert.equal(field(got[0], 'MSA.2'), 'MSG-T1');
    await c.close();

    // Plain bytes to the TLS port: no ACK, the connection is closed.
    const sock = net.connect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let answered = '';
    sock.on('data', (d) => (answered += d.toString('latin1')));
    const closed = new Promise((r) => sock.once('close', r));
    sock.write(frame(siu({ id: 'RDV-T2', control: 'MSG-T2' })));
    await closed;
    assert.ok(!answered.includes('MSA|'), 'nothing in clear');
  } finally {
    await s.stop();
    s.cleanup();
  }
});

// A CA of the hospital's, a client certificate it signed, and one from elsewhere (openssl CLI).
function clientCertificates() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cc-mllp-ca-'));
  const f = (n) => path.join(dir, n);
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-subj', '/CN=Hospital CA', '-days', '2', '-keyout', f('ca.key'), '-out', f('ca.pem'));
  ssl('req', ...ec, '-subj', '/CN=interface-engine', '-keyout', f('engine.key'), '-out', f('engine.csr'));
  ssl('x509', '-req', '-in', f('engine.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-out', f('engine.pem'));
  ssl('req', '-x509', ...ec, '-subj', '/CN=intruder', '-days', '2', '-keyout', f('rogue.key'), '-out', f('rogue.pem'));
  const read = (n) => fs.readFileSync(f(n));
  return { dir, caFile: f('ca.pem'), engine: { cert: read('engine.pem'), key: read('engine.key') }, rogue: { cert: read('rogue.pem'), key: read('rogue.key') } };
}

// One message over TLS with the given client credentials; resolves with the ACK text, or null
// when the server ends the connection without one.
function sendOverTls(port, ca, creds, message) {
  return new Promise((resolve) => {
    let got = '';
    const sock = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca, ...creds }, () => sock.write(frame(message)));
    sock.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\x1c\r')) {
        sock.end();
        resolve(got);
      }
    });
    sock.on('error', () => resolve(null));
    sock.on('close', () => resolve(got.includes('MSA|') ? got : null));
  });
}

test('MLLP over mutual TLS (mllp_tls_client_ca): only an engine with a certificate from the hospital CA is heard', async () => {
  const certs = clientCertificates();
  const port = await freePort();
  const s = await new Server({
    env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${port}`, CARECOMM_MLLP_TLS: 'true', CARECOMM_MLLP_TLS_CLIENT_CA: certs.caFile },
  }).start();
  try {
    const made = s.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', '10003456789'], { input: `${PASSWORD}\n` });
    assert.equal(made.code, 0, made.stderr);
    const ok = await sendOverTls(port, s.ca(), certs.engine, siu({ id: 'RDV-M1', control: 'MSG-M1' }));
    assert.ok(ok, 'the engine with its certificate gets an answer');
    assert.match(ok, /MSA\|AA\|MSG-M1/);
    assert.equal(await sendOverTls(port, s.ca(), {}, siu({ id: 'RDV-M2', control: 'MSG-M2' })), null, 'no certificate: no answer');
    assert.equal(await sendOverTls(port, s.ca(), certs.rogue, siu({ id: 'RDV-M3', control: 'MSG-M3' })), null, 'a certificate from another CA: no answer');
    // What was refused was not applied: only the engine's booking exists.
    const sec = s.cli(['user', 'create', 'sec', '--role', 'secretary'], { input: `${PASSWORD}\n` });
    assert.equal(sec.code, 0, sec.stderr);
    const { token } = await loginReady(s, 'sec');
    const found = async (id) => (await s.request('GET', `/fhir/R4/Appointment?identifier=${id}`, { token })).body.total;
    assert.equal(await found('RDV-M1'), 1);
    assert.equal(await found('RDV-M2'), 0);
    assert.equal(await found('RDV-M3'), 0);
  } finally {
    await s.stop();
    s.cleanup();
    fs.rmSync(certs.dir, { recursive: true, force: true });
  }
});

test('an unreadable client CA file stops start-up, naming it', async () => {
  const other = new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${await freePort()}`, CARECOMM_MLLP_TLS: 'true', CARECOMM_MLLP_TLS_CLIENT_CA: '/nonexistent/ca.pem' } });
  await assert.rejects(other.start(), /client CA/);
  other.cleanup();
});
