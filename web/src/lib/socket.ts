// The event WebSocket client (docs/websocket.md). One connection per tab, authenticated by the
// session cookie. It says hello with the last sequence it processed so the server replays what
// was missed, reconnects with exponential backoff and jitter, and reports its state.
export type ConnState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface EventFrame {
  type: 'event';
  seq: number;
  event: string;
  ts: string;
  data: Record<string, unknown>;
}

export interface SocketCallbacks {
  state(s: ConnState): void;
  // 4001: the session was revoked or expired, or the account disabled.
  ended(): void;
  // 4003: the user's rights changed; resolve once /me has been read again.
  rightsChanged(): Promise<void>;
  // The upgrade was refused before opening: is the session still alive? (false = it ended)
  checkSession(): Promise<boolean>;
  // welcome with reset:true: the server's log was restored from a backup; reload state.
  reset(): void;
}

const SEQ_KEY = 'cc_last_seq';
const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 30000;
const PING_EVERY = 25000;
const PONG_WITHIN = 10000;
const WELCOME_WITHIN = 15000; // a handshake or hello left unanswered is abandoned and retried

type Handler = (e: EventFrame) => void;

// An ephemeral frame that is not in the log (no seq, never replayed): "typing" so far.
export interface TransientFrame {
  type: string;
  [key: string]: unknown;
}
type TransientHandler = (f: TransientFrame) => void;

export class EventClient {
  private ws: WebSocket | null = null;
  private running = false;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomeTimer: ReturnType<typeof setTimeout> | undefined;
  private handlers = new Map<string, Set<Handler>>();
  private transient = new Map<string, Set<TransientHandler>>();
  private lastSeq: number | null = null;
  state: ConnState = 'idle';

  constructor(private cb: SocketCallbacks) {
    const saved = Number(sessionStorage.getItem(SEQ_KEY));
    if (Number.isSafeInteger(saved) && saved > 0) this.lastSeq = saved;
    window.addEventListener('online', () => {
      if (this.running && this.state !== 'connected' && this.state !== 'connecting') this.connectNow();
    });
    window.addEventListener('offline', () => {
      if (this.running) this.ws?.close();
    });
  }

  get seq(): number | null {
    return this.lastSeq;
  }

  // Listens to one event type ("*" for every event); returns the unsubscribe function.
  on(event: string, h: Handler): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(h);
    return () => set!.delete(h);
  }

  // Listens to ephemeral frames of one type ("typing"); returns the unsubscribe function.
  onFrame(type: string, h: TransientHandler): () => void {
    let set = this.transient.get(type);
    if (!set) this.transient.set(type, (set = new Set()));
    set.add(h);
    return () => set!.delete(h);
  }

  // Sends a client message (typing) when connected; false when it could not be sent. Nothing is
  // queued: what these messages say is only worth something now.
  send(msg: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || this.state !== 'connected') return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  start(fresh = false): void {
    if (fresh) this.forgetSeq();
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.open();
  }

  stop(forget = false): void {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close(1000);
    }
    if (forget) this.forgetSeq();
    this.setState('idle');
  }

  private forgetSeq(): void {
    this.lastSeq = null;
    sessionStorage.removeItem(SEQ_KEY);
  }

  private setState(s: ConnState): void {
    if (this.state === s) return;
    this.state = s;
    this.cb.state(s);
  }

  private connectNow(): void {
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = ws.onmessage = ws.onopen = null;
      ws.close();
    }
    this.open();
  }

  private open(): void {
    if (!this.running) return;
    this.setState(this.attempt === 0 && this.state !== 'reconnecting' ? 'connecting' : 'reconnecting');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/events`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    clearTimeout(this.welcomeTimer);
    this.welcomeTimer = setTimeout(() => ws.close(), WELCOME_WITHIN);
    ws.onopen = () => {
      opened = true;
      const hello: { type: 'hello'; last_seq?: number } = { type: 'hello' };
      if (this.lastSeq !== null) hello.last_seq = this.lastSeq;
      ws.send(JSON.stringify(hello));
      this.startPing(ws);
    };
    ws.onmessage = (m) => this.onMessage(m);
    ws.onclose = (c) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.stopPing();
      this.onClose(c.code, opened);
    };
  }

  private onMessage(m: MessageEvent): void {
    this.gotTraffic();
    let f: { type?: string; seq?: number; head?: number; reset?: boolean };
    try {
      f = JSON.parse(String(m.data));
    } catch {
      return;
    }
    if (f.type === 'welcome') {
      clearTimeout(this.welcomeTimer);
      this.attempt = 0;
      this.setState('connected');
      if (f.reset) {
        if (typeof f.head === 'number') this.saveSeq(f.head);
        this.cb.reset();
      }
    } else if (f.type && f.type !== 'event' && f.type !== 'pong' && f.type !== 'error') {
      for (const h of [...(this.transient.get(f.type) ?? [])]) {
        try {
          h(f as TransientFrame);
        } catch (err) {
          console.error(err);
        }
      }
    } else if (f.type === 'event' && typeof f.seq === 'number') {
      if (this.lastSeq !== null && f.seq <= this.lastSeq) return; // never twice
      this.saveSeq(f.seq);
      const e = f as EventFrame;
      for (const key of [e.event, '*']) {
        for (const h of [...(this.handlers.get(key) ?? [])]) {
          try {
            h(e);
          } catch (err) {
            console.error(err);
          }
        }
      }
    }
  }

  private saveSeq(seq: number): void {
    this.lastSeq = seq;
    try {
      sessionStorage.setItem(SEQ_KEY, String(seq));
    } catch {
      /* private mode: memory only */
    }
  }

  private async onClose(code: number, opened: boolean): Promise<void> {
    if (!this.running) return;
    if (code === 4001) {
      this.stop(true);
      this.cb.ended();
      return;
    }
    if (code === 4003) {
      this.setState('reconnecting');
      try {
        await this.cb.rightsChanged();
      } catch {
        /* the next attempt will tell */
      }
      if (this.running) this.open();
      return;
    }
    if (!opened) {
      // The upgrade was refused or the server is unreachable: a dead session must not loop.
      let alive = true;
      try {
        alive = await this.cb.checkSession();
      } catch {
        alive = true; // unreachable: keep trying
      }
      if (!alive) {
        this.stop(true);
        return;
      }
    }
    this.retry();
  }

  private retry(): void {
    if (!this.running) return;
    this.setState(navigator.onLine === false ? 'offline' : 'reconnecting');
    const base = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt);
    const delay = Math.round(base * (0.7 + Math.random() * 0.6));
    this.attempt = Math.min(this.attempt + 1, 10);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  // An application ping when idle: a connection that died silently (a laptop waking up, a
  // Wi-Fi change) is noticed within PING_EVERY + PONG_WITHIN and replaced.
  private startPing(ws: WebSocket): void {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify({ type: 'ping' }));
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => ws.close(), PONG_WITHIN);
    }, PING_EVERY);
  }
  private gotTraffic(): void {
    clearTimeout(this.pongTimer);
  }
  private stopPing(): void {
    clearTimeout(this.welcomeTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }
}
