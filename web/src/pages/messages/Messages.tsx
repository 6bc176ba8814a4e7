// The messaging screen: my conversations (channels, then direct and group conversations) with
// unread and mention counts and presence, my own presence, search, new conversations and the
// channel browser on one side; the open conversation (and its thread) on the other. On a phone
// the list and the conversation are two screens (/messages, /messages/<id>).
import { useEffect, useRef, useState } from 'preact/hooks';
import { t } from '../../i18n';
import { app, navigate, takeFocusRequest } from '../../lib/app';
import { api } from '../../lib/api';
import { useStore } from '../../lib/store';
import { Alert, Field, Link, Spinner } from '../../components/ui';
import { errorText } from '../Login';
import type { Conversation, Person, PresenceStatus, SearchResult } from './types';
import { CHOOSABLE } from './types';
import {
  msgs,
  startMessaging,
  openConversation,
  closeConversation,
  createConversation,
  joinChannel,
  setPresence,
} from './state';
import { Badge, PresenceDot, Snippet, convName, directPeer, personName, presenceLabel, when } from './bits';
import { ConversationView, ThreadPanel } from './Conversation';
import { Modal, PeoplePicker } from './dialogs';
import { UrgentReminders, urgentTitle } from './Urgent';

// ---- my presence -------------------------------------------------------------------------------

function MyPresence(props: { me: Person | undefined }) {
  const [open, setOpen] = useState(false);
  const status = props.me?.presence?.status ?? 'online';
  const [choice, setChoice] = useState<PresenceStatus>('online');
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <>
      <button
        type="button"
        class="btn btn-small my-presence"
        onClick={() => {
          setChoice(status === 'offline' ? 'online' : status);
          setText(props.me?.presence?.text ?? '');
          setError(null);
          setOpen(true);
        }}
      >
        <PresenceDot status={status} />
        <span>{presenceLabel(status)}</span>
        <span class="visually-hidden"> — {t('presence.change')}</span>
      </button>
      {open && (
        <Modal title={t('presence.title')} onClose={() => setOpen(false)}>
          <form
            class="stack"
            onSubmit={async (e) => {
              e.preventDefault();
              setBusy(true);
              try {
                await setPresence(choice, text);
                setOpen(false);
              } catch (err) {
                setError(errorText(err));
              } finally {
                setBusy(false);
              }
            }}
          >
            {error && <Alert kind="error">{error}</Alert>}
            <fieldset class="radio-list">
              <legend>{t('presence.status')}</legend>
              {CHOOSABLE.map((s) => (
                <div class="check" key={s}>
                  <input type="radio" name="presence" id={`presence-${s}`} value={s} checked={choice === s} onChange={() => setChoice(s)} />
                  <label for={`presence-${s}`}>
                    <PresenceDot status={s} /> {presenceLabel(s)}
                  </label>
                </div>
              ))}
            </fieldset>
            <Field id="presence-text" label={t('presence.text')} hint={t('presence.text.hint')} value={text} onValue={setText} maxLength={100} autoComplete="off" />
            <div class="actions">
              <button type="button" class="btn" onClick={() => setOpen(false)}>
                {t('common.cancel')}
              </button>
              <button type="submit" class="btn btn-primary" disabled={busy}>
                {t('common.save')}
              </button>
            </div>
          </form>
        </Modal>
      )}
    </>
  );
}

// ---- new conversations -------------------------------------------------------------------------

function NewConversation(props: { kind: 'direct' | 'group' | 'channel'; onClose: () => void }) {
  const [chosen, setChosen] = useState<Person[]>([]);
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [priv, setPriv] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [nameError, setNameError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const { kind } = props;

  async function create(people: Person[]) {
    setError(null);
    if (kind === 'channel' && !name.trim()) {
      setNameError(t('msg.new.name.required'));
      return;
    }
    if (kind !== 'channel' && !people.length) {
      setError(t('msg.new.choose'));
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, unknown> = { kind, members: people.map((p) => p.id) };
      if (kind === 'channel') {
        body.name = name.trim();
        if (topic.trim()) body.topic = topic.trim();
        body.visibility = priv ? 'private' : 'public';
      } else if (kind === 'group' && name.trim()) body.name = name.trim();
      const c = await createConversation(body);
      props.onClose();
      navigate(`/messages/${c.id}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const title = kind === 'direct' ? t('msg.new.direct') : kind === 'group' ? t('msg.new.group') : t('msg.new.channel');
  return (
    <Modal title={title} onClose={props.onClose} wide>
      <form
        class="stack"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void create(chosen);
        }}
      >
        {error && <Alert kind="error">{error}</Alert>}
        {kind !== 'direct' && (
          <Field
            id="conv-name"
            label={kind === 'channel' ? t('msg.new.name') : t('msg.new.groupName')}
            value={name}
            onValue={(v) => {
              setName(v);
              setNameError(null);
            }}
            maxLength={80}
            error={nameError}
            autoComplete="off"
            required={kind === 'channel'}
          />
        )}
        {kind === 'channel' && (
          <>
            <Field id="conv-topic" label={t('msg.new.topic')} value={topic} onValue={setTopic} maxLength={250} autoComplete="off" />
            <div class="check">
              <input type="checkbox" id="conv-private" checked={priv} onChange={(e) => setPriv((e.currentTarget as HTMLInputElement).checked)} />
              <label for="conv-private">{t('msg.new.private')}</label>
            </div>
          </>
        )}
        {kind === 'direct' ? (
          <PeoplePicker multiple={false} chosen={chosen} onChosen={(p) => void create(p)} label={t('msg.new.find')} />
        ) : (
          <>
            <PeoplePicker multiple chosen={chosen} onChosen={setChosen} label={kind === 'channel' ? t('msg.new.invite') : t('msg.new.find')} />
            <p class="muted" role="status">
              {chosen.length ? t('msg.new.chosen', { names: chosen.map((p) => p.display_name).join(', ') }) : ''}
            </p>
          </>
        )}
        <div class="actions">
          <button type="button" class="btn" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          {kind !== 'direct' && (
            <button type="submit" class="btn btn-primary" disabled={busy}>
              {t('msg.new.create')}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}

function BrowseChannels(props: { onClose: () => void }) {
  const [list, setList] = useState<Conversation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api<{ conversations: Conversation[] }>('GET', '/api/v1/conversations?discover=public').then(
      (r) => setList(r.conversations),
      (e) => setError(errorText(e)),
    );
  }, []);
  return (
    <Modal title={t('msg.browse.title')} onClose={props.onClose} wide>
      {error && <Alert kind="error">{error}</Alert>}
      {!list && !error ? (
        <Spinner />
      ) : !list?.length ? (
        <p class="muted">{t('msg.browse.none')}</p>
      ) : (
        <ul class="channel-list">
          {list.map((c) => (
            <li key={c.id}>
              <div>
                <p class="channel-name"># {c.name}</p>
                <p class="muted">
                  {c.topic ? `${c.topic} · ` : ''}
                  {t('msg.conv.members', { n: c.members_count })}
                </p>
              </div>
              <button
                type="button"
                class="btn btn-small btn-primary"
                aria-label={t('msg.join.named', { name: c.name ?? '' })}
                onClick={async () => {
                  try {
                    await joinChannel(c.id);
                    props.onClose();
                    navigate(`/messages/${c.id}`);
                  } catch (e) {
                    setError(errorText(e));
                  }
                }}
              >
                {t('msg.join')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="btn" onClick={props.onClose}>
          {t('common.close')}
        </button>
      </div>
    </Modal>
  );
}

// ---- search ------------------------------------------------------------------------------------

function SearchResults(props: { results: SearchResult[]; people: Record<string, Person>; convs: Conversation[] | null; onOpen: () => void }) {
  return (
    <ul class="search-results">
      {props.results.map((r) => {
        const c = props.convs?.find((x) => x.id === r.conversation.id);
        const where = c ? convName(c, props.people) : (r.conversation.name ?? '');
        return (
          <li key={r.message.id}>
            <Link
              href={`/messages/${r.conversation.id}`}
              class="search-result"
              onClick={(e) => {
                e.preventDefault();
                props.onOpen();
                navigate(`/messages/${r.conversation.id}`);
                void openConversation(r.conversation.id, { id: r.message.id, seq: r.message.seq, thread: r.message.thread_root });
              }}
            >
              <span class="search-where">
                {r.conversation.kind === 'channel' ? '# ' : ''}
                {where}
              </span>
              <span class="search-meta">
                {personName(props.people, r.message.author_id)} · {when(r.message.created_at)}
              </span>
              <span class="search-snippet">
                <Snippet text={r.snippet} />
              </span>
            </Link>
          </li>
        );
      })}
    </ul>
  );
}

// ---- the list ----------------------------------------------------------------------------------

function ConvItem(props: { c: Conversation; people: Record<string, Person>; current: boolean; typing: boolean }) {
  const { c, people } = props;
  const name = convName(c, people);
  const peer = directPeer(c);
  const unread = c.unread ?? 0;
  const mentions = c.mentions ?? 0;
  return (
    <li>
      <Link
        href={`/messages/${c.id}`}
        class={`conv-link${unread ? ' conv-unread' : ''}`}
        aria-current={props.current ? 'page' : undefined}
        data-conv={c.id}
      >
        <span class="conv-icon">
          {peer ? (
            <PresenceDot person={people[peer]} />
          ) : c.kind === 'channel' ? (
            <span aria-hidden="true">{c.visibility === 'private' ? '🔒' : '#'}</span>
          ) : (
            <span aria-hidden="true" class="group-icon">
              {c.members_count}
            </span>
          )}
        </span>
        <span class="conv-name">
          {c.kind === 'channel' && c.visibility === 'private' && <span class="visually-hidden">{t('msg.conv.private')} </span>}
          {c.kind === 'group' && <span class="visually-hidden">{t('msg.conv.group')} </span>}
          {name}
          {props.typing && <span class="conv-typing"> {t('msg.typing.short')}</span>}
        </span>
        <Badge n={mentions} kind="mention" label={t('msg.badge.mentions', { n: mentions })} />
        <Badge n={unread} kind="unread" label={t('msg.badge.unread', { n: unread })} />
      </Link>
    </li>
  );
}

export function MessagesPage(props: { conv?: string }) {
  const s = useStore(msgs);
  const { me: account } = app.get();
  const h1 = useRef<HTMLHeadingElement>(null);
  const [dialog, setDialog] = useState<null | 'direct' | 'group' | 'channel' | 'browse'>(null);
  const [q, setQ] = useState('');
  const [results, setResults] = useState<{ q: string; list: SearchResult[]; more: boolean } | null>(null);
  const [searchError, setSearchError] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);
  const site = app.get().info.name;

  useEffect(() => {
    startMessaging();
    if (takeFocusRequest()) h1.current?.focus();
  }, []);
  useEffect(() => {
    if (props.conv) void openConversation(props.conv);
    else closeConversation();
  }, [props.conv]);

  const open = s.open && s.open.id === props.conv ? s.open : null;
  const openName = open?.conv ? convName(open.conv, s.people) : '';
  const pending = Object.keys(s.urgent).length;
  useEffect(() => {
    document.title = `${urgentTitle(pending)}${openName ? `${openName} · ` : ''}${t('nav.messages')} · ${site}`;
  }, [openName, site, pending]);
  const reminded = Object.values(s.urgent).some((u) => u.reminder > 0);

  const channels = (s.convs ?? []).filter((c) => c.kind === 'channel');
  const others = (s.convs ?? []).filter((c) => c.kind !== 'channel');
  const typingIn = (id: string) => Object.keys(s.typing[id] ?? {}).length > 0;

  async function search(e: Event) {
    e.preventDefault();
    const query = q.trim();
    if (!query) {
      setResults(null);
      return;
    }
    setSearching(true);
    setSearchError(null);
    try {
      const r = await api<{ results: SearchResult[]; has_more: boolean }>('GET', `/api/v1/search?q=${encodeURIComponent(query)}&limit=30`);
      setResults({ q: query, list: r.results, more: r.has_more });
    } catch (err) {
      setSearchError(errorText(err));
    } finally {
      setSearching(false);
    }
  }

  const list = (title: string, id: string, items: Conversation[], empty: string) => (
    <section class="conv-section" aria-labelledby={id}>
      <h2 id={id} class="conv-section-title">
        {title}
      </h2>
      {items.length ? (
        <ul class="conv-list">
          {items.map((c) => (
            <ConvItem key={c.id} c={c} people={s.people} current={c.id === props.conv} typing={typingIn(c.id)} />
          ))}
        </ul>
      ) : (
        <p class="muted conv-none">{empty}</p>
      )}
    </section>
  );

  return (
    <div class={`msg-layout${props.conv ? ' has-conv' : ''}${open?.thread ? ' has-thread' : ''}${reminded ? ' has-urgent' : ''}`}>
      <UrgentReminders urgent={s.urgent} people={s.people} convs={s.convs} />
      <div class="msg-side">
        <div class="msg-side-head">
          <h1 ref={h1} tabIndex={-1} class="page-title msg-h1">
            {t('nav.messages')}
          </h1>
          <MyPresence me={account ? s.people[account.user.id] : undefined} />
        </div>
        <form role="search" class="msg-search" onSubmit={search} aria-label={t('msg.search.label')}>
          <label for="msg-q" class="visually-hidden">
            {t('msg.search.label')}
          </label>
          <input id="msg-q" type="search" value={q} placeholder={t('msg.search.placeholder')} autoComplete="off" onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
          <button type="submit" class="btn btn-small" disabled={searching}>
            {t('msg.search.submit')}
          </button>
        </form>
        <div class="msg-new" role="group" aria-label={t('msg.new.label')}>
          <button type="button" class="btn btn-small" onClick={() => setDialog('direct')}>
            {t('msg.new.direct')}
          </button>
          <button type="button" class="btn btn-small" onClick={() => setDialog('group')}>
            {t('msg.new.group')}
          </button>
          <button type="button" class="btn btn-small" onClick={() => setDialog('channel')}>
            {t('msg.new.channel')}
          </button>
          <button type="button" class="btn btn-small" onClick={() => setDialog('browse')}>
            {t('msg.browse')}
          </button>
        </div>
        {searchError && <Alert kind="error">{searchError}</Alert>}
        {results ? (
          <section class="conv-section" aria-labelledby="results-h">
            <div class="results-head">
              <h2 id="results-h" class="conv-section-title">
                {t('msg.search.results', { q: results.q })}
              </h2>
              <button
                type="button"
                class="btn btn-small"
                onClick={() => {
                  setResults(null);
                  setQ('');
                }}
              >
                {t('msg.search.clear')}
              </button>
            </div>
            <p class="muted" role="status">
              {results.list.length ? t('msg.search.count', { n: results.list.length }) : t('msg.search.none')}
            </p>
            <SearchResults results={results.list} people={s.people} convs={s.convs} onOpen={() => undefined} />
          </section>
        ) : (
          <nav class="conv-nav" aria-label={t('msg.conversations')}>
            {s.listError && <Alert kind="error">{t('error.network')}</Alert>}
            {!s.convs && !s.listError ? (
              <Spinner />
            ) : (
              <>
                {list(t('msg.channels'), 'channels-h', channels, t('msg.channels.none'))}
                {list(t('msg.directs'), 'directs-h', others, t('msg.directs.none'))}
              </>
            )}
          </nav>
        )}
      </div>
      <section class="msg-main" aria-label={openName || t('msg.noConv.title')}>
        {open ? (
          <ConversationView open={open} people={s.people} convs={s.convs} />
        ) : (
          <div class="msg-empty">
            <p class="empty-title">{t('msg.noConv.title')}</p>
            <p class="muted">{t('msg.noConv.text')}</p>
          </div>
        )}
      </section>
      {open?.thread && <ThreadPanel open={open} people={s.people} />}
      {dialog === 'browse' && <BrowseChannels onClose={() => setDialog(null)} />}
      {dialog && dialog !== 'browse' && <NewConversation kind={dialog} onClose={() => setDialog(null)} />}
    </div>
  );
}

