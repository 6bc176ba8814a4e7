// A 1:1 video call between two real Chromium browsers, signalled only through carecommd's event
// WebSocket (meeting.* frames; the browsers never reach Janus's API), with media through the
// Janus and coturn that carecommd runs. Both browsers must decode the other's video (getStats():
// inbound framesDecoded grows on both), directly and then forced through coturn with the TURN
// credentials meeting.joined gave (the selected candidate pair is a relay). A third person, not
// a member of the conversation, can neither join nor subscribe, even with the real room id; the
// host removes a participant and their video stops.
//
// Janus never uses loopback for media: the file runs itself again in a network namespace
// (lib/netns.js) where 10.99.0.1 is carecommd's media_ip. The page is the served app's origin (for the cookie and the origin
// check); the meeting client is a small script injected with page.evaluate (the meeting UI is
// not part of this test).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, sleep } from './lib/web.js';
import { createUser, loginReady } from '../integration/lib/harness.js';
import { client, createConversation } from '../integration/lib/msg.js';
import { pageClient, appPageAt } from './lib/meeting-page.js';
import { netnsTest, mediaEnv } from './lib/netns.js';

const MEDIA_IP = '10.99.0.1';
const inNetns = netnsTest(import.meta.url, { title: 'a 1:1 call in a network namespace', mediaIp: MEDIA_IP, inner: 4, timeout: 240000 });

let server;
let browser;
const people = { alice: { role: 'practitioner' }, bruno: { role: 'nurse' }, eve: { role: 'nurse' } };
let conv;

if (inNetns) {
  before(async () => {
    server = await startServer(await mediaEnv(MEDIA_IP));
    const deadline = Date.now() + 30000;
    while ((await server.request('GET', '/readyz')).status !== 200) {
      if (Date.now() > deadline) throw new Error(`media not ready:\n${server.logs}`);
      await sleep(200);
    }
    for (const [name, who] of Object.entries(people)) {
      createUser(server, name, who.role);
      Object.assign(who, await loginReady(server, name), { name });
    }
    conv = await createConversation(client(server, people.alice), { kind: 'group', members: [people.bruno.userId] });
    browser = await launchBrowser();
    for (const who of Object.values(people)) {
      who.context = await browser.newContext({ ignoreHTTPSErrors: true });
      await who.context.addCookies([{ name: 'cc_session', value: who.token, url: server.url }]);
      who.page = await who.context.newPage();
      await appPageAt(who.page, server.url);
      await who.page.evaluate(pageClient);
      await who.page.evaluate(() => window.mt.open());
    }
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await server.stop();
      if (process.env.CARECOMM_KEEP_DATA !== '1') server.cleanup();
    }
  });

  test('each participant of a 1:1 call receives the other one\'s video', { timeout: 120000 }, async () => {
    const { alice, bruno } = people;
    const a = await alice.page.evaluate((c) => window.mt.joinAndPublish(c), conv.id);
    const b = await bruno.page.evaluate((c) => window.mt.joinAndPublish(c), conv.id);
    assert.equal(a.room, b.room);
    assert.match(a.ice[0].urls[0], new RegExp(`^turn:${MEDIA_IP.replace(/\./g, '\\.')}:`));
    await alice.page.evaluate((f) => window.mt.subscribe(f), b.feed);
    await bruno.page.evaluate((f) => window.mt.subscribe(f), a.feed);

    const frames = async (who) => (await who.page.evaluate(() => window.mt.stats())).framesDecoded;
    const deadline = Date.now() + 30000;
    let fa = 0;
    let fb = 0;
    while ((fa === 0 || fb === 0) && Date.now() < deadline) {
      await sleep(250);
      [fa, fb] = [await frames(alice), await frames(bruno)];
    }
    const seen = async (who) => (await who.page.evaluate(() => window.mt.seen.join(',')));
    assert.ok(fa > 0, `alice decoded no frame; she saw ${await seen(alice)}\n${server.logs.slice(-3000)}`);
    assert.ok(fb > 0, `bruno decoded no frame; he saw ${await seen(bruno)}`);
    await sleep(1500);
    const [fa2, fb2] = [await frames(alice), await frames(bruno)];
    assert.ok(fa2 > fa, `alice's framesDecoded does not grow (${fa} then ${fa2})`);
    assert.ok(fb2 > fb, `bruno's framesDecoded does not grow (${fb} then ${fb2})`);
    const pair = (await alice.page.evaluate(() => window.mt.stats())).pair;
    assert.ok(pair, 'no nominated ICE candidate pair');
  });

  test('the same call forced through TURN with the credentials of meeting.joined', { timeout: 120000 }, async () => {
    const { alice, bruno } = people;
    for (const who of [alice, bruno]) {
      const left = await who.page.evaluate(() => window.mt.leave());
      assert.equal(left.type, 'meeting.left');
    }
    const a = await alice.page.evaluate((c) => window.mt.joinAndPublish(c, 'relay'), conv.id);
    const b = await bruno.page.evaluate((c) => window.mt.joinAndPublish(c, 'relay'), conv.id);
    await alice.page.evaluate((f) => window.mt.subscribe(f), b.feed);
    await bruno.page.evaluate((f) => window.mt.subscribe(f), a.feed);
    const stats = (who) => who.page.evaluate(() => window.mt.stats());
    const deadline = Date.now() + 30000;
    let sa = await stats(alice);
    let sb = await stats(bruno);
    while ((sa.framesDecoded === 0 || sb.framesDecoded === 0) && Date.now() < deadline) {
      await sleep(250);
      [sa, sb] = [await stats(alice), await stats(bruno)];
    }
    assert.ok(sa.framesDecoded > 0 && sb.framesDecoded > 0, `through TURN: ${sa.framesDecoded}, ${sb.framesDecoded}`);
    assert.equal(sa.pair, 'relay');
    assert.equal(sb.pair, 'relay');
  });

  test('the host removes a participant: their media stops for the others', { timeout: 60000 }, async () => {
    const { alice, bruno } = people;
    // Alice rejoined first in the test before: she hosts.
    const frames = async (who) => (await who.page.evaluate(() => window.mt.stats())).framesDecoded;
    const before = await frames(alice);
    await sleep(1000);
    assert.ok((await frames(alice)) > before, 'alice receives bruno before the removal');
    const bFeed = await bruno.page.evaluate(async () => {
      const me = await window.mt.call({ type: 'meeting.lock', room: window.mt.room, locked: false });
      return me.code; // bruno is not the host
    });
    assert.equal(bFeed, 'not_host');
    const feed = await bruno.page.evaluate(() => {
      window.leftP = window.mt.next((m) => m.type === 'meeting.left'); // before it can arrive
      return window.mt.feed;
    });
    const done = await alice.page.evaluate((f) => window.mt.call({ type: 'meeting.remove', room: window.mt.room, feed: f }), feed);
    assert.equal(done.type, 'meeting.done', JSON.stringify(done));
    const told = await bruno.page.evaluate(() => window.leftP);
    assert.equal(told.reason, 'removed_by_host');
    // Janus dropped his publisher: within a moment nothing more of him is decoded.
    await sleep(1500);
    const stopped = await frames(alice);
    await sleep(2000);
    assert.equal(await frames(alice), stopped, 'bruno\'s video still arrives after his removal');
  });

  test('a non-member can neither join nor subscribe, even with the real room id', async () => {
    const { alice, eve } = people;
    const room = await alice.page.evaluate(() => window.mt.room);
    const code = (await alice.page.evaluate(() => window.mt.call({ type: 'meeting.leave', room: '1' }))).code;
    assert.equal(code, 'not_in_room'); // even the member: a room that is not this tab's
    const r = await eve.page.evaluate(async ([c, rm]) => {
      const join = await window.mt.call({ type: 'meeting.join', conversation: c });
      const sub = await window.mt.call({ type: 'meeting.subscribe', room: rm, streams: [{ feed: 'x' }] });
      const pub = await window.mt.call({ type: 'meeting.publish', room: rm, jsep: { type: 'offer', sdp: 'v=0\r\n' } });
      return [join, sub, pub].map((m) => `${m.type}:${m.code}`);
    }, [conv.id, room]);
    assert.deepEqual(r, ['meeting.error:conversation_not_found', 'meeting.error:not_in_room', 'meeting.error:not_in_room']);
  });
}
