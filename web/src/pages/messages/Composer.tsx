// The message composer: Enter sends, Shift+Enter starts a new line; "@" offers the
// conversation's members (and @channel) as a list chosen with the arrows and Enter or Tab, or
// the mouse; a checkbox marks the message urgent. Typing tells the others (throttled).
import type { Ref } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { Alert, useId } from '../../components/ui';
import { errorText } from '../Login';
import type { Conversation, Member } from './types';
import { myId, send, typing } from './state';
import { PresenceDot } from './bits';

const fold = (s: string) =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

interface Option {
  username: string;
  label: string;
  member?: Member;
}

// The "@word" being typed before the caret, if any.
function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const m = /(^|[^a-z0-9._-])@([a-z0-9._-]*)$/i.exec(text.slice(0, caret));
  return m ? { start: caret - m[2].length - 1, query: m[2].toLowerCase() } : null;
}

export function Composer(props: {
  conv: Conversation;
  members: Member[] | null;
  thread?: string | null;
  label: string;
  allowUrgent?: boolean;
  inputRef?: Ref<HTMLTextAreaElement>;
}) {
  const { conv } = props;
  const [text, setText] = useState('');
  const [urgent, setUrgent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const [index, setIndex] = useState(0);
  const own = useRef<HTMLTextAreaElement>(null);
  const area = (props.inputRef as { current: HTMLTextAreaElement | null } | undefined) ?? own;
  const id = useId('composer');
  const listId = `${id}-mentions`;
  const hintId = `${id}-hint`;

  let options: Option[] = [];
  if (mention) {
    const q = mention.query;
    options = (props.members ?? [])
      .filter((m) => m.user_id !== myId())
      .filter((m) => m.username.startsWith(q) || fold(m.display_name).split(/\s+/).some((w) => w.startsWith(fold(q))))
      .slice(0, 8)
      .map((m) => ({ username: m.username, label: m.display_name, member: m }));
    if (conv.kind !== 'direct' && 'channel'.startsWith(q)) options.push({ username: 'channel', label: t('msg.mention.channel') });
  }
  const open = options.length > 0;
  const active = open ? Math.min(index, options.length - 1) : -1;

  function update(value: string, caret: number) {
    setText(value);
    const m = mentionAt(value, caret);
    if (m?.query !== mention?.query || m?.start !== mention?.start) setIndex(0);
    setMention(m);
    if (value.trim()) typing(conv.id);
  }

  function pick(o: Option) {
    const el = area.current;
    if (!el || !mention) return;
    const caret = el.selectionStart ?? text.length;
    const insert = `@${o.username} `;
    const value = text.slice(0, mention.start) + insert + text.slice(caret);
    const pos = mention.start + insert.length;
    // The field is changed now, not at the next render: keys typed right after land after the
    // name (the render then finds the same value and leaves the caret alone).
    el.value = value;
    el.focus();
    el.setSelectionRange(pos, pos);
    setText(value);
    setMention(null);
  }

  async function submit(e?: Event) {
    e?.preventDefault();
    const body = text.trim();
    if (!body || busy) return;
    setBusy(true);
    setError(null);
    try {
      await send(conv.id, body, { urgent: urgent && props.allowUrgent, thread: props.thread });
      setText('');
      setUrgent(false);
      setMention(null);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
      area.current?.focus();
    }
  }

  function onKeyDown(e: KeyboardEvent) {
    if (open) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const n = options.length;
        setIndex((active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(options[active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setMention(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  }

  return (
    <form class={`composer${urgent ? ' composer-urgent' : ''}`} onSubmit={submit} noValidate>
      {error && <Alert kind="error">{error}</Alert>}
      <label for={id} class="visually-hidden">
        {props.label}
      </label>
      <div class="composer-input">
        {open && (
          <ul class="mention-list" role="listbox" id={listId} aria-label={t('msg.mention.list')}>
            {options.map((o, i) => (
              <li
                key={o.username}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active ? 'true' : 'false'}
                class="mention-option"
                onMouseDown={(ev) => ev.preventDefault()}
                onClick={() => pick(o)}
              >
                {o.member && <PresenceDot status={o.member.presence?.status} />}
                <span class="mention-name">{o.label}</span>
                <span class="mention-user">@{o.username}</span>
              </li>
            ))}
          </ul>
        )}
        <textarea
          id={id}
          ref={area}
          rows={1}
          value={text}
          maxLength={15000}
          placeholder={props.label}
          aria-describedby={hintId}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          onInput={(e) => {
            const el = e.currentTarget as HTMLTextAreaElement;
            update(el.value, el.selectionStart ?? el.value.length);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setMention(null)}
        />
      </div>
      <div class="composer-bar">
        {props.allowUrgent && (
          <div class="check composer-urgent-check">
            <input type="checkbox" id={`${id}-urgent`} checked={urgent} onChange={(e) => setUrgent((e.currentTarget as HTMLInputElement).checked)} />
            <label for={`${id}-urgent`}>{t('msg.urgent.mark')}</label>
          </div>
        )}
        <p class="hint composer-hint" id={hintId}>
          {urgent && props.allowUrgent ? t('msg.urgent.hint') : t('msg.composer.hint')}
        </p>
        <button type="submit" class={`btn ${urgent && props.allowUrgent ? 'btn-danger' : 'btn-primary'}`} disabled={busy || !text.trim()}>
          {urgent && props.allowUrgent ? t('msg.send.urgent') : t('msg.send')}
        </button>
      </div>
    </form>
  );
}
