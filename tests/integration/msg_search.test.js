// Full-text search over what the user may read: insensitive to case and to French accents
// (é, è, ç, œ...), words matched by their beginning, every word required, newest first, with a
// snippet whose matches are wrapped in [[ and ]]. On SQLite and on PostgreSQL (whose terms
// compare bytewise whatever the database's locale).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, pgDatabase } from './lib/harness.js';
import { staff, client, createConversation, postMessage } from './lib/msg.js';

const backends = [
  { name: 'SQLite', opts: () => ({}) },
  { name: 'PostgreSQL', opts: () => ({ backend: 'postgresql', pgConninfo: pgDatabase() }) },
];

for (const backend of backends) {
  describe(`search on ${backend.name}`, () => {
    let server;
    let p;
    let api;
    let ward; // alice, bob
    let other; // alice, carol
    const q = async (who, text, extra = '') => api[who].ok('GET', `/search?q=${encodeURIComponent(text)}${extra}`);
    const ids = (r) => r.results.map((x) => x.message.id);

    before(async () => {
      server = await new Server(backend.opts()).start();
      p = await staff(server, { alice: 'nurse', bob: 'practitioner', carol: 'secretary' });
      api = Object.fromEntries(Object.entries(p).map(([n, who]) => [n, client(server, who)]));
      ward = await createConversation(api.alice, { kind: 'channel', name: 'Cardio', visibility: 'private', members: [p.bob.userId] });
      other = await createConversation(api.alice, { kind: 'group', members: [p.carol.userId] });
    });
    after(async () => {
      await server.stop();
      server.cleanup();
    });

    test('case and accents do not matter; words match by their beginning', async () => {
      const m1 = await postMessage(api.alice, ward.id, 'Le patient a une FIÈVRE élevée et un œdème des chevilles.');
      const m2 = await postMessage(api.bob, ward.id, 'Fievre tombée; GARÇON de 12 ans, à revoir à l’hôpital demain.');
      const m3 = await postMessage(api.alice, ward.id, 'Rien à signaler');
      let r = await q('bob', 'fievre');
      assert.deepEqual(ids(r), [m2.id, m1.id], 'newest first');
      for (const text of ['FIEVRE', 'fièvre', 'Fièv', 'fie']) assert.deepEqual(ids(await q('bob', text)), [m2.id, m1.id], text);
      assert.deepEqual(ids(await q('bob', 'OEDEME')), [m1.id]);
      assert.deepEqual(ids(await q('bob', 'œdème')), [m1.id]);
      assert.deepEqual(ids(await q('bob', 'garcon hopital')), [m2.id], 'every word');
      assert.deepEqual(ids(await q('bob', 'garçon signaler')), [], 'every word must match');
      assert.deepEqual(ids(await q('bob', 'signaler')), [m3.id]);
      r = await q('bob', 'fièvre élevée');
      assert.equal(r.results[0].snippet, 'Le patient a une [[FIÈVRE]] [[élevée]] et un œdème des chevilles.');
      assert.equal(r.results[0].conversation.id, ward.id);
      assert.equal(r.results[0].conversation.name, 'Cardio');
      assert.deepEqual(r.terms, ['fievre', 'elevee']);
    });

    test('edits and deletes change what is found', async () => {
      const m = await postMessage(api.alice, ward.id, 'Échographie prévue mardi');
      assert.deepEqual(ids(await q('bob', 'echographie')), [m.id]);
      await api.alice.ok('PATCH', `/messages/${m.id}`, { body: 'Scanner prévu mardi' });
      assert.deepEqual(ids(await q('bob', 'echographie')), []);
      assert.deepEqual(ids(await q('bob', 'scanner')), [m.id]);
      await api.alice.ok('DELETE', `/messages/${m.id}`);
      assert.deepEqual(ids(await q('bob', 'scanner')), []);
      assert.deepEqual(ids(await q('bob', 'mardi')), []);
    });

    test('only conversations the user is a member of; one conversation at a time; paging', async () => {
      const secret = await postMessage(api.alice, other.id, 'Transfusion prévue chez Mme Durand');
      assert.deepEqual(ids(await q('bob', 'transfusion')), [], 'bob is not in that group');
      assert.deepEqual(ids(await q('carol', 'transfusion')), [secret.id]);
      assert.deepEqual(ids(await q('alice', 'transfusion', `&conversation=${other.id}`)), [secret.id]);
      assert.deepEqual(ids(await q('alice', 'transfusion', `&conversation=${ward.id}`)), []);
      const r = await api.bob.get(`/search?q=transfusion&conversation=${other.id}`);
      assert.equal(r.status, 404, 'not even the conversation exists for bob');
      // Public channels one has not joined are not searched.
      const pub = await createConversation(api.carol, { kind: 'channel', name: 'Public' });
      const pm = await postMessage(api.carol, pub.id, 'Transfusion: rappel du protocole');
      assert.deepEqual(ids(await q('bob', 'transfusion')), []);
      await api.bob.ok('POST', `/conversations/${pub.id}/join`);
      assert.deepEqual(ids(await q('bob', 'transfusion')), [pm.id]);
      // Paging.
      for (let i = 0; i < 5; i++) await postMessage(api.alice, ward.id, `Bilan numéro ${i}`);
      const page1 = await q('alice', 'bilan', '&limit=3');
      assert.equal(page1.results.length, 3);
      assert.equal(page1.has_more, true);
      const page2 = await q('alice', 'bilan', '&limit=3&offset=3');
      assert.equal(page2.results.length, 2);
      assert.equal(page2.has_more, false);
      assert.equal(new Set([...ids(page1), ...ids(page2)]).size, 5);
    });

    test('queries without a word are refused', async () => {
      for (const bad of ['', '   ', '!!', 'x'.repeat(201)]) {
        const r = await api.alice.get(`/search?q=${encodeURIComponent(bad)}`);
        assert.equal(r.status, 400, JSON.stringify(bad));
        assert.equal(r.body.error.code, 'invalid_query');
      }
      assert.equal((await api.alice.get('/search')).status, 400);
      assert.equal((await api.alice.get('/search?q=x&limit=0')).status, 400);
    });
  });
}
