// A meeting of three from a conversation, in three real Chromium windows of the web app, going
// only through carecommd: Alice clicks "Call" in the group's conversation; Bruno, on another
// page of the app, and Chloé are rung anywhere (the prompt), answer, and land in the call; every
// one of them decodes both others' video. Janus is then killed mid-call: carecommd restarts it
// and the three are back in the call by themselves, each decoding both others again. Alice
// shares her screen and both others see it beside the cameras; she hangs up; a call that nobody
// answers leaves a missed call in the conversation.
//
// Janus never uses loopback for media: the file runs itself again in a network namespace
// (lib/netns.js).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, go, capture, loginInBrowser, personForBrowser, TABLET, PHONE } from './lib/web.js';
import { waitFor } from '../integration/lib/accounts.js';
import { client, createConversation } from '../integration/lib/msg.js';
import { netnsTest, mediaEnv } from './lib/netns.js';
import { recordPeerConnections, growing, sentLayers } from './lib/rtc.js';

const MEDIA_IP = '10.99.0.3';
const inNetns = netnsTest(import.meta.url, { title: 'a meeting of three from a conversation in a network namespace', mediaIp: MEDIA_IP, inner: 3 });

let server, browser, conv;
const people = {
  alice: { display: 'Alice Martin', role: 'practitioner' },
  bruno: { display: 'Bruno Petit', role: 'nurse' },
  chloe: { display: 'Chloé Roux', role: 'nurse' },
};

if (inNetns) {
  before(async () => {
    server = await startServer({ ...(await mediaEnv(MEDIA_IP)), CARECOMM_CALL_RING_SECONDS: '8' });
    await waitFor(async () => (await server.request('GET', '/readyz')).status === 200, { what: 'media ready', timeout: 30000 });
    for (const [name, who] of Object.entries(people)) await personForBrowser(server, Object.assign(who, { name }), who.role);
    conv = await createConversation(client(server, people.alice), {
      kind: 'group',
      name: 'Staff de cardiologie',
      members: [people.bruno.userId, people.chloe.userId],
    });
    browser = await launchBrowser();
    const sizes = { alice: undefined, bruno: TABLET, chloe: PHONE };
    for (const who of Object.values(people)) {
      who.page = await openPage(browser, server, sizes[who.name]);
      await who.page.addInitScript(recordPeerConnections);
      await loginInBrowser(who.page, who);
    }
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await server.stop();
      server.cleanup();
    }
  });

  const everyoneSeesTheOthers = (what) =>
    Promise.all(Object.values(people).map((who) => growing(who.page, `${who.name}: ${what}`, { audio: true, streams: 2, timeout: 45000 })));

  test('three in a call from a conversation, rung anywhere; Janus killed mid-call comes back by itself', { timeout: 240000 }, async () => {
    const { alice, bruno, chloe } = people;
    await go(alice.page, `/messages/${conv.id}`);
    await go(bruno.page, '/account'); // elsewhere in the app
    await go(chloe.page, '/');
    await alice.page.locator('.conv-call-btn').click();
    await alice.page.locator('.call-dock .call').waitFor();

    for (const who of [bruno, chloe]) {
      const prompt = who.page.locator('.call-incoming', { hasText: 'Alice Martin vous appelle' });
      await prompt.waitFor({ timeout: 20000 });
      if (who === bruno) await capture(who.page, 'call-incoming', { sizes: [TABLET] });
      await prompt.locator('button', { hasText: 'Répondre' }).click();
      await who.page.waitForURL(new RegExp(`/messages/${conv.id}$`));
    }
    await alice.page.locator('.call-dock-note', { hasText: 'a répondu' }).waitFor();
    await everyoneSeesTheOthers('both others decoded');
    for (const who of [alice, bruno, chloe]) {
      const names = await who.page.locator('.call-dock .call-peer figcaption').allInnerTexts();
      assert.equal(names.length, 2, `${who.name} sees ${names}`);
      assert.ok(!names.includes(who.display), `${who.name} is not among their own peers`);
    }
    await capture(alice.page, 'call-three');
    // Each camera goes out in several simulcast layers, for the weak links to get a lower one.
    assert.ok((await sentLayers(alice.page)).length >= 2, `alice sends layers ${await sentLayers(alice.page)}`);

    // Janus dies mid-call: the supervisor restarts it; every page rejoins without a click.
    const pid = Number(fs.readFileSync(path.join(server.dataDir, 'media/janus.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await alice.page.locator('.call[data-status="reconnecting"], .call[data-status="joining"]').first().waitFor({ timeout: 15000 }).catch(() => {});
    await everyoneSeesTheOthers('both others decoded again after Janus restarted');
    for (const who of [alice, bruno, chloe]) assert.equal(await who.page.locator('.call-dock .call').getAttribute('data-status'), 'joined');

    // The host's list: Chloé raises her hand, Alice sees it and asks Bruno to mute.
    await chloe.page.locator('.call-dock button', { hasText: 'Lever la main' }).click();
    await alice.page.locator('.call-dock button', { hasText: 'Participants (3)' }).click();
    const list = alice.page.locator('.call-people');
    await list.locator('li', { hasText: 'Chloé Roux' }).locator('.call-hand', { hasText: 'main levée' }).waitFor();
    await list.locator('li', { hasText: 'Bruno Petit' }).locator('button', { hasText: 'Couper son micro' }).click();
    await bruno.page.locator('.call-muted-note').waitFor();
    assert.equal(await bruno.page.locator('.call-dock button', { hasText: 'Micro' }).getAttribute('aria-pressed'), 'false');
    assert.equal(await chloe.page.locator('.call-dock button', { hasText: 'Participants (3)' }).count(), 1);
    assert.equal(await chloe.page.locator('.call-people button', { hasText: 'Retirer' }).count(), 0, 'only the host has these');
    // The speaker view and the devices.
    await alice.page.locator('.call-dock button', { hasText: 'Vue orateur' }).click();
    await alice.page.locator('.call-layout-speaker').waitFor();
    await alice.page.locator('.call-dock button', { hasText: 'Appareils' }).click();
    assert.ok((await alice.page.locator('.call-devices select').count()) === 2);
    await capture(alice.page, 'call-host');

    // Alice shares her screen (Chromium's fake screen): a second video stream of hers that the
    // others receive beside her camera and decode, shown as "Écran de Alice Martin".
    await alice.page.locator('.call-dock button', { hasText: 'Partager l’écran' }).click();
    await alice.page.locator('.call-dock button', { hasText: 'Arrêter le partage' }).waitFor();
    for (const who of [bruno, chloe]) {
      await who.page.locator('.call-dock .call-screen figcaption', { hasText: 'Écran de Alice Martin' }).waitFor({ timeout: 20000 });
      await growing(who.page, `${who.name}: Alice's screen beside the two cameras`, { audio: false, streams: 3, timeout: 30000 });
    }
    await capture(bruno.page, 'call-screen', { sizes: [TABLET] });
    await alice.page.locator('.call-dock button', { hasText: 'Arrêter le partage' }).click();
    await bruno.page.locator('.call-dock .call-screen').waitFor({ state: 'detached', timeout: 20000 });

    for (const who of [alice, bruno, chloe]) {
      await who.page.locator('.call-hangup').click();
      await who.page.locator('.call-dock').waitFor({ state: 'detached' });
    }
    for (const who of [alice, bruno, chloe]) assert.deepEqual(who.page.problems, []);
  });

  test('a call nobody answers is a missed call in the conversation; a declined one says so', { timeout: 90000 }, async () => {
    const { alice, bruno, chloe } = people;
    await alice.page.locator('.conv-call-btn').click();
    // Bruno declines; Chloé lets it ring.
    const prompt = bruno.page.locator('.call-incoming');
    await prompt.locator('button', { hasText: 'Refuser' }).click();
    await alice.page.locator('.call-dock-note', { hasText: 'Bruno Petit ne peut pas répondre' }).waitFor();
    await chloe.page.locator('.call-incoming').waitFor();
    await chloe.page.locator('.call-incoming').waitFor({ state: 'detached', timeout: 20000 });
    await alice.page.locator('.call-dock-note', { hasText: 'pas de réponse' }).waitFor({ timeout: 20000 });
    await alice.page.locator('.call-hangup').click();
    // The missed call is in the conversation for everyone, like a message.
    await go(chloe.page, `/messages/${conv.id}`);
    await chloe.page.locator('.msg-list', { hasText: 'Appel manqué' }).waitFor();
  });

  test('a meeting planned from the Meetings page: the invitee sees it at once and joins it', { timeout: 90000 }, async () => {
    const { alice, bruno } = people;
    await go(alice.page, '/meetings');
    await go(bruno.page, '/meetings');
    await alice.page.click('button:has-text("Planifier une réunion")');
    const form = alice.page.locator('form.meet-plan');
    await form.locator('label:has-text("Titre") input').fill('Point sur les lits');
    const soon = new Date(Date.now() + 15 * 60000);
    await form.locator('input[type=date]').fill(soon.toLocaleDateString('en-CA', { timeZone: 'Europe/Paris' }));
    await form.locator('input[type=time]').fill(soon.toLocaleTimeString('fr-FR', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit' }));
    await form.locator('input[type=search]').fill('Bruno');
    await form.locator('button', { hasText: 'Ajouter Bruno Petit' }).click();
    await form.locator('textarea').fill('1. Lits disponibles');
    await form.locator('button[type=submit]').click();
    const card = bruno.page.locator('.meet-card', { hasText: 'Point sur les lits' });
    await card.waitFor(); // live, from the invitation event
    assert.match(await card.innerText(), /1\. Lits disponibles/);
    await capture(bruno.page, 'meetings', { sizes: [TABLET] });
    await card.locator('button', { hasText: 'Rejoindre' }).click();
    await alice.page.locator('.meet-card', { hasText: 'Point sur les lits' }).locator('button', { hasText: 'Rejoindre' }).click();
    await growing(alice.page, 'alice in the planned meeting', { streams: 1 });
    for (const who of [alice, bruno]) await who.page.locator('.call-hangup').click();
  });
}
