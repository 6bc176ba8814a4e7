// What survives a restart and a crash, on SQLite and on PostgreSQL: accounts, sessions (a
// logged-in user stays logged in), the event log, and every write the server acknowledged even
// when it is killed with SIGKILL in the middle of a burst.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, pgDatabase, PASSWORD, sleep } from './lib/harness.js';
import { login, adminSession, apiCreateUser, activate, listUsers, nextCode, auditQuery } from './lib/accounts.js';

function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : null;
}

// Replays the event log from the start (as a client resuming from nothing would) until pred
// matches a replayed event; returns the head and the events seen by then. Events the token may
// not see (internal ones) are skipped by the server, so the head itself may never arrive.
async function replayUntil(server, token, pred) {
  const ws = server.ws(token);
  await ws.opened;
  ws.send({ type: 'hello', last_seq: 0 });
  const welcome = await ws.next((m) => m.type === 'welcome');
  await ws.next((m) => m.type === 'event' && pred(m));
  const events = ws.events();
  await ws.close();
  return { head: welcome.head, events };
}

const backends = [
  { name: 'SQLite', opts: () => ({}) },
  { name: 'PostgreSQL', opts: () => ({ backend: 'postgresql', pgConninfo: pgDatabase() }) },
];

for (const backend of backends) {
  describe(`durability on ${backend.name}`, () => {
    let server;
    let root;
    before(async () => {
      server = await new Server(backend.opts()).start();
      root = await adminSession(server, 'root');
    });
    after(async () => {
      await server.stop('SIGKILL');
      server.cleanup();
    });

    test('login and administration work end to end', async () => {
      const me = await server.request('GET', '/api/v1/me', { token: root.token });
      assert.equal(me.status, 200);
      assert.equal(me.body.user.role, 'admin');
      const u = await apiCreateUser(server, root.token, 'nora', 'nurse', 'Nora');
      const nora = await activate(server, 'nora', u.temporary_password);
      assert.equal((await server.request('GET', '/api/v1/me', { token: nora.token })).body.restriction ?? null, null);
      let r = await login(server, 'nora', PASSWORD, { totp: nextCode(nora.secret) });
      assert.equal(r.status, 200, 'login with 2FA: ' + r.text);
      r = await server.request('PATCH', `/api/v1/users/${u.id}`, { token: root.token, body: { display_name: 'Nora N.' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.display_name, 'Nora N.');
      r = await server.request('POST', '/api/v1/users', {
        token: root.token,
        body: { username: 'nora', display_name: 'Dup', role: 'nurse' },
      });
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'username_taken');
      r = await server.request('PATCH', `/api/v1/users/${u.id}`, { token: root.token, body: { disabled: true } });
      assert.equal(r.status, 200);
      r = await server.request('GET', '/api/v1/me', { token: nora.token });
      assert.equal(r.status, 401, 'disabled: logged out');
      r = await server.request('PATCH', `/api/v1/users/${u.id}`, { token: root.token, body: { disabled: false } });
      assert.equal(r.status, 200);
      const v = await server.request('POST', '/api/v1/audit/verify', { token: root.token });
      assert.equal(v.body.intact, true, JSON.stringify(v.body));
    });

    test('a restart (SIGTERM) keeps accounts, sessions and events', async () => {
      const u = await apiCreateUser(server, root.token, 'kept', 'it_support');
      const kept = await activate(server, 'kept', u.temporary_password);
      const m = await server.request('GET', '/metrics');
      const head = metric(m.text, 'carecomm_event_log_head');
      assert.ok(head > 0);
      const before = await replayUntil(server, root.token, (e) => e.event === 'user.updated' && e.data.username === 'kept');
      const lastSeen = before.events[before.events.length - 1].seq;

      const exit = await server.stop('SIGTERM');
      assert.equal(exit.code, 0, `graceful exit: ${JSON.stringify(exit)}\n${server.logs}`);
      await server.start();

      let r = await server.request('GET', '/api/v1/me', { token: root.token });
      assert.equal(r.status, 200, 'the admin is still logged in: ' + r.text);
      r = await server.request('GET', '/api/v1/me', { token: kept.token });
      assert.equal(r.status, 200, 'the user is still logged in: ' + r.text);
      assert.equal(r.body.user.username, 'kept');
      const users = await listUsers(server, root.token);
      assert.ok(users.some((x) => x.username === 'kept' && x.must_change_password === false));
      assert.ok(users.some((x) => x.username === 'root' && x.totp_enabled === true));
      r = await login(server, 'kept', PASSWORD, { totp: nextCode(kept.secret) });
      assert.equal(r.status, 200, 'the changed password and the 2FA secret survived: ' + r.text);

      const after = await replayUntil(server, root.token, (e) => e.seq >= lastSeen);
      assert.ok(after.head >= head, `event head went back: ${after.head} < ${head}`);
      const seqs = after.events.map((e) => e.seq);
      for (const e of before.events) assert.ok(seqs.includes(e.seq), `event ${e.seq} lost in the restart`);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], 'events in order');
    });

    test('SIGKILL during a burst of account creations loses no acknowledged one', async () => {
      const total = 60;
      const acked = [];
      const failed = [];
      let killed = false;
      const burst = [];
      for (let i = 0; i < total; i++) {
        const username = `burst-${i}`;
        burst.push(
          server
            .request('POST', '/api/v1/users', {
              token: root.token,
              body: { username, display_name: `Burst ${i}`, role: 'nurse' },
            })
            .then((r) => {
              if (r.status === 201) {
                if (killed) failed.push(`${username} acknowledged after the kill`);
                acked.push({ username, id: r.body.user.id, temporary_password: r.body.temporary_password });
              }
            })
            .catch(() => {}),
        );
      }
      // Kill once some, but not all, have been acknowledged.
      const deadline = Date.now() + 20000;
      while (acked.length < 8 && Date.now() < deadline) await sleep(5);
      await server.stop('SIGKILL');
      killed = true;
      await Promise.all(burst);
      assert.ok(acked.length >= 8, `only ${acked.length} acknowledged before the kill`);
      assert.ok(acked.length < total, 'the kill happened during the burst');

      await server.start();
      const users = await listUsers(server, root.token);
      const byName = new Map(users.map((u) => [u.username, u]));
      for (const a of acked) {
        assert.ok(byName.has(a.username), `acknowledged ${a.username} lost by the crash`);
        assert.equal(byName.get(a.username).id, a.id);
      }
      // Acknowledged means usable: the temporary password given out works.
      const sample = acked[acked.length - 1];
      const r = await login(server, sample.username, sample.temporary_password);
      assert.equal(r.status, 200, r.text);
      // Each acknowledged creation is in the audit trail, and the chain survived the crash.
      const audit = await auditQuery(server, root.token, { action: 'user.create', limit: '500' });
      const audited = new Set(audit.records.map((x) => x.details.username));
      for (const a of acked) assert.ok(audited.has(a.username), `no audit record for ${a.username}`);
      const v = await server.request('POST', '/api/v1/audit/verify', { token: root.token });
      assert.equal(v.body.intact, true, JSON.stringify(v.body));
      // The session survived too.
      assert.equal((await server.request('GET', '/api/v1/me', { token: root.token })).status, 200);
      assert.deepEqual(failed, []);
    });
  });
}
