// A teleconsultation in two real Chromium windows: the booking system books over HL7; the patient
// (a phone, no account) opens the link of the invitation, consents, checks camera and microphone
// (Chromium's fake devices), enters the waiting room; the practitioner (desktop) is told at once,
// sees "waiting since", admits; the patient sees it is their turn; the practitioner ends with the
// report; the patient sees the end. A cancelled consultation's link says so. Every screen is
// checked by axe-core and photographed at the three sizes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, go, capture, loginInBrowser, personForBrowser, agendaOnDayOf, PASSWORD, PHONE } from './lib/web.js';
import { freePort } from '../integration/lib/harness.js';
import { waitFor } from '../integration/lib/accounts.js';
import { sendHl7, siu, PRACTITIONER_IDENT, invitationToken } from '../integration/lib/hl7.js';

let server, browser, mllp;
const doc = { name: 'dr.martin', display: 'Dr Paul Martin' };
const soon = () => Math.ceil((Date.now() + 10 * 60000) / 60000) * 60000; // the waiting room is open

const linkOf = async (family) => `/visit/${await invitationToken(server, family)}`;

before(async () => {
  mllp = await freePort();
  server = await startServer({ CARECOMM_MLLP_LISTEN: `127.0.0.1:${mllp}` });
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

test('booked over HL7, the patient waits, the practitioner admits and ends', async () => {
  const start = soon();
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-E1', control: 'E1', start, family: 'DUPONT', given: 'Jeanne' })]), ['AA']);
  const link = await linkOf('DUPONT');

  // The practitioner's agenda, open before the patient arrives.
  const pro = await openPage(browser, server);
  await loginInBrowser(pro, doc);
  await pro.click('#main-nav a:has-text("Téléconsultations")');
  await pro.waitForURL(/\/consultations$/);
  await agendaOnDayOf(pro, start);
  const row = pro.locator('.care-table tbody tr', { hasText: 'Jeanne DUPONT' });
  await row.waitFor();
  assert.match(await row.innerText(), /Pas arrivé/);
  await pro.locator('.conn[data-state="connected"]').waitFor({ timeout: 20000 });
  await capture(pro, 'care-agenda');

  // The patient, on a phone, from the link.
  const patient = await openPage(browser, server, PHONE);
  await go(patient, link);
  await patient.locator('h1', { hasText: 'Bonjour Jeanne' }).waitFor();
  assert.match(await patient.locator('main').innerText(), /avec Dr Paul Martin/);
  await capture(patient, 'visit-consent');
  const cont = patient.locator('button', { hasText: 'Continuer' });
  assert.equal(await cont.isDisabled(), true, 'consent first');
  await patient.check('.visit-agree input');
  await cont.click();
  await patient.locator('h2', { hasText: 'Vérifions votre caméra' }).waitFor();
  await patient.locator('.visit-check-ok', { hasText: 'Caméra' }).waitFor();
  await patient.locator('.visit-check-ok', { hasText: 'Micro' }).waitFor();
  await patient.locator('.visit-check-ok', { hasText: 'Connexion' }).waitFor();
  await patient.waitForFunction(() => document.querySelector('video.visit-preview')?.videoWidth > 0, null, { timeout: 10000 }); // the camera preview shows
  await capture(patient, 'visit-check');
  await patient.click('button:has-text("Entrer en salle d’attente")');
  await patient.locator('h2', { hasText: 'Vous êtes en salle d’attente' }).waitFor();
  await capture(patient, 'visit-waiting');

  // The practitioner is told at once.
  await pro.locator('.care-notice', { hasText: 'Jeanne DUPONT est en salle d’attente.' }).waitFor();
  await row.locator('.care-state-waiting', { hasText: /En attente depuis \d\d:\d\d/ }).waitFor();
  await capture(pro, 'care-waiting');
  // A word for the waiting patient, read at once in the waiting room.
  await row.locator('button', { hasText: 'Message au patient' }).click();
  const say = pro.locator('dialog[open]');
  await say.locator('button', { hasText: 'Je suis à vous dans un instant.' }).click();
  await say.locator('button', { hasText: 'Envoyer' }).click();
  await pro.locator('.care-notice', { hasText: 'Message envoyé à Jeanne DUPONT.' }).waitFor();
  await patient.locator('.visit-word', { hasText: 'Je suis à vous dans un instant.' }).waitFor({ timeout: 10000 });
  await row.locator('button', { hasText: 'Faire entrer Jeanne DUPONT' }).click();
  await row.locator('.care-state-in_call').waitFor();

  await patient.locator('h2', { hasText: 'C’est à vous' }).waitFor({ timeout: 15000 });
  await capture(patient, 'visit-admitted');

  await row.locator('button', { hasText: 'Terminer' }).click();
  const dialog = pro.locator('dialog[open]');
  await dialog.locator('select').selectOption('TC');
  await dialog.locator('textarea').fill('Image figée 20 secondes');
  await dialog.locator('button', { hasText: 'Enregistrer et terminer' }).click();
  await row.locator('.care-state-done').waitFor();
  await patient.locator('h2', { hasText: 'La consultation est terminée' }).waitFor({ timeout: 15000 });
  await capture(patient, 'visit-end', { sizes: [PHONE] });
  assert.deepEqual(patient.problems, []);
  assert.deepEqual(pro.problems, []);
  await patient.context().close();
  await pro.context().close();
});

test('a cancelled consultation\'s link says so, plainly', async () => {
  assert.deepEqual(await sendHl7(mllp, [siu({ id: 'RDV-E2', control: 'E2', start: soon(), family: 'MARTIN', given: 'Paul' })]), ['AA']);
  const link = await linkOf('MARTIN');
  assert.deepEqual(await sendHl7(mllp, [siu({ event: 'S15', id: 'RDV-E2', control: 'E2c', start: soon(), family: 'MARTIN', given: 'Paul' })]), ['AA']);
  const patient = await openPage(browser, server, PHONE);
  await go(patient, link);
  await patient.locator('.alert', { hasText: 'Cette consultation a été annulée' }).waitFor();
  await capture(patient, 'visit-cancelled');
  await patient.context().close();
});

test('the secretariat sees the invitations that could not go, and why', async () => {
  const port = await freePort();
  const deadRelay = await freePort(); // nothing listens there
  const s = await startServer({ CARECOMM_MLLP_LISTEN: `127.0.0.1:${port}`, CARECOMM_SMTP_URL: `smtp://127.0.0.1:${deadRelay}`, CARECOMM_OUTBOX_RETRY_SECONDS: '600' });
  try {
    const made = s.cli(['user', 'create', 'dr.martin', '--role', 'practitioner', '--ident', PRACTITIONER_IDENT], { input: `${PASSWORD}\n` });
    assert.equal(made.code, 0, made.stderr);
    const sec = await personForBrowser(s, { name: 'sec.dubois' }, 'secretary');
    assert.deepEqual(await sendHl7(port, [siu({ id: 'RDV-U1', control: 'U1', start: soon(), family: 'LEBLANC', given: 'Rose' })]), ['AA']);
    await waitFor(() => /patient notification not sent/.test(s.logs), { what: 'a failed send' });
    const page = await openPage(browser, s);
    await loginInBrowser(page, sec);
    await go(page, '/consultations');
    const panel = page.locator('.care-undelivered');
    await panel.locator('li', { hasText: 'Rose LEBLANC' }).waitFor();
    assert.match(await panel.innerText(), /invitation \(e-mail\).*1 essai/s);
    await capture(page, 'care-undelivered');
    await page.context().close();
  } finally {
    await s.stop();
    s.cleanup();
  }
});
