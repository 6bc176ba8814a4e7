// `carecomm demo seed`: an empty store becomes a small hospital one can log into at once — staff
// with a known password and 2FA whose codes `carecomm demo code` gives, channels with history, a
// day of teleconsultations with working patient links. Never over an existing store; `demo code`
// never on a store the seed did not make.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, createUser } from './lib/harness.js';
import { client } from './lib/msg.js';
import { agendaDay } from './lib/hl7.js';

const servers = [];
after(async () => {
  for (const s of servers) {
    await s.stop();
    s.cleanup();
  }
});

async function demoLogin(server, username) {
  const code = server.cli(['demo', 'code', username]);
  assert.equal(code.code, 0, code.stderr);
  const totp = /^(\d{6}) /.exec(code.stdout)[1];
  const r = await server.request('POST', '/api/v1/auth/login', { body: { username, password: 'Demo-carecomm-2026', totp } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.restriction ?? null, null, 'nothing to set up first');
  return { token: r.body.token, name: username };
}

test('seed, then log in as the cardiologist: agenda, patient links, channels', async () => {
  const server = new Server();
  servers.push(server);
  const seeded = server.cli(['demo', 'seed']);
  assert.equal(seeded.code, 0, seeded.stderr);
  assert.match(seeded.stdout, /Demo-carecomm-2026/);
  const links = [...seeded.stdout.matchAll(/\/visit\/(\S+)/g)].map((m) => m[1]);
  assert.equal(links.length, 7);
  await server.start();

  const doc = await demoLogin(server, 'dr.martin');
  const api = client(server, doc);
  const agenda = await api.ok('GET', `/care/agenda?date=${agendaDay(Date.now() + 30 * 60000)}`);
  assert.ok(agenda.appointments.length >= 1, 'today has teleconsultations');
  assert.ok(agenda.appointments.every((a) => a.practitioner_id === agenda.appointments[0].practitioner_id));
  const visit = await server.request('GET', `/api/v1/visit/${links[0]}`);
  assert.equal(visit.status, 200);
  assert.equal(visit.body.patient_given, 'Jeanne');

  const convs = await api.ok('GET', '/conversations');
  const cardio = convs.conversations.find((c) => c.name === 'cardiologie');
  assert.ok(cardio, JSON.stringify(convs));
  const history = await api.ok('GET', `/conversations/${cardio.id}/messages`);
  assert.equal(history.messages.length, 4);
  const found = await api.ok('GET', '/search?q=ecg');
  assert.ok(found.results.length >= 1, 'seeded messages are searchable');

  const again = server.cli(['demo', 'seed']);
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /empty store only/);
  assert.equal(server.cli(['audit', 'verify']).code, 0);
});

test('demo code refuses a store the seed did not make', async () => {
  const server = new Server();
  servers.push(server);
  createUser(server, 'dr.real', 'practitioner');
  const r = server.cli(['demo', 'code', 'dr.real']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /only in a store made by `carecomm demo seed`/);
});
