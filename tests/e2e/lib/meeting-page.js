// A bare meeting client for tests and benchmarks, run in a page with page.evaluate(pageClient):
// the event WebSocket (wss://<origin>/api/v1/events, authenticated by the page's session cookie),
// one publisher and (later) one subscriber RTCPeerConnection, trickle both ways; every protocol
// step is a method of window.mt. It is not the product's meeting view (web/src): it lets a test
// speak the meeting.* frames directly, including frames the product would never send.
export function pageClient() {
  const st = (window.mt = { waiters: [], seen: [], pending: { publisher: [], subscriber: [] } });
  st.send = (o) => st.ws.send(JSON.stringify(o));
  st.next = (pred, ms = 20000) =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out; seen: ${st.seen.join(',')}`)), ms);
      st.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  const pc = (target) => (target === 'publisher' ? st.pub : st.sub);
  const addCandidate = (target, c) => {
    const p = pc(target);
    if (!p || !p.remoteDescription) return st.pending[target].push(c);
    if (c && c.candidate) p.addIceCandidate(c).catch(() => {});
  };
  st.flush = (target) => {
    for (const c of st.pending[target].splice(0)) addCandidate(target, c);
  };
  st.call = async (frame) => {
    const id = `r${Math.random().toString(36).slice(2)}`;
    st.send({ ...frame, id });
    return st.next((m) => m.id === id);
  };
  st.trickle = (p, target) => {
    p.onicecandidate = (e) =>
      st.send({ type: 'meeting.trickle', room: st.room, target, candidate: e.candidate ? e.candidate.toJSON() : null });
  };
  st.open = () =>
    new Promise((resolve, reject) => {
      st.ws = new WebSocket(`wss://${location.host}/api/v1/events`);
      st.ws.onopen = () => {
        st.send({ type: 'hello' });
        resolve();
      };
      st.ws.onerror = () => reject(new Error('event WebSocket failed'));
      st.ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        st.seen.push(m.type.endsWith('error') ? JSON.stringify(m) : m.type);
        if (m.type === 'meeting.trickle') addCandidate(m.target, m.candidate);
        for (const w of st.waiters.slice()) {
          if (w.pred(m)) {
            st.waiters.splice(st.waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      };
    });
  st.leave = async () => {
    for (const p of [st.pub, st.sub]) if (p) p.close();
    const left = await st.call({ type: 'meeting.leave', room: st.room });
    st.pub = st.sub = null;
    st.pending = { publisher: [], subscriber: [] };
    return left;
  };
  st.joinAndPublish = async (conversation, policy = 'all') => {
    st.policy = policy;
    const joined = await st.call({ type: 'meeting.join', conversation });
    if (joined.type !== 'meeting.joined') throw new Error(JSON.stringify(joined));
    st.room = joined.room;
    st.ice = joined.ice_servers;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
    st.pub = new RTCPeerConnection({ iceServers: st.ice, iceTransportPolicy: st.policy });
    st.trickle(st.pub, 'publisher');
    for (const t of stream.getTracks()) st.pub.addTrack(t, stream);
    const offer = await st.pub.createOffer();
    await st.pub.setLocalDescription(offer);
    const answer = await st.call({ type: 'meeting.publish', room: st.room, jsep: { type: 'offer', sdp: offer.sdp } });
    if (answer.type !== 'meeting.answer') throw new Error(JSON.stringify(answer));
    await st.pub.setRemoteDescription(answer.jsep);
    st.flush('publisher');
    st.feed = joined.feed;
    return { room: joined.room, feed: joined.feed, ice: joined.ice_servers };
  };
  st.subscribe = async (feed) => {
    let offer;
    for (let i = 0; i < 40; i++) {
      offer = await st.call({ type: 'meeting.subscribe', room: st.room, streams: [{ feed }] });
      if (offer.type === 'meeting.offer' || offer.code !== 'no_such_feed') break;
      await new Promise((r) => setTimeout(r, 250)); // the publisher is still negotiating
    }
    if (offer.type !== 'meeting.offer') throw new Error(JSON.stringify(offer));
    st.sub = new RTCPeerConnection({ iceServers: st.ice, iceTransportPolicy: st.policy });
    st.trickle(st.sub, 'subscriber');
    await st.sub.setRemoteDescription(offer.jsep);
    st.flush('subscriber');
    const answer = await st.sub.createAnswer();
    await st.sub.setLocalDescription(answer);
    st.send({ type: 'meeting.answer', room: st.room, jsep: { type: 'answer', sdp: answer.sdp } });
  };
  st.stats = async () => {
    const out = { framesDecoded: 0, pair: null };
    if (!st.sub) return out;
    const report = await st.sub.getStats();
    report.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video') out.framesDecoded += r.framesDecoded || 0;
      if (r.type === 'candidate-pair' && r.state === 'succeeded' && r.nominated) {
        const local = report.get(r.localCandidateId);
        out.pair = local ? local.candidateType : 'unknown';
      }
    });
    return out;
  };
}

// Opens a page of origin's for pageClient: the web app on a path of its own (same origin, so the
// session cookie and the WebSocket's origin check apply as for the app itself, with the app's
// CSP). Not an API answer: those forbid scripts any connection (default-src 'none'). Not a page
// the test makes up with page.route either: Chromium then counts it as public and blocks its
// connections to a local address.
export async function appPageAt(page, origin) {
  await page.goto(`${origin}/test-page`, { waitUntil: 'load' });
}
