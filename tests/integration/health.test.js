// Liveness, readiness, metrics, security headers and the shape of errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server } from './lib/harness.js';

let server;
before(async () => {
  server = await new Server().start();
});
after(async () => {
  await server.stop();
  server.cleanup();
});

test('healthz and readyz answer for load balancers', async () => {
  const h = await server.request('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.body.status, 'alive');
  const r = await server.request('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ready');
});

test('every response carries the security headers', async () => {
  const r = await server.request('GET', '/api/v1/nothing-here');
  assert.equal(r.status, 404);
  assert.equal(r.body.error.code, 'not_found');
  assert.match(r.headers['strict-transport-security'], /max-age=\d+/);
  assert.match(r.headers['content-security-policy'], /frame-ancestors 'none'/);
  // An API answer is never a page: it may load and run nothing.
  assert.match(r.headers['content-security-policy'], /^default-src 'none'/);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['cache-control'], 'no-store');
});

test('metrics count requests by route and status', async () => {
  await server.request('GET', '/healthz');
  const m = await server.request('GET', '/metrics');
  assert.equal(m.status, 200);
  assert.match(m.text, /carecomm_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
  assert.match(m.text, /carecomm_http_request_duration_seconds_bucket\{le="\+Inf"\} \d+/);
  assert.match(m.text, /carecomm_websockets_open 0/);
  assert.match(m.text, /carecomm_event_log_head \d+/);
});

test('a held event loop is noticed: logged and counted in the metrics', async () => {
  // The whole process paused for 300 ms holds the loop as a stuck callback would.
  const stalls = async () => {
    const m = await server.request('GET', '/metrics');
    return Number(/carecomm_loop_stalls_total (\d+)/.exec(m.text)[1]);
  };
  const before = await stalls();
  process.kill(server.proc.pid, 'SIGSTOP');
  await new Promise((r) => setTimeout(r, 300));
  process.kill(server.proc.pid, 'SIGCONT');
  await new Promise((r) => setTimeout(r, 100));
  assert.ok((await stalls()) >= before + 1, 'counted');
  const held = [...server.logs.matchAll(/"msg":"event loop stalled","ms":(\d+)/g)].map((x) => Number(x[1]));
  assert.ok(held.length >= 1 && held.at(-1) >= 200, `logged: ${held}`);
});

test('docs/configuration.md is the reference the CLI generates (no drift)', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const { root } = await import('./lib/harness.js');
  const r = server.cli(['config', 'doc']);
  assert.equal(r.code, 0);
  const doc = fs.readFileSync(path.join(root, 'docs/configuration.md'), 'utf8');
  assert.equal(doc, r.stdout, 'run `make docs-config` after changing a configuration key');
});

test('an access log line per request names the route, never the path', async () => {
  await server.request('GET', '/api/v1/users/SOME-PATIENT-NAME');
  await new Promise((r) => setTimeout(r, 100));
  assert.match(server.logs, /"msg":"request".*"route":"\/api\/v1\/users\/:id"/);
  assert.doesNotMatch(server.logs, /SOME-PATIENT-NAME/);
});
