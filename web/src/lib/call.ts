// A video call over carecommd's meeting.* frames (docs/websocket.md, "Meetings"): one sending
// RTCPeerConnection (publisher) and one receiving (Janus's multistream subscriber), ICE candidates
// trickled both ways, the servers' TURN credentials from meeting.joined. The transport is the
// staff's event WebSocket or the patient's (/api/v1/visit/events): both carry the same frames.
// The media server restarting (meeting.left "media_restarting", then meeting.rejoin) is handled
// here: the call comes back by itself with the same camera and microphone.
export interface CallTransport {
  send(frame: Record<string, unknown>): void;
  onFrame(fn: (frame: Record<string, any>) => void): () => void;
}

const MEETING_FRAMES = ['joined', 'answer', 'offer', 'participants', 'trickle', 'left', 'rejoin', 'error', 'host', 'locked', 'muted', 'done', 'hand', 'mode', 'presenter', 'lobby', 'lobby_wait', 'limits'].map((x) => `meeting.${x}`);

// The staff's event WebSocket (lib/socket.ts) as a call's transport.
export function eventTransport(ev: {
  send(f: Record<string, unknown>): boolean;
  onFrame(type: string, h: (f: any) => void): () => void;
}): CallTransport {
  return {
    send: (f) => void ev.send(f),
    onFrame: (fn) => {
      const offs = MEETING_FRAMES.map((type) => ev.onFrame(type, fn));
      return () => offs.forEach((off) => off());
    },
  };
}

export type CallTarget = { conversation: string } | { consultation: string };
// waiting: a guest from outside in the lobby, until the host lets them in.
export type CallStatus = 'joining' | 'waiting' | 'joined' | 'reconnecting' | 'left' | 'failed';
export interface LobbyGuest {
  id: string;
  name: string;
  since: number;
}
export type CallQuality = 'unknown' | 'good' | 'fair' | 'poor';

export interface CallPeer {
  feed: string;
  display: string;
  stream: MediaStream; // their camera and microphone
  video: boolean; // a camera track is being received from them
  screen: MediaStream | null; // their shared screen (a second video stream)
}

export interface CallState {
  status: CallStatus;
  reason?: string; // why it left or failed (a server code: ended, removed_by_host, ...)
  local: MediaStream | null;
  peers: CallPeer[];
  microphone: boolean;
  camera: boolean;
  audioOnly: boolean; // neither sending nor receiving video (a weak connection)
  quality: CallQuality;
  host: boolean;
  hostFeed: string | null;
  locked: boolean;
  speaker: string | null; // the feed heard loudest just now
  hands: string[]; // feeds with a raised hand (mine too, as 'me')
  sharing: boolean; // I share my screen
  devices: { camera: string; microphone: string }; // device ids in use ('' = default)
  mutedByHost: boolean; // the host asked: my microphone was turned off (I may turn it on)
  classroom: boolean; // class mode: only the host and the presenters send
  presenting: boolean; // I send (always outside a class)
  presenters: string[]; // the host's: whom they let present
  lobby: LobbyGuest[]; // guests from outside waiting to be let in (staff see it; the host decides)
  maxParticipants: number; // the room's caps (the host's, else the server's); 0 = not known yet
  bitrate: number;
  maxAllowed: number; // the server's own cap on people: the host may choose up to it
}

type Frame = Record<string, any>;
type Waiter = { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; timer: ReturnType<typeof setTimeout> };

const STATS_EVERY = 3000;
let counter = 0;

export class Call {
  state: CallState = {
    status: 'joining',
    local: null,
    peers: [],
    microphone: true,
    camera: true,
    audioOnly: false,
    quality: 'unknown',
    host: false,
    hostFeed: null,
    locked: false,
    speaker: null,
    hands: [],
    sharing: false,
    devices: { camera: '', microphone: '' },
    mutedByHost: false,
    classroom: false,
    presenting: true,
    presenters: [],
    lobby: [],
    maxParticipants: 0,
    bitrate: 0,
    maxAllowed: 0,
  };
  private listeners = new Set<(s: CallState) => void>();
  private waiters: Waiter[] = [];
  private off: () => void;
  private room = '';
  private feed = ''; // mine
  private videoSender: RTCRtpSender | null = null;
  private ice: RTCIceServer[] = [];
  private pub: RTCPeerConnection | null = null;
  private sub: RTCPeerConnection | null = null;
  private pending: Record<'publisher' | 'subscriber', RTCIceCandidateInit[]> = { publisher: [], subscriber: [] };
  private publishers = new Map<string, { display: string; mids: { mid: string; type: string }[] }>();
  private subscribed = new Set<string>(); // "feed/mid" the receiving connection carries
  private midToFeed = new Map<string, { feed: string; video: number }>(); // video: its rank
  private screen: { stream: MediaStream; sender: RTCRtpSender } | null = null;
  private speakerTimer: ReturnType<typeof setInterval> | undefined;
  private subscribing = false;
  private subRetries = 0;
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastLoss = { lost: 0, received: 0 };
  private closed = false;
  private lobbyRoom = ''; // the room whose lobby I wait in

  constructor(private transport: CallTransport, private target: CallTarget, private wantVideo = true) {
    this.off = transport.onFrame((f) => this.onFrame(f));
  }

  subscribe(fn: (s: CallState) => void): () => void {
    this.listeners.add(fn);
    fn(this.state);
    return () => this.listeners.delete(fn);
  }

  async join(): Promise<void> {
    try {
      if (!this.state.local) this.set({ local: await this.media() });
      await this.enter();
      this.statsTimer = setInterval(() => void this.measure(), STATS_EVERY);
      this.speakerTimer = setInterval(() => void this.listen(), 500);
    } catch (e) {
      if (!this.closed) this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  async leave(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.room || this.lobbyRoom) this.transport.send({ type: 'meeting.leave', room: this.room || this.lobbyRoom });
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve({ type: 'meeting.left', reason: 'left' });
    }
    this.teardown();
    this.state.local?.getTracks().forEach((t) => t.stop());
    this.set({ status: 'left', reason: this.state.reason ?? 'left' });
    this.off();
    clearInterval(this.statsTimer);
    clearInterval(this.speakerTimer);
  }

  setMicrophone(on: boolean): void {
    this.state.local?.getAudioTracks().forEach((t) => (t.enabled = on));
    this.set({ microphone: on, mutedByHost: false });
  }

  setCamera(on: boolean): void {
    this.state.local?.getVideoTracks().forEach((t) => (t.enabled = on));
    this.set({ camera: on });
  }

  // The weak-connection fallback: stop sending video (the track is removed from the sending
  // connection, not only blacked out) and stop receiving it; sound goes on.
  async setAudioOnly(on: boolean): Promise<void> {
    const video = this.state.local?.getVideoTracks()[0] ?? null;
    if (this.videoSender) await this.videoSender.replaceTrack(on ? null : video);
    if (video) video.enabled = !on && this.state.camera;
    this.sub?.getTransceivers().forEach((t) => {
      if (t.receiver.track.kind === 'video') t.receiver.track.enabled = !on;
    });
    if (this.room && this.sub) {
      const video = [...this.publishers].flatMap(([feed, p]) => p.mids.filter((m) => m.type === 'video').map((m) => ({ feed, mid: m.mid })));
      if (video.length) {
        const o = await this.request(on ? { type: 'meeting.subscribe', room: this.room, streams: [], unsubscribe: video } : { type: 'meeting.subscribe', room: this.room, streams: video });
        if (o.type === 'meeting.offer') await this.answerOffer(o);
      }
    }
    this.set({ audioOnly: on, peers: this.state.peers.map((p) => ({ ...p, video: on ? false : p.video })) });
  }

  // ---- the host's actions (the server refuses them to others) ----
  remove(feed: string) {
    return this.request({ type: 'meeting.remove', room: this.room, feed });
  }
  mute(feed: string) {
    return this.request({ type: 'meeting.mute', room: this.room, feed });
  }
  lock(locked: boolean) {
    return this.request({ type: 'meeting.lock', room: this.room, locked });
  }
  endForAll() {
    return this.request({ type: 'meeting.end', room: this.room });
  }
  // A guest from outside waiting in the lobby: let in, or turned away.
  admit(guest: string) {
    return this.request({ type: 'meeting.admit', room: this.room, guest });
  }
  deny(guest: string) {
    return this.request({ type: 'meeting.deny', room: this.room, guest });
  }
  // This room's caps while the meeting lasts.
  setLimits(limits: { max_participants?: number; bitrate?: number }) {
    return this.request({ type: 'meeting.limits', room: this.room, ...limits });
  }

  raiseHand(raised: boolean): void {
    if (this.room) this.transport.send({ type: 'meeting.hand', room: this.room, raised });
  }

  // Another camera or microphone, without leaving the call: the new track replaces the old one
  // on the sending connection.
  async useDevice(kind: 'camera' | 'microphone', deviceId: string): Promise<void> {
    const audio = kind === 'microphone';
    const got = await navigator.mediaDevices.getUserMedia(audio ? { audio: { deviceId: { exact: deviceId } } } : { video: { deviceId: { exact: deviceId } } });
    const track = (audio ? got.getAudioTracks() : got.getVideoTracks())[0];
    const local = this.state.local;
    if (!track || !local) return;
    const old = audio ? local.getAudioTracks()[0] : local.getVideoTracks()[0];
    const sender = this.pub?.getSenders().find((x) => x.track === old || (!audio && x === this.videoSender));
    if (sender) await sender.replaceTrack(audio || !this.state.audioOnly ? track : null);
    if (!audio) this.videoSender = sender ?? this.videoSender;
    if (old) {
      local.removeTrack(old);
      old.stop();
    }
    local.addTrack(track);
    track.enabled = audio ? this.state.microphone : this.state.camera;
    this.set({ local: new MediaStream(local.getTracks()), devices: { ...this.state.devices, [kind]: deviceId } });
  }

  // The screen as a second video stream of my publisher (renegotiated; the others subscribe to it).
  async shareScreen(on: boolean): Promise<void> {
    if (!this.pub || on === !!this.screen) return;
    if (on) {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      const track = stream.getVideoTracks()[0];
      if (!track) return;
      track.onended = () => void this.shareScreen(false); // stopped from the browser's own bar
      this.screen = { stream, sender: this.pub.addTrack(track, stream) };
    } else {
      const sc = this.screen!;
      this.screen = null;
      sc.stream.getTracks().forEach((t) => t.stop());
      this.pub.removeTrack(sc.sender);
    }
    await this.renegotiate();
    this.set({ sharing: on });
  }

  private async renegotiate(): Promise<void> {
    if (!this.pub) return;
    const offer = await this.pub.createOffer();
    await this.pub.setLocalDescription(offer);
    const answer = await this.request({ type: 'meeting.publish', room: this.room, jsep: { type: 'offer', sdp: offer.sdp } });
    if (answer.type === 'meeting.answer') await this.pub.setRemoteDescription(answer.jsep);
  }

  private set(p: Partial<CallState>) {
    this.state = { ...this.state, ...p };
    for (const fn of this.listeners) fn(this.state);
  }

  private fail(reason: string) {
    this.teardown();
    this.set({ status: 'failed', reason });
  }

  private async media(): Promise<MediaStream> {
    const md = navigator.mediaDevices;
    if (!md?.getUserMedia) throw new Error('no_devices');
    if (this.wantVideo) {
      try {
        return await md.getUserMedia({ audio: true, video: { width: { ideal: 640 }, height: { ideal: 480 } } });
      } catch {
        /* no camera, or refused: sound only */
      }
    }
    const s = await md.getUserMedia({ audio: true });
    this.state.camera = false;
    return s;
  }

  private request(frame: Frame, timeout = 15000, id = `c${++counter}`): Promise<Frame> {
    const answer = this.answerTo(id, timeout);
    this.transport.send({ ...frame, id });
    return answer;
  }

  // The next frame answering request id (or, with timeout 0, whenever it comes).
  private answerTo(id: string, timeout: number): Promise<Frame> {
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.waiters = this.waiters.filter((w) => w.timer !== timer);
          resolve({ type: 'meeting.error', code: 'timeout' });
        },
        timeout || 2 ** 31 - 1,
      );
      this.waiters.push({ pred: (f) => f.id === id, resolve, timer });
    });
  }

  private async enter(): Promise<void> {
    this.set({ status: this.state.status === 'reconnecting' ? 'reconnecting' : 'joining' });
    let joined: Frame;
    for (let attempt = 0; ; attempt++) {
      const id = `c${++counter}`;
      joined = await this.request({ type: 'meeting.join', ...this.target }, 15000, id);
      if (joined.type === 'meeting.lobby_wait') {
        // A guest from outside: the host lets me in (meeting.joined answers the same join), or
        // not (meeting.left, denied); I wait as long as it takes.
        this.lobbyRoom = String(joined.room ?? '');
        this.set({ status: 'waiting' });
        joined = await this.answerTo(id, 0);
        this.lobbyRoom = '';
        if (this.closed) return;
        if (joined.type === 'meeting.left') throw new Error(joined.reason || 'left');
      }
      if (joined.type === 'meeting.joined' || attempt >= 10 || (joined.code !== 'media_unavailable' && joined.code !== 'timeout')) break;
      await new Promise((r) => setTimeout(r, 1000)); // the media server is coming back
    }
    if (this.closed) return;
    if (joined.type !== 'meeting.joined') throw new Error(joined.code || 'join_failed');
    this.room = joined.room;
    this.feed = String(joined.feed);
    this.ice = joined.ice_servers ?? [];
    const classroom = joined.mode === 'class';
    this.set({
      host: !!joined.host,
      hostFeed: joined.host_feed ? String(joined.host_feed) : joined.host ? String(joined.feed) : null,
      locked: !!joined.locked,
      hands: [],
      classroom,
      presenting: joined.may_publish !== false,
      maxParticipants: Number(joined.max_participants ?? 0),
      bitrate: Number(joined.bitrate ?? 0),
      maxAllowed: Number(joined.max_participants_allowed ?? joined.max_participants ?? 0),
    });
    // In a class one joins to watch: nothing is sent until the host lets one present.
    if (joined.may_publish !== false) await this.publish();
    this.set({ status: 'joined' });
    this.addPublishers(joined.publishers ?? []);
  }

  // My camera and microphone out: the sending connection, its offer, Janus's answer.
  private async publish(): Promise<void> {
    this.pub = new RTCPeerConnection({ iceServers: this.ice });
    this.trickle(this.pub, 'publisher');
    this.pub.onconnectionstatechange = () => {
      if (this.pub?.connectionState === 'failed') this.set({ quality: 'poor' });
    };
    const local = this.state.local!;
    for (const t of local.getAudioTracks()) this.pub.addTrack(t, local);
    // The camera in three layers (simulcast): each receiver gets the one its link carries.
    const cam = local.getVideoTracks()[0];
    this.videoSender = cam
      ? this.pub.addTransceiver(cam, {
          direction: 'sendonly',
          streams: [local],
          sendEncodings: [
            { rid: 'h', maxBitrate: 900000 },
            { rid: 'm', maxBitrate: 300000, scaleResolutionDownBy: 2 },
            { rid: 'l', maxBitrate: 100000, scaleResolutionDownBy: 4 },
          ],
        }).sender
      : null;
    if (this.state.audioOnly) await this.videoSender?.replaceTrack(null);
    const offer = await this.pub.createOffer();
    await this.pub.setLocalDescription(offer);
    const answer = await this.request({ type: 'meeting.publish', room: this.room, jsep: { type: 'offer', sdp: offer.sdp } });
    if (answer.type !== 'meeting.answer') throw new Error(answer.code || 'publish_failed');
    await this.pub.setRemoteDescription(answer.jsep);
    this.flush('publisher');
  }

  private unpublish() {
    this.pub?.close();
    this.pub = null;
    this.videoSender = null;
    this.pending.publisher = [];
  }

  // ---- class mode (the host's) ----
  setClassMode(on: boolean) {
    return this.request({ type: 'meeting.mode', room: this.room, mode: on ? 'class' : 'meeting' });
  }
  async letPresent(feed: string, on: boolean) {
    const r = await this.request({ type: 'meeting.presenter', room: this.room, feed, on });
    if (r.type === 'meeting.done') this.set({ presenters: on ? [...this.state.presenters, feed] : this.state.presenters.filter((x) => x !== feed) });
    return r;
  }

  private teardown() {
    this.pub?.close();
    this.sub?.close();
    this.pub = this.sub = null;
    this.pending = { publisher: [], subscriber: [] };
    this.subscribed.clear();
    this.midToFeed.clear();
    this.publishers.clear();
    this.subscribing = false;
    this.room = '';
    if (this.screen) {
      this.screen.stream.getTracks().forEach((t) => t.stop());
      this.screen = null;
    }
    this.set({ peers: [], speaker: null, sharing: false, lobby: [] });
  }

  private trickle(pc: RTCPeerConnection, target: 'publisher' | 'subscriber') {
    pc.onicecandidate = (e) => {
      if (this.room) this.transport.send({ type: 'meeting.trickle', room: this.room, target, candidate: e.candidate ? e.candidate.toJSON() : null });
    };
  }

  private flush(target: 'publisher' | 'subscriber') {
    const pc = target === 'publisher' ? this.pub : this.sub;
    for (const c of this.pending[target].splice(0)) void pc?.addIceCandidate(c).catch(() => {});
  }

  private addPublishers(list: { id: string; display?: string; streams?: { type: string; mid: string; disabled?: boolean }[] }[]) {
    for (const p of list) {
      const feed = String(p.id);
      const mids = (p.streams ?? []).filter((s) => !s.disabled).map((s) => ({ mid: s.mid, type: s.type }));
      this.publishers.set(feed, { display: p.display ?? '', mids });
      // A stream it stopped (a screen no longer shared) is no longer shown; shared again, it is
      // subscribed to anew.
      const live = new Set(mids.map((m) => m.mid));
      for (const k of [...this.subscribed]) if (k.startsWith(`${feed}/`) && !live.has(k.slice(feed.length + 1))) this.subscribed.delete(k);
      if (mids.filter((m) => m.type === 'video').length < 2 && this.state.peers.some((x) => x.feed === feed && x.screen))
        this.set({ peers: this.state.peers.map((x) => (x.feed === feed ? { ...x, screen: null } : x)) });
    }
    void this.syncSubscriptions();
  }

  // Brings the receiving connection in line with the publishers (one change at a time: the
  // server answers "busy" to a second one before the first's offer is answered).
  private async syncSubscriptions() {
    if (this.subscribing || !this.room) return;
    const streams = [...this.publishers].flatMap(([feed, p]) =>
      p.mids.filter((m) => !(this.state.audioOnly && m.type === 'video') && !this.subscribed.has(`${feed}/${m.mid}`)).map((m) => ({ feed, mid: m.mid })),
    );
    if (!streams.length) return;
    this.subscribing = true;
    let offer: Frame = { type: 'meeting.error', code: 'failed' };
    try {
      offer = await this.request({ type: 'meeting.subscribe', room: this.room, streams });
      if (offer.type === 'meeting.offer') {
        streams.forEach((x) => this.subscribed.add(`${x.feed}/${x.mid}`));
        await this.answerOffer(offer);
      }
    } catch {
      offer = { type: 'meeting.error', code: 'failed' }; // a bad offer: ask again
    } finally {
      this.subscribing = false;
    }
    // Done: see whether more came meanwhile. Refused (busy, a feed not ready yet, the media
    // server slow): try again shortly, so that nobody stays unseen.
    if (offer.type === 'meeting.offer') {
      this.subRetries = 0;
      setTimeout(() => void this.syncSubscriptions(), 0);
    } else if (this.subRetries < 20) {
      this.subRetries++;
      setTimeout(() => void this.syncSubscriptions(), offer.code === 'busy' ? 300 : 1000);
    }
  }

  private async answerOffer(offer: Frame) {
    // Which feed each mid carries, and for video whether it is the feed's first (its camera) or
    // a later one (its screen), in the publisher's own order.
    for (const s of offer.streams ?? []) {
      if (!s.mid || !s.feed_id) continue;
      const pub = this.publishers.get(String(s.feed_id));
      const videos = pub?.mids.filter((m) => m.type === 'video').map((m) => m.mid) ?? [];
      this.midToFeed.set(String(s.mid), { feed: String(s.feed_id), video: s.type === 'video' ? Math.max(0, videos.indexOf(String(s.feed_mid))) : -1 });
    }
    if (!this.sub) {
      this.sub = new RTCPeerConnection({ iceServers: this.ice });
      this.trickle(this.sub, 'subscriber');
      this.sub.ontrack = (e) => this.onTrack(e);
    }
    await this.sub.setRemoteDescription(offer.jsep);
    this.flush('subscriber');
    const answer = await this.sub.createAnswer();
    await this.sub.setLocalDescription(answer);
    this.transport.send({ type: 'meeting.answer', room: this.room, jsep: { type: 'answer', sdp: answer.sdp } });
  }

  private onTrack(e: RTCTrackEvent) {
    const at = this.midToFeed.get(e.transceiver.mid ?? '');
    if (!at) return;
    const { feed } = at;
    const peers = [...this.state.peers];
    let peer = peers.find((p) => p.feed === feed);
    if (!peer) {
      peer = { feed, display: this.publishers.get(feed)?.display ?? '', stream: new MediaStream(), video: false, screen: null };
      peers.push(peer);
    }
    if (at.video > 0) {
      peer.screen = new MediaStream([e.track]);
      e.track.onmute = () => this.set({ peers: this.state.peers.map((p) => (p.feed === feed ? { ...p, screen: null } : p)) });
    } else {
      peer.stream.addTrack(e.track);
      if (e.track.kind === 'video') peer.video = true;
    }
    this.set({ peers: peers.map((p) => (p.feed === feed ? { ...peer! } : p)) });
  }

  private dropFeed(feed: string) {
    this.publishers.delete(feed);
    for (const k of [...this.subscribed]) if (k.startsWith(`${feed}/`)) this.subscribed.delete(k);
    this.set({ peers: this.state.peers.filter((p) => p.feed !== feed), hands: this.state.hands.filter((h) => h !== feed) });
  }

  private onFrame(f: Frame) {
    if (typeof f.type !== 'string' || !f.type.startsWith('meeting.')) return;
    for (const w of [...this.waiters]) {
      if (w.pred(f)) {
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(f);
        return;
      }
    }
    if (this.closed) return;
    switch (f.type) {
      case 'meeting.trickle': {
        const target = f.target === 'subscriber' ? 'subscriber' : 'publisher';
        const pc = target === 'publisher' ? this.pub : this.sub;
        if (!f.candidate) break;
        if (pc?.remoteDescription) void pc.addIceCandidate(f.candidate).catch(() => {});
        else this.pending[target].push(f.candidate);
        break;
      }
      case 'meeting.offer': // the media server renegotiates (someone stopped publishing)
        if (this.sub) void this.answerOffer(f);
        break;
      case 'meeting.participants':
        if (f.publishers) this.addPublishers(f.publishers);
        for (const k of ['unpublished', 'leaving']) if (f[k] !== undefined && f[k] !== 'ok') this.dropFeed(String(f[k]));
        break;
      case 'meeting.host':
        this.set({ host: String(f.feed) === this.feed, hostFeed: f.feed ? String(f.feed) : null });
        break;
      case 'meeting.locked':
        this.set({ locked: !!f.locked });
        break;
      case 'meeting.lobby':
        this.set({ lobby: Array.isArray(f.guests) ? f.guests.map((g: Frame) => ({ id: String(g.id), name: String(g.name ?? ''), since: Number(g.since ?? 0) })) : [] });
        break;
      case 'meeting.limits':
        this.set({ maxParticipants: Number(f.max_participants ?? 0), bitrate: Number(f.bitrate ?? 0), maxAllowed: Number(f.max_participants_allowed ?? this.state.maxAllowed) });
        break;
      case 'meeting.mode': {
        const classroom = f.mode === 'class';
        const presenting = !classroom || this.state.host;
        if (!presenting && this.pub) this.unpublish(); // the server has stopped my publisher
        else if (presenting && !this.pub && this.room) void this.publish().catch(() => {});
        this.set({ classroom, presenting });
        break;
      }
      case 'meeting.presenter':
        if (f.on && !this.pub && this.room) void this.publish().catch(() => {});
        if (!f.on && this.state.classroom && !this.state.host) this.unpublish();
        this.set({ presenting: !!f.on || !this.state.classroom || this.state.host });
        break;
      case 'meeting.hand': {
        const who = String(f.feed) === this.feed ? 'me' : String(f.feed);
        const hands = this.state.hands.filter((h) => h !== who);
        this.set({ hands: f.raised ? [...hands, who] : hands });
        break;
      }
      case 'meeting.muted':
        this.setMicrophone(false);
        this.set({ mutedByHost: true });
        break;
      case 'meeting.left':
        if (f.reason === 'media_restarting') {
          this.teardown();
          this.set({ status: 'reconnecting' });
        } else {
          for (const w of this.waiters.splice(0)) {
            clearTimeout(w.timer);
            w.resolve(f); // a wait in the lobby ends too
          }
          this.teardown();
          this.closed = true;
          this.state.local?.getTracks().forEach((t) => t.stop());
          this.set({ status: 'left', reason: f.reason });
        }
        break;
      case 'meeting.rejoin':
        void this.enter().catch((e) => this.fail(e instanceof Error ? e.message : String(e)));
        break;
    }
  }

  // A weak link receives the others' lower simulcast layer; a good one the highest.
  private layer = 2;
  private chooseLayer(substream: number) {
    if (substream === this.layer || !this.room || !this.sub) return;
    const streams = [...this.midToFeed].filter(([, at]) => at.video === 0).map(([mid]) => ({ mid, substream }));
    this.layer = substream;
    if (streams.length) this.transport.send({ type: 'meeting.layer', room: this.room, streams });
  }

  // Who speaks: the loudest incoming sound above a floor, every half second.
  private async listen() {
    if (!this.sub || this.state.status !== 'joined') return;
    let best: string | null = null;
    let level = 0.03;
    (await this.sub.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp' || r.kind !== 'audio' || (r.audioLevel ?? 0) <= level) return;
      const at = this.midToFeed.get(String(r.mid ?? ''));
      if (at) {
        best = at.feed;
        level = r.audioLevel;
      }
    });
    if (best && best !== this.state.speaker) this.set({ speaker: best });
  }

  // Connection quality from the receiving side (loss) and round trip (sending side).
  private async measure() {
    if (!this.pub || this.state.status !== 'joined') return;
    let lost = 0;
    let received = 0;
    let rtt = 0;
    (await this.sub?.getStats())?.forEach((r) => {
      if (r.type === 'inbound-rtp') {
        lost += r.packetsLost ?? 0;
        received += r.packetsReceived ?? 0;
      }
    });
    (await this.pub.getStats()).forEach((r) => {
      if (r.type === 'candidate-pair' && r.nominated && r.currentRoundTripTime) rtt = r.currentRoundTripTime;
    });
    const dl = lost - this.lastLoss.lost;
    const dr = received - this.lastLoss.received;
    this.lastLoss = { lost, received };
    const loss = dr + dl > 0 ? dl / (dr + dl) : 0;
    const quality: CallQuality = loss > 0.08 || rtt > 0.6 ? 'poor' : loss > 0.02 || rtt > 0.3 ? 'fair' : 'good';
    if (quality !== this.state.quality) {
      this.set({ quality });
      this.chooseLayer(quality === 'poor' ? 0 : quality === 'fair' ? 1 : 2);
    }
  }
}
