// The web application in a real Chromium against a real carecommd: the first administrator logs
// in and enrols 2FA, creates a practitioner who logs in, changes the temporary password, enrols
// 2FA and sees only what the role allows; the administrator disables that account and the
// practitioner's open page is logged out. On the way: every page is checked by axe-core and
// photographed at phone, tablet and desktop sizes (tests/e2e/screenshots/), the live connection
// indicator, reconnection and resume, sessions, the audit log, languages, keyboard use.
// The tests of this file run in order and share the server, the browser and the people.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  launchBrowser,
  openPage,
  go,
  capture,
  focusLandsOn,
  createUser,
  Authenticator,
  readQrCode,
  totp,
  PASSWORD,
  PHONE,
  TABLET,
  DESKTOP,
} from './lib/web.js';

let server;
let browser;
const admin = { name: 'admin', password: PASSWORD, auth: null, recovery: [], page: null };
const claire = { name: 'claire', password: 'Une-phrase-de-passe-2026', temp: null, id: null, auth: null, page: null };

before(async () => {
  server = await startServer();
  createUser(server, 'admin', 'admin');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (server) {
    await server.stop();
    server.cleanup();
  }
});

const heading = (page) => page.locator('h1').first().innerText();
const conn = (page) => page.locator('.conn').getAttribute('data-state');
async function waitConn(page, state, timeout = 20000) {
  try {
    await page.locator(`.conn[data-state="${state}"]`).waitFor({ timeout });
  } catch (e) {
    const now = await page.locator('.conn').getAttribute('data-state').catch(() => 'no indicator');
    throw new Error(`connection state ${now}, not ${state}, at ${page.url()}\n${server.logs.slice(-3000)}`, { cause: e });
  }
}
async function login(page, username, password) {
  await page.fill('#login-username', username);
  await page.fill('#login-password', password);
  await page.click('button[type=submit]');
}
async function navTexts(page) {
  return page.locator('#main-nav .nav-list .nav-link').allInnerTexts();
}

test('the patient space is public, plain and bilingual', async () => {
  const page = await openPage(browser, server, PHONE);
  await go(page, '/patient');
  assert.equal(await heading(page), 'Votre consultation à distance');
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await capture(page, 'patient');
  // The controls are large enough for a finger (at least 44 px high).
  const box = await page.locator('.btn-huge').boundingBox();
  assert.ok(box.height >= 44, `button height ${box.height}`);
  await page.click('button[lang="en"]');
  assert.equal(await heading(page), 'Your remote consultation');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await go(page, '/patient/some-link-token');
  assert.equal(await heading(page), 'Your remote consultation', 'the language choice is remembered');
  assert.match(await page.locator('main').innerText(), /link/);
  await capture(page, 'patient-link');
  await page.context().close();
});

test('login: plain messages for a wrong password, a locked account', async () => {
  createUser(server, 'locked.user', 'it_support');
  const page = await openPage(browser, server, DESKTOP);
  await go(page, '/');
  await page.waitForURL(/\/login$/);
  assert.equal(await heading(page), 'Connexion');
  await capture(page, 'login');

  // Submitting empty fields: errors tied to the fields.
  await page.click('button[type=submit]');
  assert.equal(await page.getAttribute('#login-username', 'aria-invalid'), 'true');
  assert.equal(await page.getAttribute('#login-username', 'aria-describedby'), 'login-username-err');
  assert.match(await page.locator('#login-username-err').innerText(), /identifiant/);

  await login(page, 'admin', 'not-the-password');
  await page.locator('.alert-error').waitFor();
  assert.match(await page.locator('.alert-error').innerText(), /Identifiant ou mot de passe incorrect/);
  assert.equal(await page.inputValue('#login-password'), '', 'the wrong password is cleared');
  await capture(page, 'login-error', { sizes: [PHONE] });

  // The server locks an account after CARECOMM_LOGIN_LOCK_AFTER (4) failures.
  for (let i = 0; i < 4; i++) {
    await server.request('POST', '/api/v1/auth/login', { body: { username: 'locked.user', password: 'wrong-password-!' } });
  }
  await login(page, 'locked.user', PASSWORD);
  await page.locator('.alert-error', { hasText: 'verrouillé' }).waitFor();
  assert.match(await page.locator('.alert-error').innerText(), /Ce compte est verrouillé .* \d+ minutes/);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the first administrator logs in and enrols 2FA with the QR code page', async () => {
  const page = (admin.page = await openPage(browser, server, DESKTOP));
  await go(page, '/admin/users');
  await page.waitForURL(/\/login$/);
  await login(page, admin.name, admin.password);
  await page.waitForURL(/\/setup\/2fa$/);
  assert.equal(await heading(page), 'Activez la double authentification');
  await page.locator('svg.qr[role="img"]').waitFor();
  const secret = await page.getAttribute('#totp-secret', 'data-secret');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.equal((await page.locator('#totp-secret').innerText()).replace(/\s+/g, ''), secret);
  // The QR code scans to the otpauth URI of that secret.
  const uri = await readQrCode(page, 'svg.qr');
  assert.match(uri ?? '', /^otpauth:\/\/totp\/[^?]+\?/, `QR code reads ${uri}`);
  assert.equal(new URL(uri).searchParams.get('secret'), secret);
  await capture(page, 'setup-2fa');
  admin.auth = new Authenticator(secret);

  // A malformed code, then a wrong one: told next to the field.
  await page.fill('#totp-code', '12');
  await page.click('form button[type=submit]');
  assert.match(await page.locator('#totp-code-err').innerText(), /6 chiffres/);
  await page.fill('#totp-code', String((Number(totp(secret)) + 500000) % 1000000).padStart(6, '0'));
  await page.click('form button[type=submit]');
  await page.locator('#totp-code-err', { hasText: 'incorrect' }).waitFor();
  assert.equal(await page.getAttribute('#totp-code', 'aria-invalid'), 'true');

  await page.fill('#totp-code', await admin.auth.code());
  await page.click('form button[type=submit]');
  await page.locator('ol.recovery-codes').waitFor();
  admin.recovery = await page.locator('ol.recovery-codes li').allInnerTexts();
  assert.equal(admin.recovery.length, 10);
  await capture(page, 'recovery-codes');

  // The "I have saved them" step cannot be skipped.
  await page.click('button:has-text("Continuer")');
  assert.match(await page.locator('#codes-saved-err').innerText(), /Cochez la case/);
  assert.equal(page.url(), `${server.url}/setup/2fa`);
  await page.check('#codes-saved');
  await page.click('button:has-text("Continuer")');
  await page.waitForURL(`${server.url}/`);
  assert.equal(await heading(page), 'Bonjour, admin');

  // An administrator administers, and does not treat: no patient spaces (but messages colleagues).
  assert.deepEqual(await navTexts(page), ['Accueil', 'Messagerie', 'Réunions', 'Appareils', 'Administration', 'Utilisateurs', 'Journal d’audit']);
  await waitConn(page, 'connected');
  assert.equal((await page.locator('.conn [role="status"]').innerText()).replace(/\s+/g, ' '), 'Connexion en direct : Connecté');
  await capture(page, 'home-admin');
});

test('the staff shell: skip link, keyboard, menu on a phone, placeholders, unknown pages', async () => {
  const page = admin.page;
  // The first Tab reaches the skip link, which moves the focus to the main content.
  await go(page, '/');
  await page.locator('h1').waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Aller au contenu');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');

  await page.click('#main-nav a:has-text("Appareils")');
  await page.waitForURL(/\/devices$/);
  await focusLandsOn(page, 'h1'); // focus moves to the new page title
  assert.equal(await page.locator('#main-nav a[aria-current="page"]').innerText(), 'Appareils');
  assert.match(await page.locator('main').innerText(), /Bientôt disponible/);
  await capture(page, 'devices');

  await page.click('#main-nav a:has-text("Administration")');
  await page.waitForURL(/\/admin$/);
  await page.locator('.cards').waitFor();
  await capture(page, 'admin-home');

  await go(page, '/no/such/page');
  await waitConn(page, 'connected');
  assert.equal(await heading(page), 'Page introuvable');
  await capture(page, 'not-found', { sizes: [PHONE] });

  // A phone: the navigation folds behind the menu button.
  await page.setViewportSize(PHONE);
  await go(page, '/');
  assert.equal(await page.locator('#main-nav').isVisible(), false);
  const menu = page.locator('button.menu-btn');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  assert.equal(await page.locator('#main-nav').isVisible(), true);
  await capture(page, 'nav-open', { sizes: [PHONE] });
  await page.keyboard.press('Escape');
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('menu-btn')), true);
  await page.setViewportSize(DESKTOP);
});

test('the administrator creates a practitioner; the temporary password is shown once', async () => {
  const page = admin.page;
  await page.click('#main-nav a:has-text("Utilisateurs")');
  await page.waitForURL(/\/admin\/users$/);
  await page.locator('table tr[data-username="admin"]').waitFor();
  await capture(page, 'users');

  // Field errors first.
  await page.fill('#new-username', 'X');
  await page.click('button:has-text("Créer le compte")');
  assert.equal(await page.getAttribute('#new-username', 'aria-invalid'), 'true');
  assert.match(await page.locator('#new-display-name-err').innerText(), /nom affiché/);

  await page.fill('#new-username', 'claire');
  await page.fill('#new-display-name', 'Dr Claire Martin');
  await page.selectOption('#new-role', 'practitioner');
  await page.click('button:has-text("Créer le compte")');
  await page.locator('#temporary-password').waitFor();
  claire.temp = (await page.locator('#temporary-password').innerText()).trim();
  assert.match(claire.temp, /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  await page.locator('table tr[data-username="claire"]').waitFor();
  assert.match(await page.locator('tr[data-username="claire"]').innerText(), /Médecin/);
  await capture(page, 'user-created');
  await page.click('button:has-text("Terminé")');
  assert.equal(await page.locator('#temporary-password').count(), 0, 'shown once');
});

test('the practitioner logs in, must change the password, enrols 2FA, sees only the role’s spaces', async () => {
  const page = (claire.page = await openPage(browser, server, TABLET));
  await go(page, '/');
  await login(page, 'claire', claire.temp);
  await page.waitForURL(/\/setup\/password$/);
  assert.equal(await heading(page), 'Choisissez votre mot de passe');
  await capture(page, 'setup-password');

  // The policy is explained before the server is asked.
  await page.fill('#pw-old', claire.temp);
  await page.fill('#pw-new', 'court');
  await page.fill('#pw-new2', 'court');
  await page.click('form button[type=submit]');
  assert.match(await page.locator('#pw-new-err').innerText(), /au moins 12 caractères/);
  assert.equal(await page.getAttribute('#pw-new', 'aria-describedby'), 'pw-new-hint pw-new-err');
  await page.fill('#pw-new', 'claire-et-son-mot');
  await page.fill('#pw-new2', 'claire-et-son-mot');
  await page.click('form button[type=submit]');
  assert.match(await page.locator('#pw-new-err').innerText(), /identifiant/);
  await page.fill('#pw-new', claire.password);
  await page.fill('#pw-new2', claire.password + 'x');
  await page.click('form button[type=submit]');
  assert.match(await page.locator('#pw-new2-err').innerText(), /pas identiques/);
  // A wrong temporary password: the server says so.
  await page.fill('#pw-old', 'aaaaa-bbbbb-ccccc-ddddd');
  await page.fill('#pw-new2', claire.password);
  await page.click('form button[type=submit]');
  await page.locator('#pw-old-err').waitFor();
  assert.match(await page.locator('#pw-old-err').innerText(), /n’est pas le bon/);
  await capture(page, 'setup-password-errors', { sizes: [PHONE] });

  await page.fill('#pw-old', claire.temp);
  await page.click('form button[type=submit]');
  await page.waitForURL(/\/setup\/2fa$/);
  const secret = await page.getAttribute('#totp-secret', 'data-secret');
  claire.auth = new Authenticator(secret);
  await page.fill('#totp-code', await claire.auth.code());
  await page.click('form button[type=submit]');
  await page.locator('ol.recovery-codes').waitFor();
  await page.check('#codes-saved');
  await page.click('button:has-text("Continuer")');
  await page.waitForURL(`${server.url}/`);
  assert.equal(await heading(page), 'Bonjour, Dr Claire Martin');

  assert.deepEqual(await navTexts(page), ['Accueil', 'Messagerie', 'Réunions', 'Téléconsultations', 'Téléexpertise']);
  await waitConn(page, 'connected');
  await capture(page, 'home-practitioner');
  for (const [label, path] of [
    ['Messagerie', '/messages'],
    ['Réunions', '/meetings'],
    ['Téléconsultations', '/consultations'],
    ['Téléexpertise', '/expertise'],
  ]) {
    await page.click(`#main-nav a:has-text("${label}")`);
    await page.waitForURL(new RegExp(`${path}$`));
    assert.equal(await heading(page), label);
    if (path === '/messages') await capture(page, 'messages');
  }
  // What the role does not allow is not reachable by its address either.
  for (const path of ['/admin', '/admin/users', '/admin/audit', '/devices']) {
    await go(page, path);
    assert.equal(await heading(page), 'Accès non autorisé', path);
  }
  await capture(page, 'forbidden', { sizes: [PHONE] });
  await go(page, '/');
  await waitConn(page, 'connected');
});

test('the administrator disables the practitioner: her open page is logged out at once', async () => {
  const page = admin.page;
  await page.click('tr[data-username="claire"] a');
  await page.waitForURL(/\/admin\/users\/[0-9A-Z]{26}$/);
  claire.id = page.url().split('/').pop();
  await page.locator('h1', { hasText: 'Compte de Dr Claire Martin' }).waitFor();
  await capture(page, 'user');

  await page.click('button:has-text("Désactiver le compte")');
  const dialog = page.locator('dialog[open]');
  await dialog.waitFor();
  assert.match(await dialog.innerText(), /Désactiver le compte claire\s\?/);
  await capture(page, 'user-disable-dialog', { sizes: [PHONE, DESKTOP] });
  await dialog.locator('button:has-text("Désactiver le compte")').click();
  await page.locator('.status-line', { hasText: 'Le compte est désactivé.' }).waitFor();
  assert.match(await page.locator('dl.props').innerText(), /Désactivé/);

  // Claire's page hears it on the event socket (close 4001) and goes to the login page.
  await claire.page.waitForURL(/\/login$/, { timeout: 10000 });
  const notice = claire.page.locator('.alert-warning');
  assert.match(await notice.innerText(), /Votre compte a été désactivé ou votre session a pris fin/);
  await capture(claire.page, 'login-ended');
  await login(claire.page, 'claire', claire.password);
  await claire.page.locator('.alert-error').waitFor();
  assert.match(await claire.page.locator('.alert-error').innerText(), /Ce compte est désactivé/);
  assert.deepEqual(claire.page.problems, []);

  // The list follows live (user.updated events).
  await page.click('a:has-text("Tous les utilisateurs")');
  await page.locator('tr[data-username="claire"]', { hasText: 'Désactivé' }).waitFor();
});

test('the administrator resets a password: the new temporary password is shown once', async () => {
  const page = admin.page;
  await page.click('tr[data-username="claire"] a');
  await page.waitForURL(/\/admin\/users\/[0-9A-Z]{26}$/);
  await page.click('button:has-text("Réactiver le compte")');
  await page.locator('dialog[open] button:has-text("Réactiver le compte")').click();
  await page.locator('.status-line', { hasText: 'Le compte est réactivé.' }).waitFor();
  await page.click('button:has-text("Réinitialiser le mot de passe")');
  await page.locator('dialog[open] button:has-text("Réinitialiser le mot de passe")').click();
  await page.locator('#temporary-password').waitFor();
  assert.match((await page.locator('#temporary-password').innerText()).trim(), /^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  // Change of role: a select with its label.
  await page.selectOption('#edit-role', 'nurse');
  await page.click('button:has-text("Enregistrer")');
  await page.locator('.status-line', { hasText: 'Les modifications sont enregistrées.' }).waitFor();
  await capture(page, 'user-reset', { sizes: [PHONE, DESKTOP] });
});

test('the audit log: filters, paging, chain verification', async () => {
  const page = admin.page;
  await page.click('#main-nav a:has-text("Journal d’audit")');
  await page.waitForURL(/\/admin\/audit$/);
  await page.locator('#audit-table').waitFor();
  const actions = await page.locator('#audit-table tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.action));
  assert.ok(actions.includes('user.create') && actions.includes('auth.login'), actions.join(','));
  // Times are in the hospital's zone, in French format.
  assert.match(await page.locator('#audit-table tbody td').first().innerText(), /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
  await capture(page, 'audit');

  await page.fill('#audit-action', 'user.update');
  await page.click('button:has-text("Appliquer les filtres")');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#audit-table tbody tr')].every((r) => r.dataset.action === 'user.update'),
  );
  assert.ok((await page.locator('#audit-table tbody tr').count()) >= 2);
  assert.match(await page.locator('#audit-table').innerText(), new RegExp(`user:${claire.id}`));

  await page.fill('#audit-action', '');
  await page.fill('#audit-actor', 'claire');
  await page.click('button:has-text("Appliquer les filtres")');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#audit-table tbody tr')];
    return rows.length > 0 && rows.every((r) => r.children[1].textContent === 'claire');
  });

  // A time window in the future: nothing.
  await page.fill('#audit-actor', '');
  await page.fill('#audit-from', '2099-01-01T00:00');
  await page.click('button:has-text("Appliquer les filtres")');
  await page.locator('text=Aucun enregistrement ne correspond').waitFor();
  await page.fill('#audit-to', '2098-01-01T00:00');
  await page.click('button:has-text("Appliquer les filtres")');
  assert.match(await page.locator('#audit-to-err').innerText(), /après le début/);
  await page.click('button:has-text("Effacer les filtres")');
  await page.locator('#audit-table').waitFor();

  await page.click('button:has-text("Vérifier la chaîne")');
  await page.locator('#verify-result .alert-success').waitFor();
  assert.match(await page.locator('#verify-result').innerText(), /La chaîne est intacte\.\s+\d+ enregistrements vérifiés/);
  assert.match(await page.locator('#verify-result code').innerText(), /^[0-9a-f]{64}$/);
  await capture(page, 'audit-verified', { sizes: [PHONE] });
});

test('the connection indicator: the server restarts, the page reconnects and resumes', async () => {
  const page = admin.page;
  await go(page, '/');
  await waitConn(page, 'connected');
  const sent = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
  // The administrator's page has seen events (user.updated for claire): it has a sequence.
  const seqBefore = Number(await page.evaluate(() => sessionStorage.getItem('cc_last_seq')));
  assert.ok(seqBefore > 0, 'the page has processed events');

  await server.stop();
  await page.locator('.conn[data-state="reconnecting"], .conn[data-state="offline"]').waitFor({ timeout: 10000 });
  assert.match(await page.locator('.conn [role="status"]').innerText(), /Reconnexion…|Hors ligne/);
  await capture(page, 'reconnecting', { sizes: [PHONE] });
  await server.start();
  await waitConn(page, 'connected', 40000);
  const hello = sent.map((s) => JSON.parse(s)).find((m) => m.type === 'hello');
  assert.ok(hello, 'a hello after reconnecting');
  assert.equal(hello.last_seq, seqBefore, 'it resumes from the last event it processed');

  // And it still receives events after the resume.
  const other = await openPage(browser, server, PHONE);
  await go(other, '/login');
  await login(other, 'admin', admin.password);
  await other.fill('#login-code', admin.recovery[0]);
  await capture(other, 'login-totp', { sizes: [PHONE] });
  await other.click('button[type=submit]');
  await other.waitForURL(`${server.url}/`);
  admin.other = other;
});

test('my sessions: list, revoke another, the revoked page is told; log out everywhere', async () => {
  const page = admin.other;
  await page.click('a.user-chip');
  await page.waitForURL(/\/account$/);
  await page.locator('.session-list li').nth(1).waitFor();
  const sessions = page.locator('.session-list li');
  assert.equal(await sessions.count(), 2);
  assert.match(await sessions.first().innerText(), /Cette session/);
  await capture(page, 'account');

  // Revoke the first page's session from this one: that page ends up on the login page.
  await sessions.nth(1).locator('button').click();
  await page.locator('.session-list li').nth(1).waitFor({ state: 'detached' });
  await admin.page.waitForURL(/\/login$/, { timeout: 10000 });
  assert.match(await admin.page.locator('.alert-warning').innerText(), /session a pris fin/);

  // An expired session met on an API call: the page says so.
  const ctx = page.context();
  const [cookie] = await ctx.cookies();
  await ctx.addCookies([{ ...cookie, value: 'A'.repeat(43) }]);
  await page.click('button.menu-btn');
  await page.click('#main-nav a:has-text("Utilisateurs")');
  await page.waitForURL(/\/login$/);
  assert.match(await page.locator('.alert-warning').innerText(), /Votre session a pris fin/);
  await ctx.addCookies([cookie]);
  await page.reload();
  await page.waitForURL(`${server.url}/`);

  await go(page, '/account');
  await page.click('button:has-text("Se déconnecter partout")');
  await page.locator('dialog[open]').waitFor();
  await page.locator('dialog[open] button:has-text("Se déconnecter partout")').click();
  await page.waitForURL(/\/login$/);
  assert.match(await page.locator('.alert').innerText(), /déconnecté sur tous vos appareils/);
  await page.reload();
  assert.equal(await heading(page), 'Connexion', 'the cookie is gone');
  assert.deepEqual(page.problems, []);
});

test('English everywhere, dates in the hospital’s zone', async () => {
  const page = admin.page;
  await go(page, '/login');
  await page.click('button[lang="en"]');
  assert.equal(await heading(page), 'Log in');
  await login(page, 'admin', admin.password);
  await page.fill('#login-code', await admin.auth.code());
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/`);
  assert.equal(await heading(page), 'Hello, admin');
  assert.deepEqual(await navTexts(page), ['Home', 'Messages', 'Meetings', 'Devices', 'Administration', 'Users', 'Audit log']);
  await waitConn(page, 'connected');
  assert.match(await page.locator('.conn').innerText(), /Connected/);
  await page.click('#main-nav a:has-text("Users")');
  await page.locator('tr[data-username="claire"]').waitFor();
  assert.match(await page.locator('tr[data-username="claire"]').innerText(), /Nurse/);
  await capture(page, 'users-en', { sizes: [TABLET] });
  await page.click('#main-nav a:has-text("My account")');
  await page.locator('.session-list li').first().waitFor();
  await capture(page, 'account-en', { sizes: [PHONE] });
  await page.click('#main-nav button[lang="fr"]');
  assert.equal(await heading(page), 'Mon compte');
  assert.deepEqual(admin.page.problems, []);
  assert.equal(await conn(page), 'connected');
});
