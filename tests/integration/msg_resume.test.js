// No message missing and none twice: clients that follow conversations while messages are being
// posted, through a client drop and through server restarts (graceful and killed), resume with
// the last sequence they processed and end up with exactly the messages the store holds — on
// SQLite and on PostgreSQL.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, pgDatabase, sleep } from './lib/harness.js';
import { staff, client, createConversation, openSocket } from './lib/msg.js';

// A client as the web app is one: it processes events in order, remembers the last seq, and
// after any drop says hello with it.
class Follower {
  constructor(server, who) {
    this.server = server;
    this.who = who;
    this.lastSeq = undefined;
    this.created = []; // message ids, in the order received
    this.seqs = [];
    this.errors = [];
  }

  async connect() {
    for (let attempt = 0; ; attempt++) {
      try {
        this.w = await openSocket(this.server, this.who, this.lastSeq);
        break;
      } catch (e) {
        if (attempt > 100) throw e;
        await sleep(100); // the server is restarting
      }
    }
    if (this.lastSeq === undefined) this.lastSeq = this.w.welcome.head;
    if (this.w.welcome.reset) this.errors.push('reset');
    for (const m of this.w.messages) this.process(m); // what came with the welcome
    this.w.ws.on('message', (d) => this.process(JSON.parse(d.toString())));
    this.w.closed.then(() => (this.open = false));
    this.open = true;
  }

  process(m) {
    if (m.type !== 'event' || this.seqs.includes(m.seq)) {
      if (m.type === 'event') this.errors.push(`seq ${m.seq} twice`);
      return;
    }
    if (m.seq <= this.lastSeq) this.errors.push(`seq ${m.seq} after ${this.lastSeq}`);
    this.lastSeq = m.seq;
    this.seqs.push(m.seq);
    if (m.event === 'message.created') this.created.push(m.data.id);
  }

  drop() {
    this.w.ws.terminate(); // no close handshake: a network failure
  }
}

// Posts count messages round-robin into the conversations, a few at a time; resolves the ids
// the server acknowledged (requests during a restart fail, which is fine).
async function produce(server, authors, convs, count, tag, concurrency = 4) {
  const acked = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const a = authors[i % authors.length];
        const c = convs[i % convs.length];
        try {
          const r = await server.request('POST', `/api/v1/conversations/${c}/messages`, { token: a.token, body: { body: `${tag} ${i}` } });
          if (r.status === 201) acked.push(r.body.id);
        } catch {
          /* the server is restarting */
        }
        if (i % 10 === 0) await sleep(5);
      }
    }),
  );
  return acked;
}

// Every message of the conversations, from the history (the store's truth).
async function allMessages(api, convs) {
  const ids = [];
  for (const c of convs) {
    let after = 0;
    for (;;) {
      const page = await api.ok('GET', `/conversations/${c}/messages?after=${after}&limit=200`);
      ids.push(...page.messages.map((m) => m.id));
      if (!page.has_more) break;
      after = page.messages.at(-1).seq;
    }
  }
  return ids;
}

async function settle(followers, expected) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    if (followers.every((f) => expected.get(f).every((id) => f.created.includes(id)))) return;
    await sleep(50);
  }
}

const backends = [
  { name: 'SQLite', opts: () => ({}), kill: true },
  { name: 'PostgreSQL', opts: () => ({ backend: 'postgresql', pgConninfo: pgDatabase() }), kill: false },
];

for (const backend of backends) {
  describe(`resume on ${backend.name}`, () => {
    let server;
    let p;
    let api;
    let convs; // name -> id

    before(async () => {
      server = await new Server(backend.opts()).start();
      p = await staff(server, { alice: 'practitioner', bob: 'nurse', carol: 'secretary', dan: 'nurse' });
      api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
      convs = {
        ward: (await createConversation(api.alice, { kind: 'channel', name: 'Service', members: [p.bob.userId, p.carol.userId] })).id,
        group: (await createConversation(api.alice, { kind: 'group', members: [p.bob.userId, p.dan.userId] })).id,
        direct: (await createConversation(api.carol, { kind: 'direct', members: [p.dan.userId] })).id,
      };
    });
    after(async () => {
      await server.stop();
      server.cleanup();
    });

    test('through a client drop and a restart, every client gets each message exactly once', async () => {
      const memberOf = {
        alice: [convs.ward, convs.group],
        bob: [convs.ward, convs.group],
        carol: [convs.ward, convs.direct],
        dan: [convs.group, convs.direct],
      };
      const followers = Object.keys(memberOf).map((n) => new Follower(server, p[n]));
      for (const f of followers) await f.connect();
      const authorsOf = (c) => Object.keys(memberOf).filter((n) => memberOf[n].includes(c)).map((n) => p[n]);
      const burst = (tag, n) =>
        Promise.all(Object.values(convs).map((c) => produce(server, authorsOf(c), [c], n, tag)));

      // 1. A client drops in the middle of a burst and comes back.
      const b1 = burst('drop', 60);
      await sleep(100);
      followers[1].drop();
      await sleep(150);
      await followers[1].connect();
      const acked = (await b1).flat();

      // 2. The server restarts (gracefully) in the middle of a burst; everyone resumes.
      const b2 = burst('restart', 60);
      await sleep(100);
      await server.stop('SIGTERM');
      await server.start();
      for (const f of followers) if (!f.open) await f.connect();
      acked.push(...(await b2).flat());

      // 3. The server is killed in the middle of a burst (SQLite: once is enough for both).
      if (backend.kill) {
        const b3 = burst('kill', 60);
        await sleep(100);
        await server.stop('SIGKILL');
        await server.start();
        for (const f of followers) if (!f.open) await f.connect();
        acked.push(...(await b3).flat());
      }
      acked.push(...(await burst('after', 5)).flat());

      const expected = new Map();
      for (const f of followers) expected.set(f, await allMessages(api[f.who.name], memberOf[f.who.name]));
      await settle(followers, expected);
      for (const f of followers) {
        const want = expected.get(f);
        assert.deepEqual(f.errors, [], `${f.who.name}: ${f.errors.join(', ')}`);
        assert.equal(new Set(f.created).size, f.created.length, `${f.who.name}: a message twice`);
        const missing = want.filter((id) => !f.created.includes(id));
        assert.deepEqual(missing, [], `${f.who.name}: ${missing.length} of ${want.length} messages missing`);
        const extra = f.created.filter((id) => !want.includes(id));
        assert.deepEqual(extra, [], `${f.who.name}: messages of conversations they are not in`);
        assert.ok(want.length >= 100, `${f.who.name}: only ${want.length} messages`);
      }
      // Every message the server acknowledged is there (none lost by the restarts).
      const stored = new Set([...expected.values()].flat());
      assert.deepEqual(acked.filter((id) => !stored.has(id)), [], 'acknowledged messages lost');
      for (const f of followers) f.w.ws.terminate();
    });
  });
}
