// The messaging screen's state: my conversations with their counts, the people I see (names,
// presence), the open conversation (history, members, pins, acknowledgements, the thread panel)
// and who is typing, kept current by the event socket.
//
// No duplicates, no gaps. Messages are kept by id, sorted by their sequence in the conversation
// (1, 2, ... with no hole), and every change is an idempotent upsert: an event and a page of
// history that overlap merge into one message, the newer version winning (a deletion beats
// everything, then the later edit). The history shown is contiguous from `mainFrom` up to
// `maxSeq`; a message.created that skips a sequence, or a socket that comes back, fetches
// `after=maxSeq` until nothing is missing. Changes that arrive while a page is being fetched are
// journaled and applied again on top of that page, so a stale page never undoes a fresh event.
import { api, ApiError } from '../../lib/api';
import { app, events } from '../../lib/app';
import type { EventFrame } from '../../lib/socket';
import { msgs, myId, type MsgState, type OpenConv, type PendingUrgent } from './model';
import { addPeople, ensurePeople, membersToPeople } from './people';
import { onTyping, stopTyping } from './typing';
import type { Acks, Conversation, Member, Message, Presence, ReadState } from './types';

export { msgs, myId, addPeople, ensurePeople };
export type { MsgState, OpenConv, PendingUrgent };
export { typing } from './typing';

// ---- helpers -----------------------------------------------------------------------------------

function patchOpen(id: string, f: (o: OpenConv) => Partial<OpenConv> | null): void {
  const o = msgs.get().open;
  if (!o || o.id !== id) return;
  const p = f(o);
  if (p) msgs.set({ open: { ...o, ...p } });
}

function patchConv(id: string, f: (c: Conversation) => Partial<Conversation>): void {
  const list = msgs.get().convs;
  if (list) {
    const i = list.findIndex((c) => c.id === id);
    if (i >= 0) {
      const next = list.slice();
      next[i] = { ...list[i], ...f(list[i]) };
      msgs.set({ convs: sortConvs(next) });
    }
  }
  const o = msgs.get().open;
  if (o?.id === id && o.conv) msgs.set({ open: { ...o, conv: { ...o.conv, ...f(o.conv) } } });
}

function sortConvs(list: Conversation[]): Conversation[] {
  return list.slice().sort((a, b) => b.last_message_at - a.last_message_at || a.id.localeCompare(b.id));
}

function pick(a: Message, b: Message): Message {
  if (a.deleted !== b.deleted) return a.deleted ? a : b;
  return (b.edited_at ?? 0) >= (a.edited_at ?? 0) ? b : a;
}

// Merges messages into a sorted list (by id; the newer version of each wins).
function merge(list: Message[], incoming: Message[]): Message[] {
  if (!incoming.length) return list;
  const byId = new Map(list.map((m) => [m.id, m]));
  for (const m of incoming) {
    const old = byId.get(m.id);
    if (!old) {
      byId.set(m.id, { ...m, reactions: m.reactions ?? [] });
      continue;
    }
    const win = pick(old, m);
    byId.set(m.id, {
      ...win,
      reactions: win.deleted ? [] : (m.reactions ?? old.reactions ?? []),
      reply_count: Math.max(old.reply_count, m.reply_count),
    });
  }
  return [...byId.values()].sort((x, y) => x.seq - y.seq);
}

// The journal of live changes to the open conversation, applied again over fetched pages.
type Op = (o: OpenConv) => Partial<OpenConv> | null;
let journal: { n: number; op: Op }[] = [];
let opCount = 0;
function apply(convId: string, op: Op): void {
  journal.push({ n: ++opCount, op });
  if (journal.length > 500) journal = journal.slice(-250);
  patchOpen(convId, op);
}
function replaySince(o: OpenConv, since: number): OpenConv {
  let cur = o;
  for (const j of journal) if (j.n > since) cur = { ...cur, ...(j.op(cur) ?? {}) };
  return cur;
}

export function errorCode(e: unknown): string {
  return e instanceof ApiError ? e.code : 'network';
}

// ---- the list ----------------------------------------------------------------------------------

export async function loadConversations(): Promise<void> {
  try {
    const r = await api<{ conversations: Conversation[] }>('GET', '/api/v1/conversations');
    msgs.set({ convs: sortConvs(r.conversations), listError: null });
    ensurePeople(r.conversations.flatMap((c) => c.members ?? []));
    // A conversation read on this device while it was open stays read.
    const o = msgs.get().open;
    if (o && !o.loading) void markRead();
  } catch (e) {
    msgs.set({ listError: errorCode(e) });
  }
}

function upsertConv(c: Conversation): void {
  const list = msgs.get().convs;
  if (!list) return;
  const i = list.findIndex((x) => x.id === c.id);
  const next = list.slice();
  if (i >= 0) next[i] = { ...list[i], ...c };
  else next.push({ unread: 0, mentions: 0, read_seq: c.last_seq, ...c });
  msgs.set({ convs: sortConvs(next) });
  ensurePeople(c.members ?? []);
}

function dropConv(id: string): void {
  const list = msgs.get().convs;
  if (list) msgs.set({ convs: list.filter((c) => c.id !== id) });
}

// ---- the open conversation ---------------------------------------------------------------------

const PAGE = 50;

function fresh(id: string): OpenConv {
  return {
    id,
    conv: msgs.get().convs?.find((c) => c.id === id) ?? null,
    msgs: [],
    mainFrom: Infinity,
    maxSeq: 0,
    hasOlder: false,
    loading: true,
    loadingOlder: false,
    error: null,
    gone: false,
    members: null,
    pins: null,
    acks: {},
    focus: null,
    thread: null,
    threadLoading: false,
  };
}

type Page = { messages: Message[]; has_more: boolean };

// Merges a fetched page into the open conversation, then the live changes made meanwhile.
function mergePage(id: string, since: number, f: (o: OpenConv) => Partial<OpenConv>): boolean {
  const o = msgs.get().open;
  if (!o || o.id !== id) return false;
  msgs.set({ open: replaySince({ ...o, ...f(o) }, since) });
  return true;
}

export async function openConversation(id: string, focus?: { id: string; seq: number; thread: string | null }): Promise<void> {
  const cur = msgs.get().open;
  if (cur?.id === id && !cur.error && !cur.gone) {
    if (focus) await showMessage(focus);
    return;
  }
  msgs.set({ open: fresh(id) });
  acksAsked.clear(); // a fresh view has none: read them again
  const since = opCount;
  try {
    const [conv, page] = await Promise.all([
      api<Conversation>('GET', `/api/v1/conversations/${id}`),
      api<Page>('GET', `/api/v1/conversations/${id}/messages?limit=${PAGE}`).catch((e) => {
        if (e instanceof ApiError && e.code === 'not_a_member') return null; // a public channel to join
        throw e;
      }),
    ]);
    const ok = mergePage(id, since, (o) => ({
      conv,
      loading: false,
      msgs: merge(o.msgs, page?.messages ?? []),
      mainFrom: page?.messages[0]?.seq ?? conv.last_seq + 1,
      // What the page holds, not conv.last_seq: a message posted between the two requests is
      // fetched by catchUp, not assumed.
      maxSeq: Math.max(o.maxSeq, page?.messages.at(-1)?.seq ?? 0),
      hasOlder: page?.has_more ?? false,
    }));
    if (!ok) return;
    void loadMembers(id);
    if (page) {
      void loadPins(id);
      loadAcksFor(page.messages);
      ensurePeople(page.messages.map((m) => m.author_id));
      await catchUp(id);
      if (focus) await showMessage(focus);
      void markRead();
    }
  } catch (e) {
    patchOpen(id, () => ({ loading: false, error: errorCode(e) }));
  }
}

export function closeConversation(): void {
  msgs.set({ open: null });
}

export async function loadOlder(): Promise<boolean> {
  const o = msgs.get().open;
  if (!o || o.loadingOlder || !o.hasOlder) return false;
  const id = o.id;
  patchOpen(id, () => ({ loadingOlder: true }));
  const since = opCount;
  try {
    const page = await api<Page>('GET', `/api/v1/conversations/${id}/messages?before=${o.mainFrom}&limit=${PAGE}`);
    mergePage(id, since, (cur) => ({
      msgs: merge(cur.msgs, page.messages),
      mainFrom: Math.min(cur.mainFrom, page.messages[0]?.seq ?? cur.mainFrom),
      hasOlder: page.has_more,
      loadingOlder: false,
    }));
    loadAcksFor(page.messages);
    ensurePeople(page.messages.map((m) => m.author_id));
    return true;
  } catch (e) {
    patchOpen(id, () => ({ loadingOlder: false, error: errorCode(e) }));
    return false;
  }
}

// Fetches what follows maxSeq until nothing is missing (after a gap or a reconnection).
let catching: string | null = null;
async function catchUp(id: string): Promise<void> {
  if (catching === id) return;
  catching = id;
  try {
    for (let round = 0; round < 50; round++) {
      const o = msgs.get().open;
      if (!o || o.id !== id || o.loading || o.conv?.my_role == null) return;
      const since = opCount;
      const page = await api<Page>('GET', `/api/v1/conversations/${id}/messages?after=${o.maxSeq}&limit=200`);
      mergePage(id, since, (cur) => ({
        msgs: merge(cur.msgs, page.messages),
        maxSeq: Math.max(cur.maxSeq, page.messages.at(-1)?.seq ?? 0),
      }));
      loadAcksFor(page.messages);
      ensurePeople(page.messages.map((m) => m.author_id));
      if (!page.has_more) return;
    }
  } catch {
    /* the next event or reconnection tries again */
  } finally {
    catching = null;
  }
}

// Brings a message into view: older pages are loaded until it is there (a search result).
async function showMessage(focus: { id: string; seq: number; thread: string | null }): Promise<void> {
  for (let i = 0; i < 40; i++) {
    const o = msgs.get().open;
    if (!o || o.mainFrom <= focus.seq || !o.hasOlder) break;
    if (!(await loadOlder())) break;
  }
  const o = msgs.get().open;
  if (!o) return;
  if (focus.thread) {
    patchOpen(o.id, () => ({ focus: focus.id }));
    await openThread(focus.thread);
  } else patchOpen(o.id, () => ({ focus: focus.id, thread: null }));
}

export function clearFocus(): void {
  const o = msgs.get().open;
  if (o?.focus) patchOpen(o.id, () => ({ focus: null }));
}

export async function loadMembers(id: string): Promise<void> {
  try {
    const r = await api<{ members: Member[] }>('GET', `/api/v1/conversations/${id}/members`);
    addPeople(membersToPeople(r.members));
    patchOpen(id, () => ({ members: r.members }));
  } catch {
    /* shown without the member list; names come from the directory */
  }
}

async function loadPins(id: string): Promise<void> {
  try {
    const r = await api<{ messages: Message[] }>('GET', `/api/v1/conversations/${id}/pins`);
    patchOpen(id, () => ({ pins: r.messages }));
  } catch {
    /* the pins are refetched at the next pin event */
  }
}

const acksAsked = new Set<string>();
function loadAcksFor(list: Message[]): void {
  for (const m of list) if (m.urgent && !m.deleted) void loadAcks(m.conversation_id, m.id);
}
async function loadAcks(convId: string, msgId: string, force = false): Promise<void> {
  if (acksAsked.has(msgId) && !force) return;
  acksAsked.add(msgId);
  const since = opCount;
  try {
    const r = await api<Acks & { urgent: boolean }>('GET', `/api/v1/messages/${msgId}/acks`);
    mergePage(convId, since, (o) => ({ acks: { ...o.acks, [msgId]: { acknowledged: r.acknowledged, pending: r.pending } } }));
    const m = msgs.get().open?.msgs.find((x) => x.id === msgId);
    if (m && !m.deleted && r.pending.includes(myId()))
      addPending({ message_id: m.id, conversation_id: m.conversation_id, seq: m.seq, author_id: m.author_id, reminder: 0, at: m.created_at });
    ensurePeople([...r.pending, ...r.acknowledged.map((a) => a.user_id)]);
  } catch {
    acksAsked.delete(msgId);
  }
}

export async function openThread(rootId: string): Promise<void> {
  const o = msgs.get().open;
  if (!o) return;
  const id = o.id;
  patchOpen(id, () => ({ thread: rootId, threadLoading: true }));
  const since = opCount;
  try {
    const page = await api<Page>('GET', `/api/v1/conversations/${id}/messages?thread=${rootId}&limit=200`);
    mergePage(id, since, (cur) => ({ msgs: merge(cur.msgs, page.messages), threadLoading: false }));
    loadAcksFor(page.messages);
    ensurePeople(page.messages.map((m) => m.author_id));
  } catch (e) {
    patchOpen(id, () => ({ threadLoading: false, error: errorCode(e) }));
  }
}

export function closeThread(): void {
  const o = msgs.get().open;
  if (o) patchOpen(o.id, () => ({ thread: null }));
}

// ---- reading -----------------------------------------------------------------------------------

let reading = false;
let readAgain = false;
// Marks the open conversation read up to what is loaded, when the page is seen. One request at a
// time; a call meanwhile makes the loop look again once it is back.
export async function markRead(): Promise<void> {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = true;
  try {
    do {
      readAgain = false;
      const o = msgs.get().open;
      if (!o || o.loading || !o.conv || o.conv.my_role == null || document.visibilityState !== 'visible') break;
      const c = msgs.get().convs?.find((x) => x.id === o.id);
      const readSeq = c?.read_seq ?? o.conv.read_seq ?? 0;
      if (readSeq >= o.maxSeq && !c?.unread) continue;
      try {
        applyRead(await api<ReadState>('POST', `/api/v1/conversations/${o.id}/read`, { seq: o.maxSeq }));
      } catch {
        break;
      }
    } while (readAgain);
  } finally {
    reading = false;
  }
}

function applyRead(r: ReadState): void {
  patchConv(r.conversation_id, (c) =>
    (c.read_seq ?? 0) > r.read_seq ? {} : { read_seq: r.read_seq, unread: r.unread, mentions: r.mentions },
  );
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void markRead();
});

// ---- actions -----------------------------------------------------------------------------------

export async function send(convId: string, body: string, opts: { urgent?: boolean; thread?: string | null } = {}): Promise<Message> {
  const payload: Record<string, unknown> = { body };
  if (opts.urgent) payload.urgent = true;
  if (opts.thread) payload.thread_root = opts.thread;
  const m = await api<Message>('POST', `/api/v1/conversations/${convId}/messages`, payload);
  onCreated(m);
  return m;
}

export async function editMessage(m: Message, body: string): Promise<void> {
  onChanged(await api<Message>('PATCH', `/api/v1/messages/${m.id}`, { body }));
}

export async function deleteMessage(m: Message): Promise<void> {
  onChanged(await api<Message>('DELETE', `/api/v1/messages/${m.id}`));
}

export async function toggleReaction(m: Message, emoji: string): Promise<void> {
  const mine = m.reactions?.find((r) => r.emoji === emoji)?.users.includes(myId());
  if (mine) {
    await api('DELETE', `/api/v1/messages/${m.id}/reactions/${encodeURIComponent(emoji)}`);
    onReaction({ message_id: m.id, conversation_id: m.conversation_id, user_id: myId(), emoji }, false);
  } else {
    await api('POST', `/api/v1/messages/${m.id}/reactions`, { emoji });
    onReaction({ message_id: m.id, conversation_id: m.conversation_id, user_id: myId(), emoji }, true);
  }
}

export async function togglePin(m: Message): Promise<void> {
  const r = await api<PinData>(m.pinned_at ? 'DELETE' : 'POST', `/api/v1/messages/${m.id}/pin`);
  onPin({ ...r, pinned: !m.pinned_at });
}

export async function acknowledge(m: Message): Promise<void> {
  const r = await api<AckData>('POST', `/api/v1/messages/${m.id}/ack`);
  onAck(r);
}

// Acknowledges from the reminder banner. A message that cannot be acknowledged any more (deleted,
// or I am no longer a recipient) stops being pending; other errors are the caller's to show.
export async function acknowledgeUrgent(u: PendingUrgent): Promise<void> {
  try {
    onAck(await api<AckData>('POST', `/api/v1/messages/${u.message_id}/ack`));
  } catch (e) {
    const code = errorCode(e);
    if (code === 'message_deleted' || code === 'not_a_recipient' || code === 'not_urgent' || code === 'message_not_found') {
      dropPending((x) => x.message_id === u.message_id);
      return;
    }
    throw e;
  }
}

// ---- managing a conversation (the details dialog) ----------------------------------------------

export async function updateConversation(id: string, patch: { name?: string; topic?: string; archived?: boolean }): Promise<void> {
  const c = await api<Conversation>('PATCH', `/api/v1/conversations/${id}`, patch);
  const { my_role: _r, ...rest } = c;
  patchConv(id, () => rest);
}

export async function inviteMember(id: string, userId: string): Promise<void> {
  await api('POST', `/api/v1/conversations/${id}/members`, { user_id: userId });
  await loadMembers(id);
}

export async function removeMember(id: string, userId: string): Promise<void> {
  await api('DELETE', `/api/v1/conversations/${id}/members/${userId}`);
  await loadMembers(id);
}

export async function leaveConversation(id: string): Promise<void> {
  await api('POST', `/api/v1/conversations/${id}/leave`);
  forget(id);
}

// I am no longer in this conversation: out of the list, nothing of it left to acknowledge.
function forget(id: string): void {
  dropConv(id);
  dropPending((u) => u.conversation_id === id);
  patchOpen(id, () => ({ gone: true }));
}

// ---- urgent messages waiting for me ------------------------------------------------------------

function addPending(u: PendingUrgent): void {
  const cur = msgs.get().urgent;
  const old = cur[u.message_id];
  if (old && old.reminder >= u.reminder) return;
  // A reminder's `at` is when it was sent: the message's own time, once known, is kept.
  msgs.set({ urgent: { ...cur, [u.message_id]: old ? { ...u, at: old.at } : u } });
}

// What I still have to acknowledge, as soon as the screen loads or reconnects: after a reload, a
// pending urgent message must not wait for its next reminder to show.
async function loadPendingUrgent(): Promise<void> {
  try {
    const r = await api<{ pending: (Omit<PendingUrgent, 'reminder' | 'at'> & { reminders: number; created_at: number })[] }>(
      'GET',
      '/api/v1/urgent/pending',
    );
    for (const d of r.pending)
      addPending({ message_id: d.message_id, conversation_id: d.conversation_id, seq: d.seq, author_id: d.author_id, reminder: Math.max(1, d.reminders), at: d.created_at });
    ensurePeople(r.pending.map((d) => d.author_id));
  } catch {
    // The next urgent.reminder brings them.
  }
}

function dropPending(f: (u: PendingUrgent) => boolean): void {
  const cur = msgs.get().urgent;
  const keep = Object.values(cur).filter((u) => !f(u));
  if (keep.length !== Object.keys(cur).length) msgs.set({ urgent: Object.fromEntries(keep.map((u) => [u.message_id, u])) });
}

export async function joinChannel(id: string): Promise<void> {
  const c = await api<Conversation>('POST', `/api/v1/conversations/${id}/join`);
  upsertConv(c);
  msgs.set({ open: null });
  await openConversation(id);
}

export async function createConversation(body: Record<string, unknown>): Promise<Conversation> {
  const c = await api<Conversation>('POST', '/api/v1/conversations', body);
  upsertConv(c);
  return c;
}

export async function setPresence(status: string, text: string): Promise<void> {
  const body: Record<string, string> = { status };
  if (text.trim()) body.text = text.trim();
  const r = await api<Presence & { user_id: string }>('PUT', '/api/v1/presence', body);
  onPresence(r);
}

// ---- live events -------------------------------------------------------------------------------

type PinData = { message_id: string; conversation_id: string; user_id: string; at: number; pinned: boolean };
type AckData = { message_id: string; conversation_id: string; user_id: string; at: number };
type ReactionData = { message_id: string; conversation_id: string; user_id: string; emoji: string };

function onCreated(m: Message): void {
  const me = myId();
  const o = msgs.get().open;
  const isOpen = o?.id === m.conversation_id && !o.loading;
  const seen = isOpen && document.visibilityState === 'visible';
  const list = msgs.get().convs;
  const known = list?.find((c) => c.id === m.conversation_id);
  if (list && !known) void loadConversations();
  else if (known && m.seq > known.last_seq) {
    const other = m.author_id !== me && !m.deleted;
    const mentioned = other && (m.mentions_channel || m.mentions.includes(me));
    patchConv(m.conversation_id, (c) => ({
      last_seq: m.seq,
      last_message_at: Math.max(c.last_message_at, m.created_at),
      unread: (c.unread ?? 0) + (other && !seen ? 1 : 0),
      mentions: (c.mentions ?? 0) + (mentioned && !seen ? 1 : 0),
      read_seq: m.author_id === me ? Math.max(c.read_seq ?? 0, m.seq) : c.read_seq,
    }));
  }
  stopTyping(m.conversation_id, m.author_id);
  ensurePeople([m.author_id]);
  if (m.urgent && !m.deleted && m.author_id !== me)
    addPending({ message_id: m.id, conversation_id: m.conversation_id, seq: m.seq, author_id: m.author_id, reminder: 0, at: m.created_at });
  apply(m.conversation_id, (cur) => {
    const isNew = !cur.msgs.some((x) => x.id === m.id);
    let list2 = merge(cur.msgs, [m]);
    if (isNew && m.thread_root) {
      list2 = list2.map((x) => (x.id === m.thread_root ? { ...x, reply_count: x.reply_count + 1 } : x));
    }
    const contiguous = m.seq <= cur.maxSeq + 1;
    return { msgs: list2, maxSeq: contiguous ? Math.max(cur.maxSeq, m.seq) : cur.maxSeq };
  });
  const after = msgs.get().open;
  if (after?.id === m.conversation_id && !after.loading) {
    if (m.seq > after.maxSeq) void catchUp(after.id);
    if (m.urgent) void loadAcks(m.conversation_id, m.id, true);
    if (seen && m.author_id !== me) void markRead();
  }
}

function onChanged(m: Message): void {
  if (m.deleted) dropPending((u) => u.message_id === m.id);
  apply(m.conversation_id, (cur) => ({
    msgs: merge(cur.msgs, [m]),
    pins: m.deleted && cur.pins ? cur.pins.filter((p) => p.id !== m.id) : cur.pins?.map((p) => (p.id === m.id ? { ...p, ...pick(p, m) } : p)) ?? null,
  }));
}

function onReaction(d: ReactionData, added: boolean): void {
  apply(d.conversation_id, (cur) => {
    const i = cur.msgs.findIndex((m) => m.id === d.message_id);
    if (i < 0) return null;
    const m = cur.msgs[i];
    let reactions = (m.reactions ?? []).map((r) => ({ ...r, users: r.users.slice() }));
    let r = reactions.find((x) => x.emoji === d.emoji);
    if (added) {
      if (!r) reactions.push((r = { emoji: d.emoji, users: [], count: 0 }));
      if (!r.users.includes(d.user_id)) r.users.push(d.user_id);
    } else if (r) r.users = r.users.filter((u) => u !== d.user_id);
    reactions = reactions.map((x) => ({ ...x, count: x.users.length })).filter((x) => x.count > 0);
    const next = cur.msgs.slice();
    next[i] = { ...m, reactions };
    return { msgs: next };
  });
}

function onPin(d: PinData): void {
  apply(d.conversation_id, (cur) => ({
    msgs: cur.msgs.map((m) =>
      m.id === d.message_id ? { ...m, pinned_at: d.pinned ? d.at : null, pinned_by: d.pinned ? d.user_id : null } : m,
    ),
  }));
  void loadPins(d.conversation_id);
}

function onAck(d: AckData): void {
  if (d.user_id === myId()) dropPending((u) => u.message_id === d.message_id);
  apply(d.conversation_id, (cur) => {
    const a = cur.acks[d.message_id];
    if (!a) return null;
    if (a.acknowledged.some((x) => x.user_id === d.user_id)) return null;
    return {
      acks: {
        ...cur.acks,
        [d.message_id]: {
          acknowledged: [...a.acknowledged, { user_id: d.user_id, at: d.at }],
          pending: a.pending.filter((u) => u !== d.user_id),
        },
      },
    };
  });
}

function onPresence(d: Presence & { user_id: string }): void {
  const presence = { status: d.status, text: d.text, updated_at: d.updated_at };
  // Someone not named yet (their lookup may be under way) is kept with the presence alone.
  addPeople([{ ...(msgs.get().people[d.user_id] ?? { id: d.user_id, username: '', display_name: '', partial: true }), presence }]);
}

function onMembership(e: EventFrame): void {
  const d = e.data as { conversation_id?: string; user_id?: string; role?: string; conversation?: Conversation };
  const me = myId();
  const convId = d.conversation_id ?? (d.conversation?.id as string);
  if (e.event === 'member.joined') {
    if (d.user_id === me && d.conversation) upsertConv({ ...d.conversation, my_role: (d.role as 'owner' | 'member') ?? 'member' });
    else
      patchConv(convId, (c) => ({
        members_count: c.members_count + (c.members?.includes(d.user_id!) ? 0 : 1),
        members: c.members && d.user_id && !c.members.includes(d.user_id) ? [...c.members, d.user_id] : c.members,
      }));
  } else if (e.event === 'member.left') {
    if (d.user_id === me) {
      forget(convId);
      return;
    }
    patchConv(convId, (c) => ({
      members_count: Math.max(0, c.members_count - 1),
      members: c.members?.filter((u) => u !== d.user_id),
    }));
  } else if (e.event === 'member.updated' && d.user_id === me) {
    patchConv(convId, () => ({ my_role: d.role as 'owner' | 'member' }));
  }
  if (d.user_id) ensurePeople([d.user_id]);
  if (msgs.get().open?.id === convId) void loadMembers(convId);
}

let started = false;
// Subscribes to the events once (the screen's module is loaded once per tab) and loads the list.
export function startMessaging(): void {
  if (started) {
    void loadConversations();
    return;
  }
  started = true;
  events.on('message.created', (e) => onCreated(e.data as unknown as Message));
  events.on('message.updated', (e) => onChanged(e.data as unknown as Message));
  events.on('message.deleted', (e) => onChanged(e.data as unknown as Message));
  events.on('reaction.added', (e) => onReaction(e.data as unknown as ReactionData, true));
  events.on('reaction.removed', (e) => onReaction(e.data as unknown as ReactionData, false));
  events.on('message.pinned', (e) => onPin(e.data as unknown as PinData));
  events.on('message.unpinned', (e) => onPin(e.data as unknown as PinData));
  events.on('urgent.acknowledged', (e) => onAck(e.data as unknown as AckData));
  events.on('urgent.reminder', (e) => {
    const d = e.data as unknown as PendingUrgent;
    addPending({ message_id: d.message_id, conversation_id: d.conversation_id, seq: d.seq, author_id: d.author_id, reminder: d.reminder || 1, at: d.at });
    ensurePeople([d.author_id]);
  });
  events.on('read.updated', (e) => applyRead(e.data as unknown as ReadState));
  events.on('presence.updated', (e) => onPresence(e.data as unknown as Presence & { user_id: string }));
  events.on('conversation.created', (e) => {
    const d = e.data as unknown as Conversation & { member_roles?: { user_id: string; role: string }[] };
    const mine = d.member_roles?.find((r) => r.user_id === myId());
    if (mine) upsertConv({ ...d, my_role: mine.role as 'owner' | 'member' });
  });
  events.on('conversation.updated', (e) => {
    const d = e.data as unknown as Conversation;
    patchConv(d.id, () => {
      const { my_role: _r, ...rest } = d;
      return rest;
    });
  });
  for (const name of ['member.joined', 'member.left', 'member.updated']) events.on(name, onMembership);
  events.onFrame('typing', (f) => onTyping(String(f.conversation), String(f.user_id)));
  // Back from a drop: the socket replays what was missed; the list's counts and the open
  // conversation are read again as well, in case the server could not replay (a reset log).
  let conn = app.get().conn;
  app.subscribe(() => {
    const now = app.get().conn;
    if (now === conn) return;
    const was = conn;
    conn = now;
    if (now === 'connected' && was !== 'connecting' && was !== 'idle') {
      void loadConversations();
      void loadPendingUrgent();
      const o = msgs.get().open;
      if (o) void catchUp(o.id);
    }
  });
  ensurePeople([myId()]);
  void loadConversations();
  void loadPendingUrgent();
}
