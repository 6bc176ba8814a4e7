// How carecommd serves the built web app (web/dist): hashed assets cached as immutable,
// index.html never cached, app paths fall back to the app, API paths and missing assets never do;
// no inline script or style for the CSP; the JavaScript of the first load under 150 KiB gzipped.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { startServer, staticDir } from './lib/web.js';

let server;
let index;
before(async () => {
  server = await startServer();
  index = fs.readFileSync(path.join(staticDir, 'index.html'), 'utf8');
});
after(async () => {
  await server.stop();
  server.cleanup();
});

const get = (p) => server.request('GET', p);

test('index.html: served for / and for app paths, never cached, with the strict CSP', async () => {
  for (const p of ['/', '/index.html', '/login', '/admin/users', '/admin/users/01J0000000000000000000000', '/patient', '/patient/a-b_c']) {
    const r = await get(p);
    assert.equal(r.status, 200, p);
    assert.match(r.headers['content-type'], /^text\/html/, p);
    assert.equal(r.headers['cache-control'], 'no-cache', p);
    assert.equal(r.text, index, p);
    assert.match(r.headers['content-security-policy'], /script-src 'self';/);
    assert.match(r.headers['content-security-policy'], /style-src 'self';/);
    // A page can be framed or leak its URL: it says no to both (API answers need not).
    assert.equal(r.headers['x-frame-options'], 'DENY', p);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', p);
  }
});

test('hashed assets are cached as immutable; a missing asset is a 404, not the app', async () => {
  const assets = fs.readdirSync(path.join(staticDir, 'assets'));
  assert.ok(assets.some((a) => a.endsWith('.js')) && assets.some((a) => a.endsWith('.css')));
  for (const a of assets) {
    assert.match(a, /-[A-Za-z0-9_-]{8}\.(js|css)$/, `${a} has a content hash`);
    const r = await get(`/assets/${a}`);
    assert.equal(r.status, 200, a);
    assert.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', a);
    assert.match(r.headers['content-type'], a.endsWith('.js') ? /^text\/javascript/ : /^text\/css/);
    assert.equal(r.text, fs.readFileSync(path.join(staticDir, 'assets', a), 'utf8'), a);
  }
  for (const p of ['/assets/nothing-12345678.js', '/favicon.png', '/.stamp']) {
    const r = await get(p);
    assert.equal(r.status, 404, p);
    assert.notEqual(r.text, index, p);
  }
});

test('API paths never fall back to the app', async () => {
  for (const [p, status] of [
    ['/api/v1/nothing-here', 404],
    ['/api/v1/users', 401],
    ['/api/v1/me', 401],
  ]) {
    const r = await get(p);
    assert.equal(r.status, status, p);
    assert.match(r.headers['content-type'], /^application\/json/, p);
    assert.ok(r.body?.error?.code, p);
  }
});

test('the CSP holds: index.html has no inline script, no inline style, no external origin', () => {
  const scripts = [...index.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
  assert.ok(scripts.length >= 1);
  for (const [tag, body] of scripts) {
    assert.match(tag, /\ssrc="\/assets\//, tag);
    assert.equal(body.trim(), '', 'no inline script');
  }
  assert.doesNotMatch(index, /\sstyle=|<style/i, 'no inline style');
  assert.doesNotMatch(index, /(src|href)="(https?:)?\/\//i, 'nothing from another origin');
});

test('the JavaScript of the first load is under 150 KiB gzipped', () => {
  const files = [
    ...[...index.matchAll(/<script\b[^>]*\ssrc="([^"]+)"/g)].map((m) => m[1]),
    ...[...index.matchAll(/<link\b[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]),
  ];
  assert.ok(files.length >= 1);
  let total = 0;
  for (const f of new Set(files)) total += zlib.gzipSync(fs.readFileSync(path.join(staticDir, f)), { level: 9 }).length;
  const kib = total / 1024;
  console.log(`first-load JavaScript: ${files.length} file(s), ${kib.toFixed(1)} KiB gzipped`);
  assert.ok(kib < 150, `${kib.toFixed(1)} KiB`);
});
