// The teleconsultation's video call, in two real Chromium windows, going only through carecommd:
// booked over HL7, the patient (a phone, no account) waits; the practitioner admits from the
// agenda; both see and hear each other (each one's page decodes the other's video, and audio
// packets arrive); the patient's connection is "weak" and they go on with sound only (their
// video stops, sound goes on); they hang up by mistake and come back; the practitioner ends
// with the report and both calls close.
//
// Janus never uses loopback for media (shared/notes/janus-coturn.md), so the file runs itself
// again inside a network namespace it creates (unshare -n), as meeting_call.test.js does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, launchBrowser, openPage, go, capture, loginInBrowser, Authenticator, PASSWORD, PHONE, sleep } from './lib/web.js';
import { loginReady, freePort } from '../integration/lib/harness.js';
import { waitFor } from '../integration/lib/accounts.js';
import { sendHl7, siu, PRACTITIONER_IDENT } from '../integration/lib/hl7.js';

const MEDIA_IP = '10.99.0.2';
const inNetns = process.env.CARECOMM_E2E_NETNS === '1';
const missing = ['/usr/bin/janus', '/usr/bin/turnserver', '/usr/bin/unshare'].filter((f) => !fs.existsSync(f));
const skip = missing.length ? `missing ${missing.join(', ')} (scripts/install-deps)` : false;

if (!inNetns) {
  test('a teleconsultation call in a network namespace (runs this file inside `unshare -n`)', { skip, timeout: 300000 }, () => {
    const self = fileURLToPath(import.meta.url);
    const setup = [
      'set -e',
      'ip link set lo up',
      'ip link add v0 type veth peer name v1',
      `ip addr add ${MEDIA_IP}/24 dev v0`,
      'ip link set v0 up',
      'ip link set v1 up',
      `exec "${process.execPath}" --test --test-reporter=tap "${self}"`,
    ].join('; ');
    const args = process.getuid() === 0 ? ['-n'] : ['-rn'];
    const env = { ...process.env, CARECOMM_E2E_NETNS: '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync('unshare', [...args, 'bash', '-c', setup], { env, encoding: 'utf8', timeout: 290000 });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `the call inside the namespace failed:\n${out}`);
    assert.match(r.stdout, /# pass 1\n/, out);
    assert.match(r.stdout, /# fail 0/, out);
  });
}

// Test instrumentation (not the product's): every RTCPeerConnection a page makes is kept in
// window.__pcs, so that the test can read what arrives (getStats) as webrtc-internals would.
function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
}

// What a page receives: video frames decoded and audio packets, over all its connections.
const received = (page) =>
  page.evaluate(async () => {
    const out = { frames: 0, audio: 0 };
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') out.frames += r.framesDecoded || 0;
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio += r.packetsReceived || 0;
      });
    }
    return out;
  });

// Waits until what page receives grows (both video and audio, or only what is asked).
async function growing(page, what, { video = true, audio = true } = {}) {
  const first = await received(page);
  const deadline = Date.now() + 30000;
  for (;;) {
    await sleep(500);
    const now = await received(page);
    if ((!video || now.frames > first.frames) && (!audio || now.audio > first.audio)) return now;
    if (Date.now() > deadline) throw new Error(`${what}: nothing grows (${JSON.stringify(first)} then ${JSON.stringify(now)})`);
  }
}

let server, browser, mllp;
const doc = { name: 'dr.martin', display: 'Dr Paul Martin' };
const soon = () => Math.ceil((Date.now() + 10 * 60000) / 60000) * 60000;

async function linkOf(family) {
  const dir = path.join(server.dataDir, 'outbox');
  let url;
  await waitFor(() => {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      const raw = fs.readFileSync(path.join(dir, f), 'utf8');
      if (f.endsWith('-invite.eml') && raw.includes(family)) url = /^(https:\/\/\S+)\r?$/m.exec(raw)[1];
    }
    return !!url;
  }, { what: `the invitation of ${family}` });
  return new URL(url).pathname;
}

if (inNetns) {
  before(async () => {
    mllp = await freePort();
    const base = 20000 + crypto.randomInt(0, 400) * 100;
    server = await startServer({
      CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}`,
      CARECOMM_MEDIA_MODE: 'embedded',
      CARECOMM_MEDIA_IP: MEDIA_IP,
      CARECOMM_JANUS_API_PORT: String(await freePort()),
      CARECOMM_JANUS_ADMIN_PORT: String(await freePort()),
      CARECOMM_TURN_PORT: String(await freePort()),
      CARECOMM_RTP_PORT_RANGE: `${base}-${base + 49}`,
      CARECOMM_TURN_RELAY_PORT_RANGE: `${base + 50}-${base + 99}`,
    });
    await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
    const r = server.cli(['user', 'create', doc.name, '--role', 'practitioner', '--ident', PRACTITIONER_IDENT, '--display', doc.display], { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    const ready = await loginReady(server, doc.name);
    doc.auth = new Authenticator(ready.secret);
    doc.auth.lastStep = Math.floor(Date.now() / 30000);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await server.stop();
      server.cleanup();
    }
  });

  test('admitted, the patient and the practitioner see and hear each other; sound only; the end', { timeout: 200000 }, async () => {
    assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-V1', control: 'V1', start: soon(), family: 'DURAND', given: 'Louise' })]), ['AA']);
    const link = await linkOf('DURAND');

    const pro = await openPage(browser, server);
    await pro.addInitScript(recordPeerConnections);
    await loginInBrowser(pro, doc);
    await go(pro, '/consultations');
    const row = pro.locator('.care-table tbody tr', { hasText: 'Louise DURAND' });
    await row.waitFor();

    const patient = await openPage(browser, server, PHONE);
    await patient.addInitScript(recordPeerConnections);
    await go(patient, link);
    await patient.check('.visit-agree input');
    await patient.click('button:has-text("Continuer")');
    await patient.locator('.visit-check-ok', { hasText: 'Caméra' }).waitFor();
    await patient.click('button:has-text("Entrer en salle d’attente")');
    await patient.locator('h2', { hasText: 'Vous êtes en salle d’attente' }).waitFor();

    await row.locator('button', { hasText: 'Faire entrer Louise DURAND' }).click();
    await pro.locator('.care-call h2', { hasText: 'Appel avec Louise DURAND' }).waitFor();
    await patient.locator('h2', { hasText: 'C’est à vous' }).waitFor({ timeout: 15000 });

    // Each sees the other: the other's name on their picture, and frames decoded keep coming.
    await pro.locator('.call-peer figcaption', { hasText: 'Louise DURAND' }).waitFor({ timeout: 30000 });
    await patient.locator('.call-peer figcaption', { hasText: 'Dr Paul Martin' }).waitFor({ timeout: 30000 });
    await growing(pro, 'the practitioner receiving the patient');
    await growing(patient, 'the patient receiving the practitioner');
    await capture(patient, 'visit-call', { sizes: [PHONE] });
    await capture(pro, 'care-call');

    // A weak connection: the patient goes on with sound only. Their picture stops reaching the
    // practitioner; sound goes on both ways.
    await patient.click('button:has-text("Continuer avec le son seulement")');
    await patient.locator('button[aria-pressed="true"]', { hasText: 'Remettre la vidéo' }).waitFor();
    await sleep(2000); // frames already on the way are decoded
    const still = await received(pro);
    await sleep(2500);
    const later = await received(pro);
    assert.equal(later.frames, still.frames, 'the patient\'s video still arrives after "sound only"');
    assert.ok(later.audio > still.audio, 'the patient\'s sound stopped too');
    await growing(patient, 'the patient hearing the practitioner', { video: false });
    // And back.
    await patient.click('button:has-text("Remettre la vidéo")');
    await growing(pro, 'the patient\'s video back', { audio: false });

    // The patient hangs up by mistake, and comes back in.
    await patient.click('button:has-text("Raccrocher")');
    await patient.click('button:has-text("Revenir dans l’appel")');
    await patient.locator('.call-peer figcaption', { hasText: 'Dr Paul Martin' }).waitFor({ timeout: 30000 });
    await growing(patient, 'the patient back in the call');
    await growing(pro, 'the practitioner receiving the patient again');

    // The end, with the report: both calls close; the patient sees the end.
    await row.locator('button', { hasText: 'Terminer' }).click();
    const dialog = pro.locator('dialog[open]');
    await dialog.locator('button', { hasText: 'Enregistrer et terminer' }).click();
    await row.locator('.care-state-done').waitFor();
    await pro.locator('.care-call').waitFor({ state: 'detached', timeout: 15000 });
    await patient.locator('h2', { hasText: 'La consultation est terminée' }).waitFor({ timeout: 15000 });
    assert.deepEqual(patient.problems, []);
    assert.deepEqual(pro.problems, []);
  });
}
