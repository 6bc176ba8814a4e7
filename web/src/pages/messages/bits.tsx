// Small pieces of the messaging screen: names of people and conversations, presence dots,
// message text with its mentions, search snippets with their highlights, times.
import type { ComponentChildren } from 'preact';
import { t, formatDate, formatTime, type Key } from '../../i18n';
import type { Conversation, Person, PresenceStatus } from './types';
import { myId } from './state';

export function personName(people: Record<string, Person>, id: string): string {
  if (id === myId()) return t('msg.you');
  const p = people[id];
  if (!p || p.partial) return '…'; // being looked up
  return p.former ? t('msg.someone') : p.display_name || p.username;
}

export function convName(c: Conversation, people: Record<string, Person>): string {
  if (c.kind === 'channel') return c.name ?? '';
  if (c.name) return c.name;
  const others = (c.members ?? []).filter((id) => id !== myId());
  if (!others.length) return t('msg.conv.justYou');
  return others.map((id) => personName(people, id)).join(', ');
}

// The other person of a direct conversation.
export function directPeer(c: Conversation): string | null {
  return c.kind === 'direct' ? ((c.members ?? []).find((id) => id !== myId()) ?? null) : null;
}

export const presenceLabel = (s: PresenceStatus | undefined): string => t(`presence.${s ?? 'offline'}` as Key);

// A presence dot: a shape as well as a colour per status, and its name for assistive technology.
export function PresenceDot(props: { person?: Person; status?: PresenceStatus; class?: string }) {
  const status = props.status ?? props.person?.presence?.status ?? 'offline';
  const label = presenceLabel(status);
  const text = props.person?.presence?.text;
  return (
    <span
      class={`presence presence-${status} ${props.class ?? ''}`}
      role="img"
      aria-label={text ? `${label} : ${text}` : label}
      title={text ? `${label} — ${text}` : label}
      data-status={status}
    />
  );
}

// Message text: line breaks kept (CSS), @mentions of known people and @channel set apart.
export function Body(props: { text: string; usernames: Set<string> }) {
  const out: ComponentChildren[] = [];
  const re = /(^|[^a-z0-9._-])@([a-z0-9._-]*[a-z0-9])/gi;
  let last = 0;
  for (let m = re.exec(props.text); m; m = re.exec(props.text)) {
    const name = m[2].toLowerCase();
    const start = m.index + m[1].length;
    const special = name === 'channel' || name === 'all' || name === 'here';
    if (!special && !props.usernames.has(name)) continue;
    if (start > last) out.push(props.text.slice(last, start));
    out.push(
      <span class={`mention${special ? ' mention-all' : ''}`} key={start}>
        @{m[2]}
      </span>,
    );
    last = start + 1 + m[2].length;
  }
  if (last < props.text.length) out.push(props.text.slice(last));
  return <>{out}</>;
}

// A search snippet: the server wraps each matching word in [[ and ]].
export function Snippet(props: { text: string }) {
  const parts = props.text.split(/(\[\[.*?\]\])/g);
  return (
    <>
      {parts.map((p, i) =>
        p.startsWith('[[') && p.endsWith(']]') ? <mark key={i}>{p.slice(2, -2)}</mark> : p,
      )}
    </>
  );
}

// Today: the time; before: the date and time.
export function when(ms: number): string {
  const today = formatDate(Date.now());
  const d = formatDate(ms);
  return d === today ? formatTime(ms) : `${d} ${formatTime(ms)}`;
}

export function Badge(props: { n: number; kind: 'unread' | 'mention'; label: string }) {
  if (!props.n) return null;
  return (
    <span class={`count count-${props.kind}`} data-kind={props.kind}>
      <span aria-hidden="true">
        {props.kind === 'mention' ? '@' : ''}
        {props.n > 99 ? '99+' : props.n}
      </span>
      <span class="visually-hidden">{props.label}</span>
    </span>
  );
}
