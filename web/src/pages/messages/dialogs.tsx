// Dialogs shared by the messaging screen: a modal on <dialog>, the colleague picker (the
// directory, searched as one types), and the API's error codes in plain words.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { t, type Key } from '../../i18n';
import { api, ApiError } from '../../lib/api';
import { Alert, Field, Spinner, useId } from '../../components/ui';
import { errorText } from '../Login';
import type { Person } from './types';
import { addPeople, myId } from './state';
import { PresenceDot } from './bits';

// The messaging API's error codes a person can meet, in their words; others as the app says them.
const CODES = new Set([
  'not_owner',
  'not_a_member',
  'direct_conversation',
  'archived',
  'group_full',
  'member_not_found',
  'user_not_found',
  'conversation_not_found',
  'message_not_found',
  'message_deleted',
  'not_a_recipient',
  'not_urgent',
]);
export function msgErrorText(e: unknown): string {
  if (e instanceof ApiError && CODES.has(e.code)) return t(`msg.error.${e.code}` as Key);
  return errorText(e);
}

// A modal built on <dialog> (focus kept inside by the browser, Escape closes).
export function Modal(props: { title: string; onClose: () => void; children?: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId('modal');
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.open && d.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog${props.wide ? ' dialog-wide' : ''}`}
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      {props.children}
    </dialog>
  );
}

export function PeoplePicker(props: { multiple: boolean; chosen: Person[]; onChosen: (p: Person[]) => void; label: string; exclude?: Set<string> }) {
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Person[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let stale = false;
    const timer = setTimeout(async () => {
      try {
        const r = await api<{ people: Person[] }>('GET', `/api/v1/directory?q=${encodeURIComponent(q.trim())}&limit=20`);
        if (stale) return;
        addPeople(r.people);
        setFound(r.people.filter((p) => p.id !== myId()));
        setError(null);
      } catch (e) {
        if (!stale) setError(errorText(e));
      }
    }, 150);
    return () => {
      stale = true;
      clearTimeout(timer);
    };
  }, [q]);
  const isChosen = (p: Person) => props.chosen.some((x) => x.id === p.id);
  // Who is excluded (already a member) goes as soon as they are, not at the next search.
  const shown = found?.filter((p) => !props.exclude?.has(p.id)) ?? null;
  return (
    <div class="people-picker">
      <Field id="people-q" type="search" label={props.label} hint={t('msg.new.find.hint')} value={q} onValue={setQ} autoComplete="off" />
      {error && <Alert kind="error">{error}</Alert>}
      {!shown ? (
        <Spinner />
      ) : !shown.length ? (
        <p class="muted" role="status">
          {t('msg.new.nobody')}
        </p>
      ) : (
        <ul class="people-list" aria-label={t('msg.new.results')}>
          {shown.map((p) => (
            <li key={p.id}>
              <button
                type="button"
                class="person-btn"
                aria-pressed={isChosen(p) ? 'true' : 'false'}
                onClick={() => {
                  if (!props.multiple) props.onChosen([p]);
                  else props.onChosen(isChosen(p) ? props.chosen.filter((x) => x.id !== p.id) : [...props.chosen, p]);
                }}
              >
                <PresenceDot person={p} />
                <span class="person-name">{p.display_name}</span>
                <span class="person-role">{p.role ? t(`role.${p.role}` as Key) : ''}</span>
                {isChosen(p) && <span class="person-check" aria-hidden="true">✓</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

