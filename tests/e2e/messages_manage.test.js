// Managing a conversation and urgent reminders in a real Chromium, three people in three browser
// contexts: Alice (doctor, desktop) owns a channel, Bruno (nurse, tablet) is in it, Chloé
// (secretary, phone) is invited then removed. From the details dialog Alice renames the channel
// (Bruno sees the new name live), invites Chloé found in the directory (she sees the channel),
// removes her, archives (Bruno sees a read-only banner and no composer) and unarchives; Bruno
// leaves (Alice sees the member list change). An urgent message Bruno does not acknowledge comes
// back as a banner after the server's (short) reminder interval, with the count in the tab's
// title; "Open" goes to the message, "Acknowledge" clears it and Alice sees it; an
// acknowledgement from another device clears it too. The tests run in order and share the people.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, go, capture, Authenticator, PASSWORD, PHONE, TABLET, DESKTOP } from './lib/web.js';
import { loginReady } from '../integration/lib/harness.js';

let server;
let browser;
const alice = { name: 'alice.martin', display: 'Dr Alice Martin', role: 'practitioner', page: null };
const bruno = { name: 'bruno.petit', display: 'Bruno Petit', role: 'nurse', page: null };
const chloe = { name: 'chloe.roux', display: 'Chloé Roux', role: 'secretary', page: null };
const REMIND_SECONDS = 2;

before(async () => {
  server = await startServer({ CARECOMM_MSG_URGENT_REMINDER_SECONDS: String(REMIND_SECONDS) });
  for (const who of [alice, bruno, chloe]) {
    const r = server.cli(['user', 'create', who.name, '--role', who.role, '--display', who.display], { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    const ready = await loginReady(server, who.name);
    who.auth = new Authenticator(ready.secret);
    who.token = ready.token; // an API session: "another device"
    who.auth.lastStep = Math.floor(Date.now() / 30000);
  }
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

async function login(page, who) {
  await go(page, '/login');
  await page.fill('#login-username', who.name);
  await page.fill('#login-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('#login-code').waitFor();
  await page.fill('#login-code', await who.auth.code());
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/`);
  await page.locator('.conn[data-state="connected"]').waitFor({ timeout: 20000 });
}

const convLink = (page, name) => page.locator('.conv-link', { hasText: name });
const message = (page, text) => page.locator('.conv .msg', { hasText: text });
const composer = (page) => page.locator('.conv .composer textarea');
const details = (page) => page.locator('dialog[open]', { has: page.locator('#details-members-h') });
const memberRow = (page, name) => details(page).locator('.details-members li', { hasText: name });

// Waits until the page's title satisfies the test (the tab title is not in the DOM tree).
async function titleMatches(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.title), re.source);
  return page.title();
}

async function openDetails(page) {
  await page.click('.conv-head button:has-text("Détails")');
  await details(page).locator('#details-members-h').waitFor();
}

test('Alice creates a channel with Bruno; the details dialog shows members, roles and her actions', async () => {
  const a = (alice.page = await openPage(browser, server, DESKTOP));
  const b = (bruno.page = await openPage(browser, server, TABLET));
  await login(a, alice);
  await login(b, bruno);
  await go(a, '/messages');
  await a.click('button:has-text("Nouveau canal")');
  const dialog = a.locator('dialog[open]');
  await dialog.locator('#conv-name').fill('garde-nuit');
  await dialog.locator('#people-q').fill('brun');
  await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).click();
  await dialog.locator('button[type=submit]').click();
  await a.locator('#conv-title', { hasText: 'garde-nuit' }).waitFor();

  await go(b, '/messages');
  await convLink(b, 'garde-nuit').click();
  await b.locator('#conv-title', { hasText: 'garde-nuit' }).waitFor();
  await composer(b).waitFor();

  await openDetails(a);
  const d = details(a);
  assert.match(await d.locator('h2').innerText(), /Détails de garde-nuit/);
  await memberRow(a, 'Bruno Petit').locator('.presence[data-status="online"]').waitFor();
  assert.match(await memberRow(a, 'Dr Alice Martin').innerText(), /\(vous\)[\s\S]*Propriétaire/i);
  assert.match(await memberRow(a, 'Bruno Petit').innerText(), /Membre/i);
  assert.equal(await d.locator('#details-members-h').innerText(), 'Membres (2)');
  for (const label of ['Renommer ou changer le sujet', 'Inviter des collègues', 'Archiver', 'Quitter la conversation'])
    assert.equal(await d.locator(`button:has-text("${label}")`).count(), 1, label);
  assert.equal(await memberRow(a, 'Bruno Petit').locator('button[aria-label="Retirer Bruno Petit de la conversation"]').count(), 1);
  assert.equal(await memberRow(a, 'Dr Alice Martin').locator('button').count(), 0, 'no removing oneself: one leaves');
  await capture(a, 'messages-details-owner');

  // Bruno, a plain member of a public channel: no renaming, removing or archiving; inviting and leaving.
  await openDetails(b);
  const db = details(b);
  assert.equal(await db.locator('button:has-text("Renommer")').count(), 0);
  assert.equal(await db.locator('button:has-text("Archiver")').count(), 0);
  assert.equal(await db.locator('button:has-text("Retirer")').count(), 0);
  assert.equal(await db.locator('button:has-text("Inviter des collègues")').count(), 1);
  assert.equal(await db.locator('button:has-text("Quitter la conversation")').count(), 1);
  await capture(b, 'messages-details-member', { sizes: [PHONE, TABLET] });
  await db.locator('.actions button:has-text("Fermer")').click();
  await details(b).waitFor({ state: 'detached' });
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test('Alice renames the channel and sets its topic; Bruno sees both live', async () => {
  const a = alice.page;
  const b = bruno.page;
  const d = details(a);
  await d.locator('button:has-text("Renommer ou changer le sujet")').click();
  await d.locator('#details-name').fill('');
  await d.locator('button[type=submit]').click();
  await d.locator('#details-name[aria-invalid="true"]').waitFor();
  await d.locator('#details-name').fill('garde-nuit-cardio');
  await d.locator('#details-topic').fill('Relèves de nuit en cardiologie');
  await d.locator('button[type=submit]').click();
  await d.locator('.details-status', { hasText: 'Modifications enregistrées.' }).waitFor();
  assert.match(await d.locator('h2').innerText(), /garde-nuit-cardio/);
  assert.match(await d.locator('.details-dl').innerText(), /Relèves de nuit en cardiologie/);

  await b.locator('#conv-title', { hasText: 'garde-nuit-cardio' }).waitFor();
  await b.locator('.conv-sub', { hasText: 'Relèves de nuit en cardiologie' }).waitFor();
  await convLink(b, 'garde-nuit-cardio').waitFor();
});

test('Alice invites Chloé found in the directory, who sees the channel; then removes her', async () => {
  const a = alice.page;
  const c = (chloe.page = await openPage(browser, server, PHONE));
  await login(c, chloe);
  await go(c, '/messages');
  await c.locator('#channels-h').waitFor();
  assert.equal(await convLink(c, 'garde-nuit-cardio').count(), 0);

  const d = details(a);
  await d.locator('button:has-text("Inviter des collègues")').click();
  await d.locator('#people-q').fill('chlo');
  // Members already in are not offered.
  await d.locator('.person-btn', { hasText: 'Chloé Roux' }).waitFor();
  assert.equal(await d.locator('.person-btn', { hasText: 'Bruno Petit' }).count(), 0);
  await d.locator('.person-btn', { hasText: 'Chloé Roux' }).click();
  await d.locator('.details-status', { hasText: 'Chloé Roux a été invité(e).' }).waitFor();
  await memberRow(a, 'Chloé Roux').waitFor();
  assert.equal(await d.locator('#details-members-h').innerText(), 'Membres (3)');

  await convLink(c, 'garde-nuit-cardio').waitFor();
  await convLink(c, 'garde-nuit-cardio').click();
  await c.locator('#conv-title', { hasText: 'garde-nuit-cardio' }).waitFor();

  await memberRow(a, 'Chloé Roux').locator('button[aria-label="Retirer Chloé Roux de la conversation"]').click();
  await d.locator('.details-status', { hasText: 'Chloé Roux a été retiré(e).' }).waitFor();
  await memberRow(a, 'Chloé Roux').waitFor({ state: 'detached' });
  assert.equal(await d.locator('#details-members-h').innerText(), 'Membres (2)');
  // Chloé's open page says so, and the channel leaves her list.
  await c.locator('.conv .alert', { hasText: 'Vous ne faites plus partie de cette conversation' }).waitFor();
  await c.goto(`${server.url}/messages`);
  await c.locator('#channels-h').waitFor();
  assert.equal(await convLink(c, 'garde-nuit-cardio').count(), 0);
  assert.deepEqual(c.problems, []);
  await c.context().close();
  await d.locator('.actions button:has-text("Fermer")').click();
  await details(a).waitFor({ state: 'detached' });
});

test('an urgent message not acknowledged comes back as a banner; Open goes to it, Acknowledge clears it', async () => {
  const a = alice.page;
  const b = bruno.page;
  // Bruno is elsewhere in the messaging screen: the list alone.
  await go(b, '/messages');
  await convLink(b, 'garde-nuit-cardio').waitFor();

  await a.check('.conv .composer input[type=checkbox]');
  await composer(a).fill('Patient lit 4 : douleur thoracique, ECG à faire maintenant.');
  await composer(a).press('Enter');
  const sent = message(a, 'douleur thoracique');
  await sent.locator('.urgent-pending', { hasText: 'En attente : Bruno Petit' }).waitFor();

  // The tab counts it at once; the server's reminder brings the banner.
  assert.match(await titleMatches(b, /^\(1\) ⚠ /), /^\(1\) ⚠ Messagerie/);
  const banner = b.locator('.urgent-reminder[role="alert"]');
  await banner.waitFor({ timeout: REMIND_SECONDS * 1000 + 15000 });
  assert.match(await banner.innerText(), /Message de Dr Alice Martin dans #garde-nuit-cardio/);
  await capture(b, 'messages-urgent-reminder');

  // Open: the conversation at the message; the banner stays until acknowledged.
  await banner.locator('button:has-text("Ouvrir")').click();
  await b.waitForURL(/\/messages\/[0-9A-Z]{26}$/);
  await b.locator('#conv-title', { hasText: 'garde-nuit-cardio' }).waitFor();
  await b.locator('.conv .msg.msg-focus', { hasText: 'douleur thoracique' }).waitFor();
  assert.equal(await banner.count(), 1);

  await banner.locator('button:has-text("Accuser réception")').click();
  await banner.waitFor({ state: 'detached' });
  await titleMatches(b, /^garde-nuit-cardio · Messagerie/);
  await message(b, 'douleur thoracique').locator('.urgent-acked', { hasText: 'Vous avez accusé réception' }).waitFor();
  await sent.locator('.urgent-acked', { hasText: 'Reçu par : Bruno Petit' }).waitFor();
  assert.equal(await sent.locator('.urgent-pending').count(), 0);
  assert.deepEqual(b.problems, []);
});

test('a reminder acknowledged from another device goes away', async () => {
  const a = alice.page;
  const b = bruno.page;
  await go(b, '/messages');
  await convLink(b, 'garde-nuit-cardio').waitFor();
  await a.check('.conv .composer input[type=checkbox]');
  await composer(a).fill('Rappel : bilan sanguin du lit 7 avant 6 h.');
  await composer(a).press('Enter');
  const sent = message(a, 'bilan sanguin du lit 7');
  await sent.locator('.urgent-pending').waitFor();
  const id = await sent.getAttribute('data-id');

  const banner = b.locator('.urgent-reminder[role="alert"]', { hasText: 'Dr Alice Martin' });
  await banner.waitFor({ timeout: REMIND_SECONDS * 1000 + 15000 });
  await titleMatches(b, /^\(1\) ⚠ /);
  // Bruno acknowledges on his phone (another session): the banner of this tab goes too.
  const r = await server.request('POST', `/api/v1/messages/${id}/ack`, { token: bruno.token });
  assert.equal(r.status, 200, r.text);
  await banner.waitFor({ state: 'detached' });
  await titleMatches(b, /^Messagerie/);
  await sent.locator('.urgent-acked', { hasText: 'Reçu par : Bruno Petit' }).waitFor();
});

test('Alice archives: Bruno sees a read-only banner and no composer; unarchived, he can write again', async () => {
  const a = alice.page;
  const b = bruno.page;
  await convLink(b, 'garde-nuit-cardio').click();
  await composer(b).waitFor();

  await openDetails(a);
  const d = details(a);
  await d.locator('button:has-text("Archiver")').click();
  await d.locator('.details-status', { hasText: 'Conversation archivée.' }).waitFor();
  assert.match(await d.locator('.details-dl').innerText(), /Archivée \(lecture seule\)/);
  // Read-only: no renaming or inviting any more; unarchiving instead.
  assert.equal(await d.locator('button:has-text("Renommer")').count(), 0);
  assert.equal(await d.locator('button:has-text("Inviter des collègues")').count(), 0);
  await d.locator('button:has-text("Désarchiver")').waitFor();

  await b.locator('.conv-archived-banner', { hasText: 'Conversation archivée : lecture seule' }).waitFor();
  await composer(b).waitFor({ state: 'detached' });
  assert.equal(await b.locator('.conv .composer').count(), 0);
  // The history is still there to read.
  await message(b, 'douleur thoracique').waitFor();
  await capture(b, 'messages-archived', { sizes: [PHONE, TABLET] });

  await d.locator('button:has-text("Désarchiver")').click();
  await d.locator('.details-status', { hasText: 'Conversation désarchivée.' }).waitFor();
  await composer(b).waitFor();
  assert.equal(await b.locator('.conv-archived-banner').count(), 0);
});

test('Bruno leaves after confirming; Alice sees the member list change', async () => {
  const a = alice.page;
  const b = bruno.page;
  await openDetails(b);
  const db = details(b);
  await db.locator('button:has-text("Quitter la conversation")').click();
  // The confirmation is a dialog over the details dialog.
  const confirm = b.locator('dialog[open]:not(:has(#details-members-h))');
  await confirm.waitFor();
  assert.equal(await confirm.locator('h2').innerText(), 'Quitter garde-nuit-cardio ?');
  assert.match(await confirm.innerText(), /Vous ne recevrez plus ses messages/);
  // Cancel first: nothing happens.
  await confirm.locator('button:has-text("Annuler")').click();
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await memberRow(a, 'Bruno Petit').count(), 1);

  await db.locator('button:has-text("Quitter la conversation")').click();
  await confirm.locator('.actions button:has-text("Quitter la conversation")').click();
  await b.waitForURL(/\/messages$/);
  await b.locator('#channels-h').waitFor();
  await convLink(b, 'garde-nuit-cardio').waitFor({ state: 'detached' });

  await memberRow(a, 'Bruno Petit').waitFor({ state: 'detached' });
  assert.equal(await details(a).locator('#details-members-h').innerText(), 'Membres (1)');
  await a.locator('.conv-sub', { hasText: '1 membre(s)' }).waitFor();
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test('a direct conversation: its details offer no leaving, renaming or removing', async () => {
  const a = alice.page;
  await details(a).locator('.actions button:has-text("Fermer")').click();
  await a.click('button:has-text("Message direct")');
  const dialog = a.locator('dialog[open]');
  await dialog.locator('#people-q').fill('brun');
  await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).click();
  await a.locator('#conv-title', { hasText: 'Bruno Petit' }).waitFor();
  await openDetails(a);
  const d = details(a);
  await memberRow(a, 'Bruno Petit').waitFor();
  assert.match(await d.innerText(), /Une conversation directe ne se renomme pas et ne se quitte pas/);
  for (const label of ['Renommer', 'Inviter', 'Archiver', 'Quitter', 'Retirer']) assert.equal(await d.locator(`button:has-text("${label}")`).count(), 0, label);
  assert.deepEqual(a.problems, []);
});
