// The messaging screen's state shape and its store, shared by state.ts (which keeps it current)
// and the smaller modules beside it (people.ts, typing.ts).
import { app } from '../../lib/app';
import { createStore } from '../../lib/store';
import type { Acks, Conversation, Member, Message, Person } from './types';

export interface OpenConv {
  id: string;
  conv: Conversation | null; // as GET /conversations/{id} (a public channel not joined: my_role null)
  msgs: Message[]; // sorted by seq: roots and thread replies
  mainFrom: number; // smallest seq the main history has loaded (Infinity before the first page)
  maxSeq: number; // every message up to here is loaded (from mainFrom)
  hasOlder: boolean;
  loading: boolean;
  loadingOlder: boolean;
  error: string | null;
  gone: boolean; // I left or was removed
  members: Member[] | null;
  pins: Message[] | null;
  acks: Record<string, Acks>;
  focus: string | null; // id of a message to show (a search result)
  thread: string | null; // root id of the open thread panel
  threadLoading: boolean;
}

export interface MsgState {
  convs: Conversation[] | null;
  listError: string | null;
  people: Record<string, Person>;
  open: OpenConv | null;
  typing: Record<string, Record<string, number>>; // conversation -> user -> shown until (ms)
  urgent: Record<string, PendingUrgent>; // message id -> an urgent message I have not acknowledged
}

// An urgent message waiting for my acknowledgement: seen arriving, in a loaded history, or named
// by an urgent.reminder or listed by GET /api/v1/urgent/pending when the screen loads (then
// `reminder` > 0 and the screen shows a banner until I acknowledge).
export interface PendingUrgent {
  message_id: string;
  conversation_id: string;
  seq: number;
  author_id: string;
  reminder: number;
  at: number;
}

export const msgs = createStore<MsgState>({ convs: null, listError: null, people: {}, open: null, typing: {}, urgent: {} });

export const myId = (): string => app.get().me?.user.id ?? '';
