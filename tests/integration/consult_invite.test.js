// The patient's invitation: a booking over HL7 becomes an e-mail at a real SMTP server on
// loopback (npm smtp-server), with the link on a line of its own; a reschedule sends an update
// with the same link, a cancellation says the link no longer works. A relay that is down is
// tried again; with no relay configured, the messages land in the outbox folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { Server, freePort, PASSWORD } from './lib/harness.js';
import { waitFor } from './lib/accounts.js';
import { sendHl7, siu as siuOf } from './lib/hl7.js';

const START = Date.parse('2026-12-01T09:00:00Z'); // 10:00 in Paris
const siu = (o) => siuOf({ start: START, ...o });

// A real SMTP server that keeps what it receives; stop() and start() simulate a relay outage.
class Relay {
  constructor() {
    this.mails = [];
  }
  async start() {
    if (!this.port) this.port = await freePort();
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData: (stream, session, cb) => {
        let raw = '';
        stream.on('data', (d) => (raw += d.toString('utf8')));
        stream.on('end', () => {
          this.mails.push({ raw, from: session.envelope.mailFrom.address, to: session.envelope.rcptTo.map((r) => r.address) });
          cb();
        });
      },
    });
    await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
  }
  async stop() {
    await new Promise((r) => this.server.close(r));
  }
}

const subjectOf = (raw) => {
  const m = /^Subject: =\?UTF-8\?B\?([^?]*)\?=/m.exec(raw);
  return m ? Buffer.from(m[1], 'base64').toString('utf8') : null;
};
const bodyOf = (raw) => raw.slice(raw.indexOf('\r\n\r\n') + 4);
const linkLines = (body) => body.split(/\r?\n/).filter((l) => /^https:\/\/\S+$/.test(l));

// An SMS gateway: a real HTTP server that keeps what it is asked to send.
const sms = [];
const gateway = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    sms.push({ type: req.headers['content-type'], ...JSON.parse(body) });
    res.writeHead(202).end();
  });
});

let relay, server, mllp;
before(async () => {
  relay = new Relay();
  await relay.start();
  mllp = await freePort();
  await new Promise((r) => gateway.listen(0, '127.0.0.1', r));
  server = await new Server({
    env: {
      CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}`,
      CARECOMM_SMTP_URL: `smtp://127.0.0.1:${relay.port}`,
      CARECOMM_SMTP_FROM: 'teleconsultation@chu-nord.example',
      CARECOMM_PUBLIC_URL: 'https://visio.chu-nord.example',
      CARECOMM_SITE_NAME: 'CHU Nord',
      CARECOMM_OUTBOX_RETRY_SECONDS: '1',
      CARECOMM_SMS_GATEWAY_URL: `http://127.0.0.1:${gateway.address().port}/send`,
    },
  }).start();
  const made = server.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', '10003456789',
    '--display', 'Dr Paul Martin'], { input: `${PASSWORD}\n` });
  assert.equal(made.code, 0, made.stderr);
});

after(async () => {
  await server.stop();
  server.cleanup();
  await relay.stop().catch(() => {});
  gateway.close();
});

test('booking, reschedule, cancellation: the patient is told each time, in French, with one link', async () => {
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-1', control: 'C-1' })]), ['AA']);
  await waitFor(() => relay.mails.length === 1, { what: 'the invitation' });
  const invite = relay.mails[0];
  assert.deepEqual(invite.to, ['jeanne.dupont@example.org']);
  assert.equal(invite.from, 'teleconsultation@chu-nord.example');
  assert.equal(subjectOf(invite.raw), 'Votre téléconsultation : mardi 1 décembre 2026 à 10:00 avec Dr Paul Martin');
  const body = bodyOf(invite.raw);
  assert.match(body, /Bonjour Jeanne DUPONT/);
  assert.match(body, /testez|tester votre caméra/);
  const links = linkLines(body);
  assert.equal(links.length, 1, 'the link on a line of its own');
  assert.match(links[0], /^https:\/\/visio\.chu-nord\.example\/visit\/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  assert.ok(!server.logs.includes('jeanne.dupont'), 'no patient address in the logs');
  assert.ok(!server.logs.includes('DUPONT'), 'no patient name in the logs');

  const later = START + 24 * 3600 * 1000;
  assert.deepEqual(await sendHl7(mllp, [siu({ event: 'S13', id: 'RDV-1', control: 'C-2', start: later })]), ['AA']);
  await waitFor(() => relay.mails.length === 2, { what: 'the update' });
  assert.match(subjectOf(relay.mails[1].raw), /^Téléconsultation déplacée : mercredi 2 décembre 2026 à 10:00/);
  assert.deepEqual(linkLines(bodyOf(relay.mails[1].raw)), links, 'the same link');

  assert.deepEqual(await sendHl7(mllp, [siu({ event: 'S15', id: 'RDV-1', control: 'C-3', start: later })]), ['AA']);
  await waitFor(() => relay.mails.length === 3, { what: 'the cancellation' });
  assert.match(subjectOf(relay.mails[2].raw), /^Téléconsultation annulée/);
  const cancelBody = bodyOf(relay.mails[2].raw);
  assert.match(cancelBody, /ne fonctionne plus/);
  assert.deepEqual(linkLines(cancelBody), [], 'no link in a cancellation');
});

test('a relay that is down is tried again until the invitation goes', async () => {
  await relay.stop();
  const before = relay.mails.length;
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-2', control: 'C-4', email: 'paul.durand@example.org' })]), ['AA']);
  await waitFor(() => /patient notification not sent, will retry/.test(server.logs), { what: 'a failed try' });
  await relay.start();
  await waitFor(() => relay.mails.length === before + 1, { timeout: 15000, what: 'the retried invitation' });
  assert.deepEqual(relay.mails.at(-1).to, ['paul.durand@example.org']);
});

test('with no relay configured, messages land in the outbox folder', async () => {
  const port = await freePort();
  const s = await new Server({ env: { CARECOMM_MLLP_LISTEN: `127.0.0.1:${port}` } }).start();
  try {
    const made = s.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', '10003456789'], { input: `${PASSWORD}\n` });
    assert.equal(made.code, 0, made.stderr);
    assert.deepEqual(await sendHl7(port, [siu({ id: 'RDV-9', control: 'C-9' })]), ['AA']);
    const dir = path.join(s.dataDir, 'outbox');
    await waitFor(() => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('-invite.eml')), { what: 'the .eml file' });
    const file = fs.readdirSync(dir).find((f) => f.endsWith('-invite.eml'));
    assert.equal(fs.statSync(path.join(dir, file)).mode & 0o777, 0o600, 'readable by carecomm only');
    const raw = fs.readFileSync(path.join(dir, file), 'utf8');
    assert.match(raw, /^To: jeanne\.dupont@example\.org\r$/m);
    assert.equal(linkLines(bodyOf(raw)).length, 1);
  } finally {
    await s.stop();
    s.cleanup();
  }
});

test('a patient with a mobile also gets the link by SMS, through the gateway', async () => {
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-S1', control: 'C-S1', email: 'henri.petit@example.org', mobile: '+33612345678' })]), ['AA']);
  await waitFor(() => sms.length === 1, { what: 'the SMS' });
  assert.equal(sms[0].type, 'application/json');
  assert.equal(sms[0].to, '+33612345678');
  assert.match(sms[0].text, /^Votre téléconsultation : mardi 1 décembre 2026 à 10:00 avec Dr Paul Martin\nhttps:\/\/visio\.chu-nord\.example\/visit\/\S+\n$/);
  await waitFor(() => relay.mails.some((m) => m.to.includes('henri.petit@example.org')), { what: 'the e-mail as well' });
});
