// The staff's calls: one active call at a time (it stays while one moves around the app), and the
// calls ringing for me. A call from a conversation joins its meeting and rings the others
// (call.ring, docs/websocket.md "Calling the others of a conversation"); answering joins the same
// meeting. The dock (components/call/CallDock) shows both, anywhere in the app.
import { createStore } from './store';
import { events } from './app';
import { Call, eventTransport } from './call';

export interface Incoming {
  call: string;
  conversation: string;
  from: { user_id: string; display: string };
}

export interface CallsState {
  active: { call: Call; conversation: string; title: string; ring: string | null } | null;
  incoming: Incoming[];
  // What happened to my ring, in a word for the dock ("declined by ...", "no answer").
  note: { key: 'accepted' | 'declined' | 'no_answer'; name?: string } | null;
}

export const calls = createStore<CallsState>({ active: null, incoming: [], note: null });

let counter = 0;
const send = (frame: Record<string, unknown>) => events.send({ ...frame, id: `k${++counter}` });

// Starts (or joins) the call of a conversation; with ring, the others' devices ring.
export function startCall(conversation: string, title: string, ring: boolean): void {
  const cur = calls.get().active;
  if (cur?.conversation === conversation && cur.call.state.status !== 'left' && cur.call.state.status !== 'failed') return;
  hangUp();
  const call = new Call(eventTransport(events), { conversation });
  calls.set({ active: { call, conversation, title, ring: null }, note: null });
  void call.join().then(() => {
    if (ring && call.state.status === 'joined') send({ type: 'call.ring', conversation });
  });
}

export function hangUp(): void {
  const cur = calls.get().active;
  if (!cur) return;
  if (cur.ring) send({ type: 'call.cancel', call: cur.ring });
  void cur.call.leave();
  calls.set({ active: null });
}

export function answer(inc: Incoming, title: string): void {
  send({ type: 'call.accept', call: inc.call });
  calls.set({ incoming: calls.get().incoming.filter((i) => i.call !== inc.call) });
  startCall(inc.conversation, title, false);
}

export function decline(inc: Incoming): void {
  send({ type: 'call.decline', call: inc.call });
  calls.set({ incoming: calls.get().incoming.filter((i) => i.call !== inc.call) });
}

function drop(id: string) {
  calls.set({ incoming: calls.get().incoming.filter((i) => i.call !== id) });
}

events.onFrame('call.incoming', (f) => {
  const inc = f as unknown as Incoming;
  if (calls.get().active?.conversation === inc.conversation) return; // already in it
  calls.set({ incoming: [...calls.get().incoming.filter((i) => i.call !== inc.call), inc] });
});
events.onFrame('call.ringing', (f) => {
  const cur = calls.get().active;
  if (cur && cur.conversation === f.conversation) calls.set({ active: { ...cur, ring: String(f.call) } });
});
events.onFrame('call.ended', (f) => {
  drop(String(f.call));
  const cur = calls.get().active;
  if (cur && cur.ring === f.call) calls.set({ active: { ...cur, ring: null }, note: f.reason === 'no_answer' ? { key: 'no_answer' } : null });
});
// (The ring goes on for the others of a group until they answer or it times out; hanging up
// ends it for them.)
events.onFrame('call.accepted', (f) => {
  calls.set({ note: { key: 'accepted', name: (f.by as { display?: string })?.display } });
});
events.onFrame('call.declined', (f) => {
  calls.set({ note: { key: 'declined', name: (f.by as { display?: string })?.display } });
});
