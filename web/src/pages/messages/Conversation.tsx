// One conversation: its header (name, presence, topic, pins), the history (older pages on
// demand), each message with its author, time, edited and deleted states, reactions, thread
// link, urgent acknowledgements and actions, who is typing, the composer; and the thread panel.
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { t, formatDateTime } from '../../i18n';
import { useStore } from '../../lib/store';
import { Alert, ConfirmDialog, Link, Spinner, useId } from '../../components/ui';
import { errorText } from '../Login';
import type { Acks, Conversation, Message, Person } from './types';
import {
  msgs,
  myId,
  loadOlder,
  openThread,
  closeThread,
  clearFocus,
  acknowledge,
  toggleReaction,
  togglePin,
  editMessage,
  deleteMessage,
  joinChannel,
  type OpenConv,
} from './state';
import { Body, PresenceDot, convName, directPeer, personName, presenceLabel, when } from './bits';
import { Composer } from './Composer';
import { DetailsDialog } from './Details';
import { InviteDialog } from './Invite';
import { app } from '../../lib/app';
import { startCall } from '../../lib/calls';

const EMOJIS = ['👍', '✅', '👀', '🙏', '❤️'];

function UrgentBlock(props: { m: Message; acks: Acks | undefined; people: Record<string, Person> }) {
  const { m, acks, people } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!acks) return null;
  const me = myId();
  const names = (ids: string[]) => ids.map((id) => personName(people, id)).join(', ');
  if (m.author_id === me) {
    return (
      <div class="urgent-status" data-testid="ack-status">
        <p class="urgent-acked">
          <span aria-hidden="true">✔ </span>
          {acks.acknowledged.length
            ? t('msg.urgent.ackedBy', { names: names(acks.acknowledged.map((a) => a.user_id)) })
            : t('msg.urgent.nobodyYet')}
        </p>
        {acks.pending.length > 0 && (
          <p class="urgent-pending">
            <span aria-hidden="true">⏳ </span>
            {t('msg.urgent.waitingFor', { names: names(acks.pending) })}
          </p>
        )}
      </div>
    );
  }
  const mine = acks.acknowledged.find((a) => a.user_id === me);
  if (mine) return <p class="urgent-acked">{t('msg.urgent.youAcked', { time: when(mine.at) })}</p>;
  if (!acks.pending.includes(me)) return null;
  return (
    <div class="urgent-ack">
      {error && <Alert kind="error">{error}</Alert>}
      <button
        type="button"
        class="btn btn-danger"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await acknowledge(m);
          } catch (e) {
            setError(errorText(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('msg.urgent.ack')}
      </button>
    </div>
  );
}

function MessageItem(props: {
  m: Message;
  open: OpenConv;
  people: Record<string, Person>;
  usernames: Set<string>;
  inThread?: boolean;
}) {
  const { m, open, people } = props;
  const me = myId();
  const [actions, setActions] = useState(false);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ref = useRef<HTMLElement>(null);
  const editRef = useRef<HTMLTextAreaElement>(null);
  const actionsId = useId('acts');
  const author = personName(people, m.author_id);
  const mine = m.author_id === me;
  const owner = open.conv?.my_role === 'owner';
  const focused = open.focus === m.id;

  useEffect(() => {
    if (focused && ref.current) {
      ref.current.scrollIntoView({ block: 'center' });
      ref.current.focus();
    }
  }, [focused]);
  useEffect(() => {
    if (editing) editRef.current?.focus();
  }, [editing]);

  async function run(f: () => Promise<void>) {
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(errorText(e));
    }
  }

  const cls = ['msg'];
  if (m.urgent && !m.deleted) cls.push('msg-urgent');
  if (m.deleted) cls.push('msg-deleted');
  if (mine) cls.push('msg-mine');
  if (focused) cls.push('msg-focus');
  return (
    <article
      class={cls.join(' ')}
      ref={ref}
      tabIndex={-1}
      data-seq={m.seq}
      data-id={m.id}
      aria-labelledby={`${m.id}-author ${m.id}-time`}
      onBlur={() => focused && clearFocus()}
    >
      <header class="msg-head">
        <span class="msg-author" id={`${m.id}-author`}>
          {author}
        </span>
        {!mine && people[m.author_id] && !people[m.author_id].former && <PresenceDot person={people[m.author_id]} />}
        <time class="msg-time" id={`${m.id}-time`} dateTime={new Date(m.created_at).toISOString()} title={formatDateTime(m.created_at)}>
          {when(m.created_at)}
        </time>
        {m.urgent && !m.deleted && <span class="tag tag-urgent">{t('msg.urgent.tag')}</span>}
        {m.pinned_at && !m.deleted && <span class="tag tag-pinned">{t('msg.pinned.tag')}</span>}
        {m.edited_at && !m.deleted && <span class="msg-edited">{t('msg.edited')}</span>}
      </header>
      {m.deleted ? (
        <p class="msg-body msg-body-deleted">{t('msg.deleted')}</p>
      ) : editing ? (
        <form
          class="msg-edit"
          onSubmit={(e) => {
            e.preventDefault();
            const body = draft.trim();
            if (!body) return;
            void run(async () => {
              await editMessage(m, body);
              setEditing(false);
            });
          }}
        >
          <label for={`${m.id}-edit`} class="visually-hidden">
            {t('msg.edit.label')}
          </label>
          <textarea
            id={`${m.id}-edit`}
            ref={editRef}
            value={draft}
            onInput={(e) => setDraft((e.currentTarget as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') {
                e.stopPropagation();
                setEditing(false);
              } else if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                (e.currentTarget as HTMLTextAreaElement).form?.requestSubmit();
              }
            }}
          />
          <div class="actions">
            <button type="button" class="btn btn-small" onClick={() => setEditing(false)}>
              {t('common.cancel')}
            </button>
            <button type="submit" class="btn btn-small btn-primary">
              {t('common.save')}
            </button>
          </div>
        </form>
      ) : (
        <p class="msg-body">
          <Body text={m.body} usernames={props.usernames} />
        </p>
      )}
      {error && <Alert kind="error">{error}</Alert>}
      {m.urgent && !m.deleted && <UrgentBlock m={m} acks={open.acks[m.id]} people={people} />}
      {!m.deleted && (m.reactions?.length ?? 0) > 0 && (
        <ul class="reactions" aria-label={t('msg.reactions')}>
          {m.reactions!.map((r) => {
            const pressed = r.users.includes(me);
            return (
              <li key={r.emoji}>
                <button
                  type="button"
                  class="reaction"
                  aria-pressed={pressed ? 'true' : 'false'}
                  title={r.users.map((u) => personName(people, u)).join(', ')}
                  onClick={() => void run(() => toggleReaction(m, r.emoji))}
                >
                  <span aria-hidden="true">{r.emoji}</span>
                  <span class="visually-hidden">{t('msg.reaction.label', { emoji: r.emoji, n: r.count })}</span>
                  <span aria-hidden="true" class="reaction-count">
                    {r.count}
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
      {!props.inThread && !m.thread_root && m.reply_count > 0 && (
        <button type="button" class="btn-link thread-link" onClick={() => void openThread(m.id)}>
          {t(m.reply_count === 1 ? 'msg.thread.one' : 'msg.thread.many', { n: m.reply_count })}
        </button>
      )}
      {!m.deleted && !editing && open.conv?.my_role != null && !open.conv.archived && (
        <div class="msg-tools">
          <button
            type="button"
            class="btn-icon msg-more"
            aria-expanded={actions ? 'true' : 'false'}
            aria-controls={actionsId}
            onClick={() => setActions(!actions)}
          >
            <span aria-hidden="true">⋯</span>
            <span class="visually-hidden">{t('msg.actions', { name: author })}</span>
          </button>
          <div class="msg-actions" id={actionsId} hidden={!actions}>
            <div class="emoji-row" role="group" aria-label={t('msg.react')}>
              {EMOJIS.map((e) => (
                <button
                  type="button"
                  key={e}
                  class="btn-icon emoji-btn"
                  aria-label={t('msg.reactWith', { emoji: e })}
                  onClick={() => {
                    setActions(false);
                    void run(() => toggleReaction(m, e));
                  }}
                >
                  {e}
                </button>
              ))}
            </div>
            {!props.inThread && (
              <button
                type="button"
                class="btn btn-small"
                onClick={() => {
                  setActions(false);
                  void openThread(m.thread_root ?? m.id);
                }}
              >
                {t('msg.reply')}
              </button>
            )}
            <button
              type="button"
              class="btn btn-small"
              onClick={() => {
                setActions(false);
                void run(() => togglePin(m));
              }}
            >
              {m.pinned_at ? t('msg.unpin') : t('msg.pin')}
            </button>
            {mine && (
              <button
                type="button"
                class="btn btn-small"
                onClick={() => {
                  setActions(false);
                  setDraft(m.body);
                  setEditing(true);
                }}
              >
                {t('msg.edit')}
              </button>
            )}
            {(mine || owner) && (
              <button
                type="button"
                class="btn btn-small btn-danger"
                onClick={() => {
                  setActions(false);
                  setConfirm(true);
                }}
              >
                {t('msg.delete')}
              </button>
            )}
          </div>
        </div>
      )}
      <ConfirmDialog
        open={confirm}
        title={t('msg.delete.title')}
        confirmLabel={t('msg.delete')}
        danger
        onCancel={() => setConfirm(false)}
        onConfirm={() => {
          setConfirm(false);
          void run(() => deleteMessage(m));
        }}
      >
        <p>{t('msg.delete.text')}</p>
      </ConfirmDialog>
    </article>
  );
}

function Typing(props: { conv: string; people: Record<string, Person> }) {
  const s = useStore(msgs);
  const who = Object.keys(s.typing[props.conv] ?? {}).map((id) => personName(props.people, id));
  const text = !who.length
    ? ''
    : who.length === 1
      ? t('msg.typing.one', { name: who[0] })
      : t('msg.typing.many', { names: who.join(', ') });
  return (
    <p class="typing" aria-live="polite">
      {text}
    </p>
  );
}

function usernamesOf(o: OpenConv, people: Record<string, Person>): Set<string> {
  const set = new Set<string>();
  for (const m of o.members ?? []) set.add(m.username);
  if (!o.members) for (const p of Object.values(people)) set.add(p.username);
  return set;
}

export function ThreadPanel(props: { open: OpenConv; people: Record<string, Person> }) {
  const { open, people } = props;
  const title = useRef<HTMLHeadingElement>(null);
  const root = open.msgs.find((m) => m.id === open.thread);
  const replies = open.msgs.filter((m) => m.thread_root === open.thread);
  const usernames = usernamesOf(open, people);
  useEffect(() => {
    if (!open.focus) title.current?.focus();
  }, [open.thread]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !(e.target as HTMLElement).closest('dialog')) closeThread();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  return (
    <aside class="thread-panel" aria-labelledby="thread-title">
      <header class="thread-head">
        <h2 id="thread-title" ref={title} tabIndex={-1}>
          {t('msg.thread.title')}
        </h2>
        <button type="button" class="btn btn-small" onClick={closeThread}>
          {t('common.close')}
        </button>
      </header>
      <div class="thread-scroll" tabIndex={0} role="region" aria-label={t('msg.thread.title')}>
        {open.threadLoading && !root ? (
          <Spinner />
        ) : (
          root && (
            <>
              <MessageItem m={root} open={open} people={people} usernames={usernames} inThread />
              <p class="thread-count">{t(replies.length === 1 ? 'msg.thread.one' : 'msg.thread.many', { n: replies.length })}</p>
              <ol class="msg-list thread-list">
                {replies.map((m) => (
                  <li key={m.id}>
                    <MessageItem m={m} open={open} people={people} usernames={usernames} inThread />
                  </li>
                ))}
              </ol>
            </>
          )
        )}
      </div>
      {root && open.conv && open.conv.my_role != null && !open.conv.archived && (
        <Composer conv={open.conv} members={open.members} thread={root.id} label={t('msg.thread.reply')} />
      )}
    </aside>
  );
}

function Pins(props: { open: OpenConv; people: Record<string, Person> }) {
  const pins = props.open.pins ?? [];
  return (
    <section class="pins" aria-labelledby="pins-title">
      <h3 id="pins-title">{t('msg.pins.title')}</h3>
      {!pins.length ? (
        <p class="muted">{t('msg.pins.none')}</p>
      ) : (
        <ul>
          {pins.map((m) => (
            <li key={m.id}>
              <span class="pin-author">{personName(props.people, m.author_id)}</span> <span class="pin-body">{m.body}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function ConversationView(props: { open: OpenConv; people: Record<string, Person>; convs: Conversation[] | null }) {
  const { open, people } = props;
  const conv = open.conv;
  const scroller = useRef<HTMLDivElement>(null);
  const composer = useRef<HTMLTextAreaElement>(null);
  const title = useRef<HTMLHeadingElement>(null);
  const [showPins, setShowPins] = useState(false);
  const [details, setDetails] = useState(false);
  const [invite, setInvite] = useState(false);
  const [joinError, setJoinError] = useState<string | null>(null);
  const stick = useRef(true); // follow new messages while scrolled to the bottom
  const prevHeight = useRef(0);
  const main = open.msgs.filter((m) => !m.thread_root && m.seq >= open.mainFrom);
  const usernames = usernamesOf(open, people);
  const name = conv ? convName(conv, people) : '';
  const peer = conv ? directPeer(conv) : null;

  useEffect(() => {
    stick.current = true;
    setShowPins(false);
    setDetails(false);
  }, [open.id]);

  // Keeps the view at the bottom as messages arrive, and in place when older ones are added.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    if (open.focus) return;
    if (stick.current) el.scrollTop = el.scrollHeight;
    else if (prevHeight.current && el.scrollHeight > prevHeight.current && el.scrollTop < 40)
      el.scrollTop += el.scrollHeight - prevHeight.current;
    prevHeight.current = el.scrollHeight;
  });

  if (open.loading)
    return (
      <div class="conv conv-loading">
        <Spinner />
      </div>
    );
  if (open.error && !conv)
    return (
      <div class="conv">
        <Alert kind="error">{open.error === 'conversation_not_found' ? t('msg.conv.notFound') : t('error.network')}</Alert>
        <Link href="/messages" class="btn">
          {t('msg.back')}
        </Link>
      </div>
    );
  if (!conv) return null;
  const isMember = conv.my_role != null && !open.gone;

  return (
    <div class="conv" data-conv={conv.id}>
      <header class="conv-head">
        <Link href="/messages" class="btn btn-small conv-back">
          <span aria-hidden="true">←</span>
          <span class="conv-back-text">{t('msg.back')}</span>
        </Link>
        <div class="conv-title-wrap">
          <h2 id="conv-title" ref={title} tabIndex={-1} class="conv-title">
            {peer && <PresenceDot person={people[peer]} />}
            {conv.kind === 'channel' && (
              <span class="conv-sigil" aria-hidden="true">
                {conv.visibility === 'private' ? '🔒' : '#'}
              </span>
            )}
            <span>{name}</span>
          </h2>
          <p class="conv-sub">
            {peer
              ? [presenceLabel(people[peer]?.presence?.status), people[peer]?.presence?.text].filter(Boolean).join(' · ')
              : `${conv.topic ? `${conv.topic} · ` : ''}${t('msg.conv.members', { n: conv.members_count })}`}
          </p>
        </div>
        <div class="conv-head-actions">
          {isMember && !conv.archived && app.get().me?.permissions.includes('meetings') && (
            <button type="button" class="btn btn-small btn-primary conv-call-btn" onClick={() => startCall(conv.id, name, true)}>
              {t('call.start')}
            </button>
          )}
          {isMember && !conv.archived && app.get().me?.permissions.includes('meetings') && (
            <button type="button" class="btn btn-small conv-invite-btn" aria-haspopup="dialog" onClick={() => setInvite(true)}>
              {t('invite.button')}
            </button>
          )}
          {isMember && (
            <button type="button" class="btn btn-small" aria-expanded={showPins ? 'true' : 'false'} onClick={() => setShowPins(!showPins)}>
              {t('msg.pins.button', { n: open.pins?.length ?? 0 })}
            </button>
          )}
          <button type="button" class="btn btn-small conv-details-btn" aria-haspopup="dialog" onClick={() => setDetails(true)}>
            {t('msg.details.button')}
          </button>
        </div>
      </header>
      {conv.archived && (
        <p class="conv-archived-banner" role="status">
          {t('msg.conv.archived')}
        </p>
      )}
      {showPins && <Pins open={open} people={people} />}
      {open.gone && <Alert kind="warning">{t('msg.conv.gone')}</Alert>}
      {open.error && <Alert kind="error">{t('error.network')}</Alert>}
      <div
        class="conv-scroll"
        ref={scroller}
        tabIndex={0}
        role="log"
        aria-label={t('msg.history', { name })}
        onScroll={(e) => {
          const el = e.currentTarget as HTMLDivElement;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 60;
        }}
      >
        {open.hasOlder && (
          <div class="older">
            <button type="button" class="btn btn-small" disabled={open.loadingOlder} onClick={() => void loadOlder()}>
              {open.loadingOlder ? t('common.loading') : t('msg.older')}
            </button>
          </div>
        )}
        {isMember && !main.length && <p class="muted conv-empty">{t('msg.conv.empty')}</p>}
        <ol class="msg-list">
          {main.map((m) => (
            <li key={m.id}>
              <MessageItem m={m} open={open} people={people} usernames={usernames} />
            </li>
          ))}
        </ol>
      </div>
      <Typing conv={conv.id} people={people} />
      {isMember && !conv.archived && (
        <Composer
          conv={conv}
          members={open.members}
          label={t('msg.composer.label', { name })}
          allowUrgent
          inputRef={composer}
        />
      )}
      {details && !open.gone && <DetailsDialog open={open} people={people} onClose={() => setDetails(false)} />}
      {invite && !open.gone && <InviteDialog conversationId={conv.id} onClose={() => setInvite(false)} />}
      {!isMember && !open.gone && (
        <div class="join-bar">
          {joinError && <Alert kind="error">{joinError}</Alert>}
          <p>{t('msg.join.text')}</p>
          <button
            type="button"
            class="btn btn-primary"
            onClick={async () => {
              try {
                await joinChannel(conv.id);
              } catch (e) {
                setJoinError(errorText(e));
              }
            }}
          >
            {t('msg.join')}
          </button>
        </div>
      )}
    </div>
  );
}
