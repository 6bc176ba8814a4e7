// The teleconsultation's video call, in two real Chromium windows, going only through carecommd:
// booked over HL7, the patient (a phone, no account) waits; the practitioner admits from the
// agenda; both see and hear each other (each one's page decodes the other's video, and audio
// packets arrive); the patient's connection is "weak" and they go on with sound only (their
// video stops, sound goes on); they hang up by mistake and come back; the practitioner ends
// with the report and both calls close.
//
// Janus never uses loopback for media: the file runs itself again in a network namespace
// (lib/netns.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, go, capture, loginInBrowser, personForBrowser, agendaOnDayOf, PHONE, sleep } from './lib/web.js';
import { freePort } from '../integration/lib/harness.js';
import { waitFor } from '../integration/lib/accounts.js';
import { sendHl7, siu, PRACTITIONER_IDENT, invitationToken } from '../integration/lib/hl7.js';
import { netnsTest, mediaEnv } from './lib/netns.js';
import { recordPeerConnections, received, growing } from './lib/rtc.js';

const MEDIA_IP = '10.99.0.2';
const inNetns = netnsTest(import.meta.url, { title: 'a teleconsultation call in a network namespace', mediaIp: MEDIA_IP, inner: 1 });

let server, browser, mllp;
const doc = { name: 'dr.martin', display: 'Dr Paul Martin' };
const soon = () => Math.ceil((Date.now() + 10 * 60000) / 60000) * 60000;

const linkOf = async (family) => `/visit/${await invitationToken(server, family)}`;

if (inNetns) {
  before(async () => {
    mllp = await freePort();
    server = await startServer({ CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}`, ...(await mediaEnv(MEDIA_IP)) });
    await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
    await personForBrowser(server, doc, 'practitioner', ['--ident', PRACTITIONER_IDENT]);
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
    const start = soon();
    assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-V1', control: 'V1', start, family: 'DURAND', given: 'Louise' })]), ['AA']);
    const link = await linkOf('DURAND');

    const pro = await openPage(browser, server);
    await pro.addInitScript(recordPeerConnections);
    await loginInBrowser(pro, doc);
    await go(pro, '/consultations');
    await agendaOnDayOf(pro, start);
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
    await pro.locator('.call-peer figcaption', { hasText: 'Louise DURAND' }).waitFor({ timeout: 30000 }).catch(async (e) => {
      const a = await pro.locator('.care-call').innerHTML().catch(() => 'none');
      const b = await patient.locator('.call').innerHTML().catch(() => 'none');
      throw new Error(`${e.message}\nPRO: ${a.slice(0, 1500)}\nPATIENT: ${b.slice(0, 1500)}\nLOGS: ${server.logs.split('\n').filter((l) => /meeting|consult|janus/i.test(l)).slice(-25).join('\n')}`);
    });
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
