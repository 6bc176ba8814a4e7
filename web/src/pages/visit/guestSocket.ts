// The guest WebSocket (/api/v1/visit/events): no session, the link's token proves who they are.
// A patient's link says visit.hello (the socket then tells the page at once when the
// consultation changes: visit.updated); a meeting guest's says meeting.guest_hello. Either way it
// carries the call's meeting.* frames. It reconnects with backoff; every (re)connection says
// hello again before anything else. A refused link, or one revoked meanwhile (close 4403), stops
// it for good.
export type GuestState = 'connecting' | 'ready' | 'refused' | 'closed';
type Listener = (frame: Record<string, any>) => void;

const BACKOFF_MIN = 1000;
const BACKOFF_MAX = 15000;

export class GuestSocket {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(s: GuestState) => void>();
  private outbox: Record<string, unknown>[] = [];
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = true;
  state: GuestState = 'connecting';
  consultation = ''; // from visit.welcome: the id the call is joined with
  welcome: Record<string, any> = {}; // the last welcome frame (meeting.guest_welcome: conversation, name, title)
  refusal = ''; // the server's code when the link was refused

  constructor(private token: string, private kind: 'visit' | 'meeting' = 'visit') {
    this.connect();
  }

  // Every incoming frame (visit.*, meeting.*, errors); returns the unsubscribe function.
  onFrame(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // fn hears the state now, then every change (a subscriber that came late misses nothing).
  onState(fn: (s: GuestState) => void): () => void {
    this.stateListeners.add(fn);
    fn(this.state);
    return () => this.stateListeners.delete(fn);
  }

  // Sent once the link has been accepted; kept until then (a join right after a reconnection).
  send(frame: Record<string, unknown>): void {
    if (this.state === 'ready' && this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
    else this.outbox.push(frame);
  }

  close(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.ws?.close(1000);
    this.setState('closed');
  }

  private setState(s: GuestState) {
    this.state = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private connect() {
    if (!this.running) return;
    this.setState('connecting');
    const ws = new WebSocket(`${location.protocol === 'http:' ? 'ws' : 'wss'}://${location.host}/api/v1/visit/events`);
    this.ws = ws;
    const hello = this.kind === 'visit' ? 'visit.hello' : 'meeting.guest_hello';
    ws.onopen = () => ws.send(JSON.stringify({ type: hello, token: this.token, id: 'hello' }));
    ws.onmessage = (e) => {
      let m: Record<string, any>;
      try {
        m = JSON.parse(String(e.data));
      } catch {
        return;
      }
      if (m.type === 'visit.welcome' || m.type === 'meeting.guest_welcome') {
        this.attempt = 0;
        this.welcome = m;
        this.consultation = String(m.consultation ?? '');
        this.setState('ready');
        for (const f of this.outbox.splice(0)) ws.send(JSON.stringify(f));
      } else if (m.type === 'error' && m.id === 'hello' && m.code !== 'busy') {
        // The link no longer works: the page says why (a patient's page asks its own GET).
        this.running = false;
        this.refusal = String(m.code ?? '');
        this.setState('refused');
      }
      for (const fn of this.listeners) fn(m);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === 4403) {
        // The invitation was withdrawn: no coming back with it.
        this.running = false;
        this.refusal = 'link_revoked';
        this.setState('refused');
        return;
      }
      if (!this.running) return;
      this.setState('connecting');
      const delay = Math.min(BACKOFF_MAX, BACKOFF_MIN * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }
}
