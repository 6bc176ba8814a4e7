// Reading what a page receives over WebRTC, for tests. recordPeerConnections is instrumentation
// (page.addInitScript): every RTCPeerConnection the page makes is kept in window.__pcs, so that
// the test can read getStats() as webrtc-internals would. It changes nothing the page does.
import { sleep } from '../../integration/lib/harness.js';

export function recordPeerConnections() {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
}

// Video frames decoded and audio packets received, over all the page's open connections, and
// the frames of each incoming video stream (by its track id).
export const received = (page) =>
  page.evaluate(async () => {
    const out = { frames: 0, audio: 0, streams: {} };
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') {
          out.frames += r.framesDecoded || 0;
          out.streams[r.trackIdentifier || r.id] = r.framesDecoded || 0;
        }
        if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio += r.packetsReceived || 0;
      });
    }
    return out;
  });

// Waits until what page receives grows: video and audio (or only what is asked), or n distinct
// video streams each decoding frames (streams: n).
export async function growing(page, what, { video = true, audio = true, streams = 0, timeout = 30000 } = {}) {
  let first = await received(page);
  const deadline = Date.now() + timeout;
  for (;;) {
    await sleep(500);
    const now = await received(page);
    const grew = Object.keys(now.streams).filter((k) => now.streams[k] > (first.streams[k] ?? 0));
    if ((!video || now.frames > first.frames) && (!audio || now.audio > first.audio) && grew.length >= streams) return now;
    if (Date.now() > deadline) throw new Error(`${what}: nothing grows enough (${JSON.stringify(first)} then ${JSON.stringify(now)})`);
    if (streams) first = now; // each stream must grow between two consecutive looks
  }
}

// The simulcast layers a page sends (outbound video streams with a rid that carried bytes).
export const sentLayers = (page) =>
  page.evaluate(async () => {
    const rids = new Set();
    for (const pc of window.__pcs) {
      if (pc.connectionState === 'closed') continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === 'outbound-rtp' && r.kind === 'video' && r.rid && r.bytesSent > 0) rids.add(r.rid);
      });
    }
    return [...rids].sort();
  });
