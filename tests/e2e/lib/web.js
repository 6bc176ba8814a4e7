// End-to-end helpers: a real carecommd serving the built web app (web/dist), Debian's Chromium
// driven by playwright-core, an axe-core accessibility check, screenshots at three sizes, and
// TOTP codes that the server has not seen yet.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { Server, createUser, loginReady, root, totp, sleep, PASSWORD } from '../../integration/lib/harness.js';
import { agendaDay } from '../../integration/lib/hl7.js';

export { createUser, totp, sleep, PASSWORD, root };

const require = createRequire(import.meta.url);
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const jsqrSource = fs.readFileSync(require.resolve('jsqr/dist/jsQR.js'), 'utf8');

export const staticDir = path.join(root, 'web/dist');
export const screenshotDir = path.join(root, 'tests/e2e/screenshots');

export const SIZES = [
  { name: 'phone', width: 360, height: 740 },
  { name: 'tablet', width: 1280, height: 800 },
  { name: 'desktop', width: 1440, height: 900 },
];
export const PHONE = SIZES[0];
export const TABLET = SIZES[1];
export const DESKTOP = SIZES[2];

// A carecommd with the web app, lenient throttling (the tests log in often from one address)
// but a small account lock threshold to show the "locked" message.
export async function startServer(env = {}) {
  if (!fs.existsSync(path.join(staticDir, 'index.html'))) {
    throw new Error('web/dist is not built: run `make web` (make test does it)');
  }
  const server = new Server({
    env: {
      CARECOMM_STATIC_DIR: staticDir,
      CARECOMM_LOGIN_DELAY_AFTER: '100',
      CARECOMM_LOGIN_LOCK_AFTER: '4',
      CARECOMM_LOGIN_BLOCK_ADDRESS_AFTER: '100000',
      ...env,
    },
  });
  await server.start();
  return server;
}

// Playwright gives each launch a fresh, temporary profile (user-data dir) and removes it on close.
// Chromium talks HTTP/2 to carecommd, as browsers do (CARECOMM_E2E_HTTP1=1 forces HTTP/1.1, to
// tell a protocol problem from an application one).
export async function launchBrowser({ http1 = process.env.CARECOMM_E2E_HTTP1 === '1' } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      ...(http1 ? ['--disable-http2'] : []),
    ],
  });
}

// A browser context (a separate person: own cookies) with its page. Content-Security-Policy
// violations and uncaught errors in the page are collected: the tests fail on any.
export async function openPage(browser, server, size = DESKTOP, opts = {}) {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // the server's self-signed development certificate (test only)
    viewport: { width: size.width, height: size.height },
    locale: opts.locale || 'fr-FR',
    timezoneId: opts.timezoneId || 'Europe/Paris',
    reducedMotion: 'reduce',
  });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    const text = m.text();
    if (/Content.Security.Policy|Refused to/i.test(text)) page.problems.push(`CSP: ${text}`);
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.base = server.url;
  return page;
}

export function go(page, urlPath) {
  return page.goto(page.base + urlPath, { waitUntil: 'load' });
}

// Runs axe-core (WCAG 2.1 A and AA rules and best practices) in the page; returns the serious
// and critical violations. axe is evaluated through the DevTools protocol, which the page's CSP
// does not govern, so the app keeps its strict policy during the test.
export async function axe(page) {
  const loaded = await page.evaluate(() => typeof window.axe === 'object');
  if (!loaded) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')} — ${n.failureSummary}`),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

// Decodes the QR code drawn by the SVG element matching selector, as a phone's camera would:
// the SVG is rasterised on a canvas in the page and read by jsQR. Returns the text or null.
export async function readQrCode(page, selector) {
  if (!(await page.evaluate(() => typeof window.jsQR === 'function'))) {
    await page.evaluate(`(function(){var module={exports:{}};var exports=module.exports;${jsqrSource};window.jsQR=module.exports.default||module.exports;})()`);
  }
  return page.evaluate(async (sel) => {
    const svg = document.querySelector(sel);
    const xml = new XMLSerializer().serializeToString(svg);
    const url = URL.createObjectURL(new Blob([xml], { type: 'image/svg+xml' }));
    const img = new Image();
    await new Promise((ok, ko) => {
      img.onload = ok;
      img.onerror = ko;
      img.src = url;
    });
    const size = 400;
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = size;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, 0, 0, size, size);
    URL.revokeObjectURL(url);
    const data = ctx.getImageData(0, 0, size, size);
    return window.jsQR(data.data, size, size)?.data ?? null;
  }, selector);
}

// Screenshots of the page at the phone, tablet and desktop sizes (full page), each checked by
// axe; the viewport is put back as it was. Fails on serious/critical violations.
export async function capture(page, name, { sizes = SIZES } = {}) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const original = page.viewportSize();
  const problems = [];
  for (const s of sizes) {
    await page.setViewportSize({ width: s.width, height: s.height });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: path.join(screenshotDir, `${name}-${s.name}-${s.width}x${s.height}.png`), fullPage: true });
    for (const v of await axe(page)) problems.push(`[${s.name}] ${v.impact} ${v.id}: ${v.help}\n    ${v.nodes.join('\n    ')}`);
    // Nothing may overflow the width of the screen (horizontal scrolling of the whole page).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    if (overflow > 1) problems.push(`[${s.name}] the page is ${overflow}px wider than the screen`);
  }
  await page.setViewportSize(original);
  if (problems.length) throw new Error(`${name}: accessibility or layout problems:\n${problems.join('\n')}`);
  if (page.problems.length) throw new Error(`${name}: ${page.problems.join('\n')}`);
}

// TOTP codes the server accepts (±1 step) and has not seen: a code is accepted once per step,
// so each user remembers the last step used.
export class Authenticator {
  constructor(secret) {
    this.secret = secret;
    this.lastStep = -1;
  }
  async code() {
    for (;;) {
      const now = Date.now();
      const step = Math.floor(now / 30000);
      for (const s of [step, step + 1]) {
        if (s > this.lastStep) {
          this.lastStep = s;
          return totp(this.secret, s * 30000 + 1000);
        }
      }
      await sleep(1000);
    }
  }
}

// Logs who ({name, auth: Authenticator}) in through the login page with password and 2FA code,
// and waits for the home page.
// Waits for the focus to be on what `selector` matches. The app moves the focus in an effect, a
// frame after the new content appears, and the user's next key goes there. Fails saying where it is.
export async function focusLandsOn(page, selector, timeout = 5000) {
  try {
    await page.waitForFunction((s) => document.activeElement?.matches(s), selector, { timeout });
  } catch {
    const at = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 160));
    throw new Error(`the focus is not on ${selector} but on ${at}`);
  }
}

// The agenda opens on the browser's today. A booking ten minutes ahead is tomorrow's in the last
// minutes before midnight (Paris), and then one turns the agenda to its day, as a practitioner would.
export async function agendaOnDayOf(page, ms) {
  const input = page.locator('.care-bar input[type=date]');
  const day = agendaDay(ms);
  if ((await input.inputValue()) !== day) await input.fill(day);
}

export async function loginInBrowser(page, who) {
  await go(page, '/login');
  await page.fill('#login-username', who.name);
  await page.fill('#login-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('#login-code').waitFor();
  await page.fill('#login-code', await who.auth.code());
  await page.click('button[type=submit]');
  await page.waitForURL(`${page.base}/`);
}

// A person for browser tests: the account made with the CLI (role, display name, extra
// arguments such as --ident), 2FA enrolled through the API, and an Authenticator whose codes the
// server has not seen yet. Returns who, filled in (name, token, userId, auth...).
export async function personForBrowser(server, who, role, extra = []) {
  const args = ['user', 'create', who.name, '--role', role, ...(who.display ? ['--display', who.display] : []), ...extra];
  const r = server.cli(args, { input: `${PASSWORD}\n` });
  if (r.code !== 0) throw new Error(`user create ${who.name}: ${r.stderr}`);
  const ready = await loginReady(server, who.name);
  Object.assign(who, ready);
  who.auth = new Authenticator(ready.secret);
  who.auth.lastStep = Math.floor(Date.now() / 30000);
  return who;
}
