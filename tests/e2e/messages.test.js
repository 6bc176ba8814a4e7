// The messaging screen in a real Chromium, two people in two browser contexts: a doctor (Alice,
// desktop) and a nurse (Bruno, tablet). They find each other in the directory, chat with
// mentions completed from the keyboard, reply in a thread, react, edit and delete, read (the
// badges go away), send and acknowledge an urgent message, set their presence, search for an
// accented word typed without its accents, and Bruno's page misses nothing and repeats nothing
// across a network drop. Every state is checked as a person sees it; the screen is checked by
// axe-core and photographed at the three sizes. The tests run in order and share the people.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, go, capture, focusLandsOn, Authenticator, PASSWORD, PHONE, TABLET, DESKTOP } from './lib/web.js';
import { loginReady } from '../integration/lib/harness.js';

let server;
let browser;
const alice = { name: 'alice.martin', display: 'Dr Alice Martin', role: 'practitioner', page: null };
const bruno = { name: 'bruno.petit', display: 'Bruno Petit', role: 'nurse', page: null };
let dm = null; // the direct conversation's id

before(async () => {
  server = await startServer();
  for (const who of [alice, bruno]) {
    const r = server.cli(['user', 'create', who.name, '--role', who.role, '--display', who.display], { input: `${PASSWORD}\n` });
    assert.equal(r.code, 0, r.stderr);
    // 2FA enrolled over the API (its pages are tested by app.test.js); the browser logs in with
    // a code of the next step, which the server has not seen.
    const ready = await loginReady(server, who.name);
    who.auth = new Authenticator(ready.secret);
    who.recovery = ready.recovery;
    who.token = ready.token;
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

async function login(page, who, code) {
  await go(page, '/login');
  await page.fill('#login-username', who.name);
  await page.fill('#login-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('#login-code').waitFor();
  await page.fill('#login-code', code ?? (await who.auth.code()));
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/`);
  await page.locator('.conn[data-state="connected"]').waitFor({ timeout: 20000 });
}

const convLink = (page, name) => page.locator('.conv-link', { hasText: name });
const message = (page, text) => page.locator('.conv .msg', { hasText: text });
const threadMessage = (page, text) => page.locator('.thread-panel .msg', { hasText: text });
const composer = (page) => page.locator('.conv .composer textarea');

// Types text into a composer key by key, as a person does (the mention list reacts to keys).
async function type(page, locator, text) {
  await locator.click();
  await page.keyboard.type(text);
}

async function openActions(page, msg) {
  await msg.hover();
  await msg.locator('.msg-more').click();
}

test('the messaging screen opens empty, then a channel and a direct message are created', async () => {
  const page = (alice.page = await openPage(browser, server, DESKTOP));
  await login(page, alice);
  await page.click('#main-nav a:has-text("Messagerie")');
  await page.waitForURL(/\/messages$/);
  assert.equal(await page.locator('h1').innerText(), 'Messagerie');
  await page.locator('#channels-h').waitFor();
  assert.match(await page.locator('.conv-nav').innerText(), /Aucun canal pour l’instant/);
  assert.match(await page.locator('.msg-main').innerText(), /Aucune conversation ouverte/);
  await capture(page, 'messages-empty');

  // A public channel with a topic.
  await page.click('button:has-text("Nouveau canal")');
  const dialog = page.locator('dialog[open]');
  await dialog.locator('#conv-name').fill('cardio-soins');
  await dialog.locator('#conv-topic').fill('Coordination des soins en cardiologie');
  await dialog.locator('.person-btn').first().waitFor();
  await capture(page, 'messages-new-channel', { sizes: [PHONE, DESKTOP] });
  await dialog.locator('button[type=submit]').click();
  await page.waitForURL(/\/messages\/[0-9A-Z]{26}$/);
  await page.locator('#conv-title', { hasText: 'cardio-soins' }).waitFor();
  await convLink(page, 'cardio-soins').waitFor();
  assert.equal(await convLink(page, 'cardio-soins').getAttribute('aria-current'), 'page');

  // A direct message: the directory finds Bruno by a piece of his name.
  await page.click('button:has-text("Message direct")');
  await dialog.locator('#people-q').fill('brun');
  await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).waitFor();
  assert.match(await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).innerText(), /Infirmier/);
  assert.equal(await dialog.locator('.person-btn').count(), 1);
  await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).click();
  await page.locator('#conv-title', { hasText: 'Bruno Petit' }).waitFor();
  dm = page.url().split('/').pop();
  // Bruno has never connected: shown offline, by a label as well as the dot's shape.
  assert.equal(await page.locator('#conv-title .presence').getAttribute('aria-label'), 'Hors ligne');
  assert.equal(await convLink(page, 'Bruno Petit').getAttribute('aria-current'), 'page');
  assert.deepEqual(page.problems, []);
});

test('Bruno logs in, is shown online, and joins the public channel', async () => {
  const page = (bruno.page = await openPage(browser, server, TABLET));
  await login(page, bruno);
  await go(page, '/messages');
  // The direct conversation Alice started is already there.
  await convLink(page, 'Dr Alice Martin').waitFor();
  await alice.page.locator('#conv-title .presence[data-status="online"]').waitFor();

  await page.click('button:has-text("Parcourir les canaux")');
  const dialog = page.locator('dialog[open]');
  await dialog.locator('.channel-list li', { hasText: 'cardio-soins' }).waitFor();
  assert.match(await dialog.innerText(), /Coordination des soins en cardiologie/);
  await dialog.locator('button[aria-label="Rejoindre cardio-soins"]').click();
  await page.waitForURL(/\/messages\/[0-9A-Z]{26}$/);
  await page.locator('#conv-title', { hasText: 'cardio-soins' }).waitFor();
  await page.locator('.conv .composer textarea').waitFor();
  // Alice's channel now counts two members, live.
  await alice.page.locator('.conv-link', { hasText: 'cardio-soins' }).click();
  await alice.page.locator('.conv-sub', { hasText: '2 membre(s)' }).waitFor();
});

test('a mention completed from the keyboard; unread and mention badges; reading clears them', async () => {
  const a = alice.page;
  const b = bruno.page;
  await convLink(a, 'Bruno Petit').click();
  await a.waitForURL(new RegExp(`/messages/${dm}$`));
  const box = composer(a);
  await type(a, box, 'Bonjour @bru');
  const option = a.locator('.mention-list [role="option"]', { hasText: 'Bruno Petit' });
  await option.waitFor();
  assert.equal(await option.getAttribute('aria-selected'), 'true');
  assert.equal(await box.getAttribute('aria-activedescendant'), await option.getAttribute('id'));
  await capture(a, 'messages-mention', { sizes: [DESKTOP] });
  await a.keyboard.press('Enter'); // picks the person, does not send
  assert.equal(await box.inputValue(), 'Bonjour @bruno.petit ');
  assert.equal(await a.locator('.mention-list').count(), 0);
  await a.keyboard.type('le patient du lit 12 a un hématome au point de ponction.');
  await a.keyboard.press('Shift+Enter');
  await a.keyboard.type('Pouvez-vous vérifier ?');
  await a.keyboard.press('Enter');
  const sent = message(a, 'hématome au point de ponction');
  await sent.waitFor();
  assert.equal(await box.inputValue(), '', 'the composer is emptied');
  assert.equal(await sent.locator('.mention').innerText(), '@bruno.petit');
  assert.match(await sent.locator('.msg-body').innerText(), /ponction\.\nPouvez-vous vérifier \?/, 'Shift+Enter made a new line');
  assert.equal(await sent.locator('.msg-author').innerText(), 'Vous');

  // Bruno is in the channel: the direct conversation shows one unread message that mentions him.
  const link = convLink(b, 'Dr Alice Martin');
  await link.locator('.count-unread').waitFor();
  assert.equal(await link.locator('.count-unread [aria-hidden]').innerText(), '1');
  assert.equal(await link.locator('.count-mention [aria-hidden]').innerText(), '@1');
  assert.match(await link.innerText(), /1 message\(s\) non lu\(s\)/);
  await capture(b, 'messages-unread', { sizes: [TABLET] });

  // Opening it marks it read: the badges go away, and stay away after a reload.
  await link.click();
  await message(b, 'hématome au point de ponction').waitFor();
  await link.locator('.count-unread').waitFor({ state: 'detached' });
  await link.locator('.count-mention').waitFor({ state: 'detached' });
  await b.reload();
  await message(b, 'hématome au point de ponction').waitFor();
  await convLink(b, 'cardio-soins').waitFor();
  assert.equal(await convLink(b, 'Dr Alice Martin').locator('.count').count(), 0);
  await message(b, 'hématome').locator('.msg-author', { hasText: 'Dr Alice Martin' }).waitFor();
});

test('typing is shown; a reply in a thread with a mention; reactions; edit and delete', async () => {
  const a = alice.page;
  const b = bruno.page;
  await b.locator('.conn[data-state="connected"]').waitFor();
  // Bruno starts typing: Alice sees it.
  await type(b, composer(b), 'Je regarde');
  await a.locator('.typing', { hasText: 'Bruno Petit écrit…' }).waitFor();
  await composer(b).fill('');

  // Bruno replies in the thread of Alice's message, mentioning her with Tab.
  const root = message(b, 'hématome au point de ponction');
  await openActions(b, root);
  await root.locator('button:has-text("Répondre dans le fil")').click();
  const panel = b.locator('.thread-panel');
  await panel.locator('#thread-title').waitFor();
  await focusLandsOn(b, '#thread-title');
  await type(b, panel.locator('textarea'), 'Vu, @ali');
  await panel.locator('.mention-list [role="option"]', { hasText: 'Dr Alice Martin' }).waitFor();
  await b.keyboard.press('Tab');
  assert.equal(await panel.locator('textarea').inputValue(), 'Vu, @alice.martin ');
  await b.keyboard.type('je passe le voir dans 10 minutes.');
  await b.keyboard.press('Enter');
  await threadMessage(b, 'je passe le voir').waitFor();
  assert.equal(await threadMessage(b, 'je passe le voir').locator('.mention').innerText(), '@alice.martin');
  // The reply is in the thread, not in the main history.
  assert.equal(await message(b, 'je passe le voir').count(), 0);
  await root.locator('.thread-link', { hasText: '1 réponse' }).waitFor();
  await capture(b, 'messages-thread');

  // Alice sees "1 reply" under her message, live, and opens the thread.
  const aroot = message(a, 'hématome au point de ponction');
  await aroot.locator('.thread-link', { hasText: '1 réponse' }).click();
  await threadMessage(a, 'je passe le voir').waitFor();
  await threadMessage(a, 'je passe le voir').locator('.msg-author', { hasText: 'Bruno Petit' }).waitFor();
  await a.keyboard.press('Escape');
  await a.locator('.thread-panel').waitFor({ state: 'detached' });
  await b.click('.thread-panel button:has-text("Fermer")');

  // Bruno reacts with 👍; Alice sees it.
  await openActions(b, root);
  await root.locator('button[aria-label="Réagir avec 👍"]').click();
  await aroot.locator('.reaction', { hasText: '1' }).waitFor();
  assert.equal(await aroot.locator('.reaction').getAttribute('aria-pressed'), 'false');
  assert.equal(await root.locator('.reaction').getAttribute('aria-pressed'), 'true');

  // Alice pins her message; Bruno sees it marked and listed with the pins.
  await openActions(a, aroot);
  await aroot.locator('.msg-actions button:has-text("Épingler")').click();
  await root.locator('.tag-pinned').waitFor();
  await b.locator('.conv-head button', { hasText: 'Épinglés (1)' }).click();
  assert.match(await b.locator('.pins').innerText(), /Dr Alice Martin.*hématome/s);
  await b.locator('.conv-head button', { hasText: 'Épinglés (1)' }).click();

  // Alice edits a message of hers, then deletes it; Bruno sees each state.
  await type(a, composer(a), 'Dosage à 5 mg');
  await a.keyboard.press('Enter');
  const mine = message(a, 'Dosage à 5 mg');
  await mine.waitFor();
  await message(b, 'Dosage à 5 mg').waitFor();
  await openActions(a, mine);
  await mine.locator('button:has-text("Modifier")').click();
  const edit = a.locator('.msg-edit textarea');
  await edit.fill('Dosage à 2,5 mg');
  await a.keyboard.press('Enter');
  const edited = message(b, 'Dosage à 2,5 mg');
  await edited.locator('.msg-edited').waitFor();
  assert.equal(await edited.locator('.msg-edited').innerText(), '(modifié)');
  assert.equal(await message(b, 'Dosage à 5 mg').count(), 0);
  const amine = message(a, 'Dosage à 2,5 mg');
  const seq = await amine.getAttribute('data-seq');
  await openActions(a, amine);
  await amine.locator('.msg-actions button:has-text("Supprimer")').click();
  await a.locator('dialog[open] button.btn-danger').click();
  await b.locator(`.conv .msg[data-seq="${seq}"] .msg-body-deleted`).waitFor();
  assert.equal(await b.locator(`.conv .msg[data-seq="${seq}"] .msg-body`).innerText(), 'Message supprimé');
  assert.equal(await message(b, 'Dosage à 2,5 mg').count(), 0);
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});

test('an urgent message: the recipient acknowledges, the sender sees who has', async () => {
  const a = alice.page;
  const b = bruno.page;
  await a.check('.conv .composer input[type=checkbox]');
  assert.equal(await a.locator('.conv .composer button[type=submit]').innerText(), 'Envoyer en urgence');
  await type(a, composer(a), 'Lit 12 : saignement au point de ponction, venez tout de suite.');
  await a.keyboard.press('Enter');
  const sent = message(a, 'saignement au point de ponction');
  await sent.locator('.tag-urgent').waitFor();
  await sent.locator('.urgent-pending', { hasText: 'En attente : Bruno Petit' }).waitFor();
  assert.equal(await a.locator('.conv .composer input[type=checkbox]').isChecked(), false, 'the next message is not urgent');

  const got = message(b, 'saignement au point de ponction');
  await got.locator('.tag-urgent').waitFor();
  assert.equal(await got.locator('.tag-urgent').innerText(), 'URGENT');
  assert.ok((await got.getAttribute('class')).includes('msg-urgent'));
  await capture(b, 'messages-urgent');
  // Bruno reloads the page: the pending message is shown at once as a banner, not only at the next
  // reminder (this server reminds every 5 minutes).
  await b.reload();
  const banner = b.locator('.urgent-reminder[role="alert"]', { hasText: 'Dr Alice Martin' });
  await banner.waitFor();
  await got.locator('.tag-urgent').waitFor();
  await got.locator('button:has-text("Accuser réception")').click();
  await got.locator('.urgent-acked', { hasText: 'Vous avez accusé réception' }).waitFor();
  await banner.waitFor({ state: 'detached' });
  assert.equal(await got.locator('button:has-text("Accuser réception")').count(), 0);

  await sent.locator('.urgent-acked', { hasText: 'Reçu par : Bruno Petit' }).waitFor();
  assert.equal(await sent.locator('.urgent-pending').count(), 0);
  // Still so after going to another conversation and back.
  await convLink(a, 'cardio-soins').click();
  await a.locator('#conv-title', { hasText: 'cardio-soins' }).waitFor();
  await convLink(a, 'Bruno Petit').click();
  await message(a, 'saignement au point de ponction').locator('.urgent-acked', { hasText: 'Reçu par : Bruno Petit' }).waitFor();
  await capture(a, 'messages-urgent-acked', { sizes: [DESKTOP] });
});

test('presence: Bruno chooses "in consultation" with a text; Alice sees it', async () => {
  const a = alice.page;
  const b = bruno.page;
  await b.click('.my-presence');
  const dialog = b.locator('dialog[open]');
  await dialog.locator('label[for="presence-in_consultation"]').click();
  await dialog.locator('#presence-text').fill('Box 3 jusqu’à 11 h');
  await capture(b, 'messages-presence', { sizes: [PHONE] });
  await dialog.locator('button[type=submit]').click();
  await b.locator('.my-presence', { hasText: 'En consultation' }).waitFor();
  await a.locator('#conv-title .presence[data-status="in_consultation"]').waitFor();
  assert.equal(await a.locator('#conv-title .presence').getAttribute('aria-label'), 'En consultation : Box 3 jusqu’à 11 h');
  assert.match(await a.locator('.conv-sub').innerText(), /Box 3 jusqu’à 11 h/);
  await convLink(a, 'Bruno Petit').locator('.presence[data-status="in_consultation"]').waitFor();
});

test('search finds "hématome" typed without accents and opens the conversation at the message', async () => {
  const b = bruno.page;
  await convLink(b, 'cardio-soins').click();
  await b.locator('#conv-title', { hasText: 'cardio-soins' }).waitFor();
  await b.fill('#msg-q', 'HEMATOME');
  await b.press('#msg-q', 'Enter');
  const result = b.locator('.search-result').first();
  await result.waitFor();
  assert.equal(await b.locator('.search-result').count(), 1);
  assert.equal(await result.locator('mark').innerText(), 'hématome');
  assert.match(await result.innerText(), /Dr Alice Martin/);
  assert.equal(await b.locator('#results-h').textContent(), 'Résultats pour « HEMATOME »');
  await capture(b, 'messages-search');
  await result.click();
  await b.waitForURL(new RegExp(`/messages/${dm}$`));
  const focused = b.locator('.conv .msg.msg-focus');
  await focused.waitFor();
  assert.match(await focused.innerText(), /hématome au point de ponction/);
  await focusLandsOn(b, '.msg-focus');
  await b.click('button:has-text("Effacer")');
  await convLink(b, 'cardio-soins').waitFor();
});

test('a network drop: what was missed arrives once, in order, and the badge follows', async () => {
  const a = alice.page;
  const b = bruno.page;
  // Bruno reads the channel while Alice writes in the direct conversation.
  await convLink(b, 'cardio-soins').click();
  await b.locator('#conv-title', { hasText: 'cardio-soins' }).waitFor();
  await b.context().setOffline(true);
  await b.locator('.conn:not([data-state="connected"])').waitFor();
  for (const n of [1, 2, 3]) {
    await type(a, composer(a), `Point ${n} pendant la coupure`);
    await a.keyboard.press('Enter');
    await message(a, `Point ${n} pendant la coupure`).waitFor();
  }
  await b.context().setOffline(false);
  await b.locator('.conn[data-state="connected"]').waitFor({ timeout: 30000 });
  const link = convLink(b, 'Dr Alice Martin');
  await link.locator('.count-unread [aria-hidden]', { hasText: '3' }).waitFor();
  await link.click();
  await message(b, 'Point 3 pendant la coupure').waitFor();
  const texts = await b.locator('.conv .msg .msg-body').allInnerTexts();
  const points = texts.filter((x) => /pendant la coupure/.test(x));
  assert.deepEqual(points, ['Point 1 pendant la coupure', 'Point 2 pendant la coupure', 'Point 3 pendant la coupure']);
  const seqs = (await b.locator('.conv .msg').evaluateAll((els) => els.map((e) => Number(e.dataset.seq))));
  assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), 'in order');
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicate');
  await link.locator('.count-unread').waitFor({ state: 'detached' });

  // Live again: a new message arrives at once.
  await type(a, composer(a), 'Merci, tout est rentré dans l’ordre');
  await a.keyboard.press('Enter');
  await message(b, 'tout est rentré dans l’ordre').waitFor();
  assert.equal(await message(b, 'tout est rentré dans l’ordre').count(), 1);
});

test('a long history is read backwards, page by page, without a hole or a repeat', async () => {
  const b = bruno.page;
  const api = (method, path, body) => server.request(method, `/api/v1${path}`, { token: alice.token, body });
  const channel = (await api('GET', '/conversations')).body.conversations.find((c) => c.name === 'cardio-soins');
  for (let i = 1; i <= 120; i++) {
    const r = await api('POST', `/conversations/${channel.id}/messages`, { body: `Relevé ${i}` });
    assert.equal(r.status, 201);
  }
  await convLink(b, 'cardio-soins').locator('.count-unread [aria-hidden]', { hasText: '99+' }).waitFor();
  await convLink(b, 'cardio-soins').click();
  await message(b, 'Relevé 120').waitFor();
  const older = b.locator('.older button');
  for (const first of ['Relevé 71', 'Relevé 21']) {
    assert.equal(await b.locator('.conv .msg .msg-body').first().innerText(), first);
    await older.click();
    await b.locator('.conv .msg .msg-body').first().filter({ hasNotText: first }).waitFor();
  }
  // 120 messages: 71-120, then 21-70, then 1-20 and nothing older.
  assert.equal(await b.locator('.conv .msg .msg-body').first().innerText(), 'Relevé 1');
  await older.waitFor({ state: 'detached' });
  const texts = await b.locator('.conv .msg .msg-body').allInnerTexts();
  assert.deepEqual(texts, Array.from({ length: 120 }, (_, i) => `Relevé ${i + 1}`));
  await convLink(b, 'cardio-soins').locator('.count').waitFor({ state: 'detached' });
});

test('the phone: the list and the conversation are two screens', async () => {
  const page = await openPage(browser, server, PHONE);
  // Alice's phone is a second login: with a recovery code, as the TOTP step is spent.
  await login(page, alice, alice.recovery[0]);
  await go(page, '/messages');
  await convLink(page, 'Bruno Petit').click();
  await page.locator('#conv-title', { hasText: 'Bruno Petit' }).waitFor();
  assert.equal(await page.locator('.conv-nav').isVisible(), false);
  assert.equal(await page.locator('.conv-back').isVisible(), true);
  await capture(page, 'messages-phone-conversation', { sizes: [PHONE] });
  await page.click('.conv-back');
  await page.waitForURL(/\/messages$/);
  await page.locator('.conv-nav').waitFor();
  assert.equal(await page.locator('.msg-main').isVisible(), false);
  // English.
  await page.setViewportSize(DESKTOP);
  await page.click('#main-nav button[lang="en"]');
  await page.locator('h1', { hasText: 'Messages' }).waitFor();
  await convLink(page, 'Bruno Petit').click();
  await page.locator('.conv .msg', { hasText: 'hématome' }).waitFor();
  assert.match(await page.locator('.conv').innerText(), /Message deleted/);
  await capture(page, 'messages-en', { sizes: [DESKTOP] });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a group conversation: named, two colleagues chosen in the directory, live for the others', async () => {
  const a = alice.page;
  const b = bruno.page;
  await a.click('button:has-text("Nouveau groupe")');
  const dialog = a.locator('dialog[open]');
  await dialog.locator('#conv-name').fill('Staff du soir');
  await dialog.locator('#people-q').fill('petit');
  await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).click();
  assert.equal(await dialog.locator('.person-btn', { hasText: 'Bruno Petit' }).getAttribute('aria-pressed'), 'true');
  assert.match(await dialog.locator('[role="status"]', { hasText: 'Choisis' }).innerText(), /Choisis : Bruno Petit/);
  await dialog.locator('button[type=submit]').click();
  await a.locator('#conv-title', { hasText: 'Staff du soir' }).waitFor();
  assert.match(await a.locator('.conv-sub').innerText(), /2 membre\(s\)/);
  await convLink(b, 'Staff du soir').waitFor();
  await type(a, composer(a), '@cha');
  await a.locator('.mention-list [role="option"]', { hasText: 'Tout le monde ici' }).waitFor();
  await a.keyboard.press('Enter');
  await a.keyboard.type('point à 19 h');
  assert.equal(await composer(a).inputValue(), '@channel point à 19 h');
  await a.keyboard.press('Enter');
  await message(a, 'point à 19 h').locator('.mention-all').waitFor();
  await convLink(b, 'Staff du soir').locator('.count-mention [aria-hidden]', { hasText: '@1' }).waitFor();
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});
