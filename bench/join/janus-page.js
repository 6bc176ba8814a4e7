// A direct Janus client for bench/join, run in a page with page.evaluate(janusClient, wsUrl,
// apiSecret): the same steps carecommd takes for a participant (attach a publisher handle, join
// as publisher; attach a subscriber handle, join as subscriber to a feed, answer Janus's offer
// with start), spoken straight to Janus's WebSocket API (subprotocol janus-protocol). State lives
// in window.jn. Only the benchmark uses it: clients of carecomm never reach Janus.
export function janusClient([url, apiSecret]) {
  const st = (window.jn = { waiters: new Map(), events: [], pending: [] });
  let n = 0;
  const tx = () => `t${++n}`;
  st.open = () =>
    new Promise((resolve, reject) => {
      st.ws = new WebSocket(url, 'janus-protocol');
      st.ws.onopen = () => resolve();
      st.ws.onerror = () => reject(new Error('Janus WebSocket failed'));
      st.ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        if (m.janus === 'ack') return; // the event with the same transaction follows
        const w = m.transaction && st.waiters.get(m.transaction);
        if (w) {
          st.waiters.delete(m.transaction);
          w(m);
        } else {
          st.events.push(m);
        }
      };
    });
  st.req = (body) =>
    new Promise((resolve, reject) => {
      const t = tx();
      const timer = setTimeout(() => reject(new Error(`Janus: no answer to ${JSON.stringify(body)}`)), 15000);
      st.waiters.set(t, (m) => (clearTimeout(timer), resolve(m)));
      st.ws.send(JSON.stringify({ ...body, transaction: t, apisecret: apiSecret }));
    });
  st.session = async () => {
    const r = await st.req({ janus: 'create' });
    st.sid = r.data.id;
    st.keepalive = setInterval(() => st.ws.send(JSON.stringify({ janus: 'keepalive', session_id: st.sid, transaction: tx(), apisecret: apiSecret })), 20000);
  };
  st.attach = async () => (await st.req({ janus: 'attach', session_id: st.sid, plugin: 'janus.plugin.videoroom' })).data.id;
  st.message = (handle, body, jsep) => st.req({ janus: 'message', session_id: st.sid, handle_id: handle, body, ...(jsep ? { jsep } : {}) });
  st.trickle = (pc, handle) => {
    pc.onicecandidate = (e) =>
      st.ws.send(JSON.stringify({ janus: 'trickle', session_id: st.sid, handle_id: handle, transaction: tx(), apisecret: apiSecret, candidate: e.candidate ? e.candidate.toJSON() : { completed: true } }));
  };
  // The room, made with the plugin's admin key (carecommd does the same for its rooms).
  st.createRoom = async (room, adminKey) => {
    const h = await st.attach();
    const r = await st.message(h, { request: 'create', room, admin_key: adminKey, permanent: false, publishers: 6, bitrate: 1024000, videocodec: 'vp8,h264', audiocodec: 'opus' });
    if (r.plugindata?.data?.videoroom !== 'created') throw new Error(JSON.stringify(r));
  };
  st.publish = async (room) => {
    const h = await st.attach();
    const j = await st.message(h, { request: 'join', ptype: 'publisher', room, display: 'bench' });
    st.feed = j.plugindata.data.id;
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
    st.pub = new RTCPeerConnection();
    st.trickle(st.pub, h);
    for (const t of stream.getTracks()) st.pub.addTrack(t, stream);
    const offer = await st.pub.createOffer();
    await st.pub.setLocalDescription(offer);
    const r = await st.message(h, { request: 'publish' }, { type: 'offer', sdp: offer.sdp });
    await st.pub.setRemoteDescription(r.jsep);
    return st.feed;
  };
  // One measured join: from the first request to the first decoded frame of feed, in ms.
  st.joinOnce = async (room, feed) => {
    const t0 = performance.now();
    const ph = await st.attach();
    await st.message(ph, { request: 'join', ptype: 'publisher', room, display: 'bench-viewer' });
    const sh = await st.attach();
    const offer = await st.message(sh, { request: 'join', ptype: 'subscriber', room, streams: [{ feed }] });
    const pc = new RTCPeerConnection();
    st.trickle(pc, sh);
    await pc.setRemoteDescription(offer.jsep);
    const answer = await pc.createAnswer();
    await pc.setLocalDescription(answer);
    await st.message(sh, { request: 'start' }, { type: 'answer', sdp: answer.sdp });
    const ms = await window.firstFrame(pc, t0);
    pc.close();
    for (const h of [sh, ph]) await st.req({ janus: 'detach', session_id: st.sid, handle_id: h });
    return ms;
  };
}

// Resolves with the time from t0 to the first decoded video frame of pc (getStats every 5 ms).
export function firstFrameHelper() {
  window.firstFrame = (pc, t0) =>
    new Promise((resolve, reject) => {
      const deadline = t0 + 20000;
      window.phases = window.phases || [];
      const ph = { connected: null, packets: null };
      window.phases.push(ph);
      pc.addEventListener('connectionstatechange', () => {
        if (pc.connectionState === 'connected' && ph.connected === null) ph.connected = performance.now() - t0;
      });
      const poll = async () => {
        const report = await pc.getStats();
        let frames = 0;
        report.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') {
            frames += r.framesDecoded || 0;
            if (r.packetsReceived > 0 && ph.packets === null) ph.packets = performance.now() - t0;
          }
        });
        if (frames > 0) return resolve(performance.now() - t0);
        if (performance.now() > deadline) return reject(new Error('no frame decoded within 20 s'));
        setTimeout(poll, 5);
      };
      poll();
    });
}
