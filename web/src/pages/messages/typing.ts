// Who is typing: what I send (rate limited) and the indicators shown for others (ephemeral, not
// in the event log).
import { events } from '../../lib/app';
import { msgs, myId, type MsgState } from './model';
import { ensurePeople } from './people';

const TYPING_SHOWN_MS = 6000;
let typingTimer: ReturnType<typeof setInterval> | undefined;
let lastTypingSent = 0;
let lastTypingConv = '';

// Tells the others I am typing, at most every 3 seconds (the server relays one per 2 s).
export function typing(convId: string): void {
  const now = Date.now();
  if (convId === lastTypingConv && now - lastTypingSent < 3000) return;
  if (events.send({ type: 'typing', conversation: convId })) {
    lastTypingSent = now;
    lastTypingConv = convId;
  }
}

export function onTyping(conv: string, user: string): void {
  if (user === myId()) return;
  const all = msgs.get().typing;
  msgs.set({ typing: { ...all, [conv]: { ...all[conv], [user]: Date.now() + TYPING_SHOWN_MS } } });
  ensurePeople([user]);
  typingTimer ??= setInterval(() => {
    const now = Date.now();
    const cur = msgs.get().typing;
    const next: MsgState['typing'] = {};
    let changed = false;
    for (const [c, users] of Object.entries(cur)) {
      const keep = Object.entries(users).filter(([, until]) => until > now);
      if (keep.length !== Object.keys(users).length) changed = true;
      if (keep.length) next[c] = Object.fromEntries(keep);
    }
    if (changed) msgs.set({ typing: next });
    if (!Object.keys(next).length) {
      clearInterval(typingTimer);
      typingTimer = undefined;
    }
  }, 1000);
}

export function stopTyping(conv: string, user: string): void {
  const all = msgs.get().typing;
  if (!all[conv]?.[user]) return;
  const users = { ...all[conv] };
  delete users[user];
  msgs.set({ typing: { ...all, [conv]: users } });
}
