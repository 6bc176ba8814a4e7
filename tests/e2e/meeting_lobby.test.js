// A guest from outside in a meeting, in real Chromium windows of the web app, going only through
// carecommd: Alice invites "Dr Martin (CHU Lyon)" from the conversation (the link is shown once)
// and opens the call; Dr Martin, with no account, opens the link in another browser, checks camera
// and microphone, asks to come in and waits; Alice sees the waiting room and lets the guest in;
// each decodes the other's video and hears the other. A second guest with the same link is turned
// away and told so. Withdrawing the invitation ends the guest's page at once.
//
// Janus never uses loopback for media: the file runs itself again in a network namespace
// (lib/netns.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, go, capture, loginInBrowser, personForBrowser, PHONE } from './lib/web.js';
import { waitFor } from '../integration/lib/accounts.js';
import { client, createConversation } from '../integration/lib/msg.js';
import { netnsTest, mediaEnv } from './lib/netns.js';
import { recordPeerConnections, growing } from './lib/rtc.js';

const MEDIA_IP = '10.99.0.4';
const inNetns = netnsTest(import.meta.url, { title: 'a guest from outside let in from the waiting room, in a network namespace', mediaIp: MEDIA_IP, inner: 2 });

let server, browser, conv;
const alice = { display: 'Alice Martin', role: 'practitioner' };
const bruno = { display: 'Bruno Petit', role: 'nurse' };

if (inNetns) {
  before(async () => {
    server = await startServer(await mediaEnv(MEDIA_IP));
    await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
    await personForBrowser(server, Object.assign(alice, { name: 'alice' }), alice.role);
    await personForBrowser(server, Object.assign(bruno, { name: 'bruno' }), bruno.role);
    conv = await createConversation(client(server, alice), { kind: 'group', name: 'RCP cardiologie', members: [bruno.userId] });
    browser = await launchBrowser();
    alice.page = await openPage(browser, server);
    await alice.page.addInitScript(recordPeerConnections);
    await loginInBrowser(alice.page, alice);
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await server.stop();
      server.cleanup();
    }
  });

  let url;
  let guest;

  test('invited by a link, the guest waits until the host lets them in; then both see and hear each other', { timeout: 150000 }, async () => {
    await go(alice.page, `/messages/${conv.id}`);
    await alice.page.locator('.conv-invite-btn').click();
    const dialog = alice.page.locator('dialog[open]');
    await dialog.getByLabel('Nom affiché').fill('Dr Martin (CHU Lyon)');
    await dialog.getByLabel('Valable').selectOption('8');
    await dialog.locator('button', { hasText: 'Créer le lien' }).click();
    url = await dialog.locator('.invite-url').inputValue();
    assert.match(url, /\/join\/[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    await dialog.locator('.invite-list li', { hasText: 'Dr Martin (CHU Lyon)' }).waitFor();
    await capture(alice.page, 'invite-guest');
    await dialog.locator('button', { hasText: 'Fermer' }).last().click();
    await alice.page.locator('.conv-call-btn').click();
    await alice.page.locator('.call-dock .call[data-status="joined"]').waitFor({ timeout: 30000 });

    // The guest: no account, a phone, the link.
    guest = await openPage(browser, server, PHONE);
    await guest.addInitScript(recordPeerConnections);
    await guest.goto(url.replace(/^https?:\/\/[^/]+/, server.url));
    await guest.locator('h1', { hasText: 'Bonjour Dr Martin (CHU Lyon)' }).waitFor();
    await guest.locator('.patient-lead', { hasText: 'RCP cardiologie' }).waitFor();
    await guest.locator('.visit-check-ok', { hasText: 'Caméra' }).waitFor();
    await guest.locator('button', { hasText: 'Demander à entrer' }).click();
    await guest.locator('.call-status', { hasText: 'salle d’attente' }).waitFor({ timeout: 20000 });
    await capture(guest, 'guest-waiting', { sizes: [PHONE] });

    // Alice sees who waits, and lets them in.
    const lobby = alice.page.locator('.call-lobby');
    await lobby.locator('li', { hasText: 'Dr Martin (CHU Lyon)' }).waitFor({ timeout: 20000 });
    await capture(alice.page, 'call-lobby');
    await lobby.locator('button', { hasText: 'Faire entrer' }).click();
    await lobby.waitFor({ state: 'detached' });
    await guest.locator('.call[data-status="joined"]').waitFor({ timeout: 30000 });
    await growing(alice.page, 'alice decodes the guest', { audio: true, streams: 1, timeout: 45000 });
    await growing(guest, 'the guest decodes alice', { audio: true, streams: 1, timeout: 45000 });
    const names = await alice.page.locator('.call-dock .call-peer figcaption').allInnerTexts();
    assert.deepEqual(names, ['Dr Martin (CHU Lyon)']);
    // The guest has the essentials only: no host's tools, no participants' list.
    assert.equal(await guest.locator('.call-people, .call-lobby, button:has-text("Participants")').count(), 0);
    for (const p of [alice.page, guest]) assert.deepEqual(p.problems, []);
  });

  test('a second guest is turned away and told so; a withdrawn invitation ends the guest\'s page', { timeout: 90000 }, async () => {
    const other = await openPage(browser, server, PHONE);
    await other.goto(url.replace(/^https?:\/\/[^/]+/, server.url));
    await other.locator('button', { hasText: 'Demander à entrer' }).click();
    const lobby = alice.page.locator('.call-lobby');
    await lobby.locator('li', { hasText: 'Dr Martin (CHU Lyon)' }).waitFor({ timeout: 20000 });
    await lobby.locator('button', { hasText: 'Refuser' }).click();
    await other.locator('.call-status', { hasText: 'n’a pas accepté' }).waitFor({ timeout: 20000 });
    await other.locator('button', { hasText: 'Demander à nouveau' }).waitFor();

    // Alice withdraws the invitation (from the conversation, the call going on below): the guest
    // in the call is out, their page says why.
    await alice.page.locator('.conv-invite-btn').click();
    const dialog = alice.page.locator('dialog[open]');
    await dialog.locator('.invite-list li', { hasText: 'Dr Martin (CHU Lyon)' }).locator('button', { hasText: 'Retirer' }).click();
    await dialog.locator('.alert', { hasText: 'Invitation retirée' }).waitFor();
    await guest.locator('.alert', { hasText: 'Cette invitation a été retirée' }).waitFor({ timeout: 20000 });
    await alice.page.locator('.call-dock .call-peer').waitFor({ state: 'detached', timeout: 20000 });
    for (const p of [alice.page, guest, other]) assert.deepEqual(p.problems, []);
  });
}
