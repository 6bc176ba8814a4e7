// bench/join: time from "join" to the first decoded remote video frame, through carecommd and,
// in the same run with the same browser and media, straight to Janus; and carecommd's CPU per
// active participant. Prints its figures; not a test. Run by bench/join/run inside a network
// namespace of its own (Janus does no media over loopback): MEDIA_IP is a veth address there.
//
// Through carecommd: a publisher (one Chromium page, fake camera) publishes in a conversation's
// meeting; a viewer (another page) then joins 20 times: meeting.join, meeting.subscribe to the
// publisher, answer, until getStats() shows a decoded frame; leave; again. Direct: the same two
// pages speak Janus's API (janus-page.js) with the steps carecommd takes on a participant's
// behalf (publisher handle and join, subscriber handle and join, start). The clock starts at the
// first request and stops at the first decoded frame (getStats polled every 5 ms).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import { startServer, launchBrowser, sleep } from '../../tests/e2e/lib/web.js';
import { createUser, loginReady, freePort } from '../../tests/integration/lib/harness.js';
import { client, createConversation } from '../../tests/integration/lib/msg.js';
import { pageClient, appPageAt } from '../../tests/e2e/lib/meeting-page.js';
import { janusClient, firstFrameHelper } from './janus-page.js';

const MEDIA_IP = process.env.MEDIA_IP || '10.99.0.1';
const JOINS = Number(process.env.JOIN_COUNT || 20);
const HOLD_S = Number(process.env.JOIN_HOLD_SECONDS || 10);
// Joins are spaced: Janus asks the publisher for a key frame (PLI) for a new subscriber at most
// about once a second, so back-to-back joins would wait for the encoder's next key frame instead.
const GAP_MS = Number(process.env.JOIN_GAP_MS || 1500);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
// CPU time of every thread of pid, in ms, from schedstat (nanoseconds: /proc/PID/stat's 10 ms
// ticks are too coarse for a server that only relays signalling).
const cpuMs = (pid) =>
  fs.readdirSync(`/proc/${pid}/task`).reduce((sum, t) => {
    try {
      return sum + Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
    } catch {
      return sum; // a thread that ended meanwhile
    }
  }, 0);
const fmt = (x) => x.toFixed(1);

async function main() {
  const janusApi = await freePort();
  const base = 20000 + crypto.randomInt(0, 400) * 100;
  const server = await startServer({
    CARECOMM_LOG_LEVEL: 'warn',
    CARECOMM_MEDIA_MODE: 'embedded',
    CARECOMM_MEDIA_IP: MEDIA_IP,
    CARECOMM_JANUS_API_PORT: String(janusApi),
    CARECOMM_JANUS_ADMIN_PORT: String(await freePort()),
    CARECOMM_TURN_PORT: String(await freePort()),
    CARECOMM_RTP_PORT_RANGE: `${base}-${base + 99}`,
    CARECOMM_TURN_RELAY_PORT_RANGE: `${base + 100}-${base + 149}`,
  });
  const blank = http.createServer((req, res) => res.end('<!doctype html><title>bench</title>'));
  let browser;
  try {
    const deadline = Date.now() + 30000;
    while ((await server.request('GET', '/readyz')).status !== 200) {
      if (Date.now() > deadline) throw new Error(`media not ready:\n${server.logs}`);
      await sleep(200);
    }
    const people = {};
    for (const name of ['pub', 'view', 'third']) {
      createUser(server, name, 'nurse');
      people[name] = await loginReady(server, name);
    }
    const conv = await createConversation(client(server, people.pub), { kind: 'group', members: [people.view.userId, people.third.userId] });
    const secrets = JSON.parse(fs.readFileSync(path.join(server.dataDir, 'media/secrets.json'), 'utf8'));
    await new Promise((r) => blank.listen(0, '127.0.0.1', r));
    const blankUrl = `http://127.0.0.1:${blank.address().port}/`;

    browser = await launchBrowser();
    const page = async (who, url) => {
      const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
      if (who) await ctx.addCookies([{ name: 'cc_session', value: who.token, url: server.url }]);
      const p = await ctx.newPage();
      if (url === server.url) await appPageAt(p, server.url);
      else await p.goto(url);
      await p.evaluate(firstFrameHelper);
      return p;
    };

    // ---- through carecommd ----
    const pub = await page(people.pub, server.url);
    const view = await page(people.view, server.url);
    for (const p of [pub, view]) {
      await p.evaluate(pageClient);
      await p.evaluate(() => window.mt.open());
    }
    const published = await pub.evaluate((c) => window.mt.joinAndPublish(c), conv.id);
    await sleep(2000); // the publisher's media flowing
    const viaCarecomm = [];
    for (let i = 0; i < JOINS; i++) {
      viaCarecomm.push(await view.evaluate(async ([c, feed]) => {
        const mt = window.mt;
        const t0 = performance.now();
        const joined = await mt.call({ type: 'meeting.join', conversation: c });
        if (joined.type !== 'meeting.joined') throw new Error(JSON.stringify(joined));
        mt.room = joined.room;
        mt.ice = joined.ice_servers;
        await mt.subscribe(feed);
        const ms = await window.firstFrame(mt.sub, t0);
        await mt.leave();
        return ms;
      }, [conv.id, published.feed]));
      await sleep(GAP_MS);
    }

    // ---- carecommd's CPU with three people in a call, each receiving the two others ----
    const third = await page(people.third, server.url);
    await third.evaluate(pageClient);
    await third.evaluate(() => window.mt.open());
    const v = await view.evaluate((c) => window.mt.joinAndPublish(c), conv.id);
    const t = await third.evaluate((c) => window.mt.joinAndPublish(c), conv.id);
    // (One subscriber connection each, to one other participant: enough to keep every
    // participant's signalling, keepalives and media flowing.)
    await pub.evaluate((f) => window.mt.subscribe(f), v.feed);
    await view.evaluate((f) => window.mt.subscribe(f), t.feed);
    await third.evaluate((f) => window.mt.subscribe(f), published.feed);
    await sleep(3000);
    const pid = server.proc.pid;
    const janusPid = Number(fs.readFileSync(path.join(server.dataDir, 'media/janus.pid'), 'utf8').trim());
    const c0 = cpuMs(pid);
    const j0 = cpuMs(janusPid);
    await sleep(HOLD_S * 1000);
    const carecommMsPerS = (cpuMs(pid) - c0) / HOLD_S;
    const janusMsPerS = (cpuMs(janusPid) - j0) / HOLD_S;
    for (const p of [pub, view, third]) await p.evaluate(() => window.mt.leave());

    // ---- straight to Janus, same browser, same fake media ----
    const dpub = await page(null, blankUrl);
    const dview = await page(null, blankUrl);
    for (const p of [dpub, dview]) {
      await p.evaluate(janusClient, [`ws://127.0.0.1:${janusApi}/`, secrets.janus_api_secret]);
      await p.evaluate(() => window.jn.open());
      await p.evaluate(() => window.jn.session());
    }
    const room = String(900000 + crypto.randomInt(0, 99999)); // carecommd configures string ids
    await dpub.evaluate(([r, k]) => window.jn.createRoom(r, k), [room, secrets.videoroom_admin_key]);
    const feed = await dpub.evaluate((r) => window.jn.publish(r), room);
    await sleep(2000);
    const direct = [];
    for (let i = 0; i < JOINS; i++) {
      direct.push(await dview.evaluate(([r, f]) => window.jn.joinOnce(r, f), [room, feed]));
      await sleep(GAP_MS);
    }

    const phases = async (p) => (await p.evaluate(() => window.phases.splice(0))).map((x) => `${fmt(x.connected ?? -1)}/${fmt(x.packets ?? -1)}`).join(' ');
    console.log(`# phases (connected/first video packet, ms) carecomm: ${await phases(view)}`);
    console.log(`# phases (connected/first video packet, ms) direct: ${await phases(dview)}`);
    const p50c = pct(viaCarecomm, 50);
    const p95c = pct(viaCarecomm, 95);
    const p50d = pct(direct, 50);
    const p95d = pct(direct, 95);
    console.log(`# join: ${JOINS} joins each, ${GAP_MS} ms apart, first decoded frame after the join (ms), Chromium fake camera 320x240, room bitrate 1 Mbps`);
    console.log(`carecomm join_ms_p50=${fmt(p50c)} p95=${fmt(p95c)} min=${fmt(Math.min(...viaCarecomm))} max=${fmt(Math.max(...viaCarecomm))}`);
    console.log(`janus_direct join_ms_p50=${fmt(p50d)} p95=${fmt(p95d)} min=${fmt(Math.min(...direct))} max=${fmt(Math.max(...direct))}`);
    console.log(`overhead p50=${fmt(((p50c - p50d) / p50d) * 100)}% p95=${fmt(((p95c - p95d) / p95d) * 100)}% (goals: p95 < 400 ms through carecomm, overhead < 10%)`);
    console.log(`cpu participants=3 hold_s=${HOLD_S} carecommd_ms_per_s_per_participant=${(carecommMsPerS / 3).toFixed(3)} janus_ms_per_s_per_participant=${fmt(janusMsPerS / 3)}`);
  } finally {
    await browser?.close();
    blank.close();
    await server.stop();
    if (process.env.JOIN_KEEP !== '1') server.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
