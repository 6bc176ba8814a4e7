// The web application over HTTP/2, as browsers use it; regression tests of two carecommd bugs
// that broke it in real browsers (curl and the node clients of the integration tests did not
// show them):
//   - a response body over 16 KiB was written as one DATA frame, larger than the browser's
//     SETTINGS_MAX_FRAME_SIZE: Chromium dropped the connection (ERR_HTTP2_FRAME_SIZE_ERROR);
//   - the event WebSocket over HTTP/2 (RFC 8441 extended CONNECT, which Chromium uses because
//     the server announces it) was refused: ERR_HTTP2_PROTOCOL_ERROR, the page never connected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, launchBrowser, openPage, go, createUser, staticDir, PASSWORD, DESKTOP } from './lib/web.js';
import { tempDir, loginReady } from '../integration/lib/harness.js';

let server;
let browser;
let dir;
let deskCodes;
before(async () => {
  // The built app plus one file above 16 KiB (a large JSON answer would do the same).
  dir = tempDir('carecomm-static-');
  fs.cpSync(staticDir, dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'big.txt'), 'x'.repeat(40000));
  server = await startServer({ CARECOMM_STATIC_DIR: dir });
  createUser(server, 'it.desk', 'it_support');
  // 2FA enrolled beforehand (every role needs it): the page logs in with a recovery code.
  deskCodes = (await loginReady(server, 'it.desk')).recovery;
  browser = await launchBrowser({ http1: false });
});
after(async () => {
  await browser?.close();
  await server?.stop();
  server?.cleanup();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function loginItDesk(page) {
  await go(page, '/login');
  await page.fill('#login-username', 'it.desk');
  await page.fill('#login-password', PASSWORD);
  await page.click('button[type=submit]');
  await page.locator('#login-code').waitFor();
  await page.fill('#login-code', deskCodes.shift());
  await page.click('button[type=submit]');
  await page.waitForURL(`${server.url}/`);
}

test('over HTTP/2: the app loads and a response body larger than 16 KiB arrives whole', async () => {
  const page = await openPage(browser, server, DESKTOP);
  await go(page, '/patient');
  const r = await page.evaluate(async () => {
    const protocol = performance.getEntriesByType('navigation')[0].nextHopProtocol;
    try {
      const res = await fetch('/big.txt');
      return { protocol, length: (await res.text()).length };
    } catch (e) {
      return { protocol, error: String(e) };
    }
  });
  assert.deepEqual(r, { protocol: 'h2', length: 40000 });
  await loginItDesk(page);
  assert.equal(await page.locator('h1').innerText(), 'Bonjour, it.desk');
  assert.deepEqual(page.problems, []);
});

test('over HTTP/2: the event socket connects', async () => {
  const page = await openPage(browser, server, DESKTOP);
  await loginItDesk(page);
  await page.locator('.conn[data-state="connected"]').waitFor({ timeout: 8000 });
  assert.equal(await page.evaluate(() => performance.getEntriesByType('navigation')[0].nextHopProtocol), 'h2');
});
