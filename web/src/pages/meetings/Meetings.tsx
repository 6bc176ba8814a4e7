// Meetings: the ones planned for me (join, cancel mine), the standing rooms of my departments'
// channels (join at any time), and planning one (title, day and time, length, invitees found in
// the directory, agenda). A meeting is held in its conversation's video meeting.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../../lib/api';
import { app, events } from '../../lib/app';
import { startCall } from '../../lib/calls';
import { InviteDialog } from '../messages/Invite';
import { t, formatDate, formatTime } from '../../i18n';
import { Page, Alert, Link } from '../../components/ui';

interface Meeting {
  id: string;
  conversation_id: string;
  title: string;
  agenda?: string;
  start: number;
  end: number;
  created_by: string;
}
interface Conv {
  id: string;
  kind: string;
  name?: string;
  archived?: boolean;
}
interface Person {
  id: string;
  display_name: string;
  username: string;
}

function PlanForm(props: { onDone: () => void }) {
  const me = app.get().me!;
  const [title, setTitle] = useState('');
  const [day, setDay] = useState(new Date().toLocaleDateString('en-CA'));
  const [time, setTime] = useState('');
  const [minutes, setMinutes] = useState(30);
  const [agenda, setAgenda] = useState('');
  const [q, setQ] = useState('');
  const [found, setFound] = useState<Person[]>([]);
  const [invitees, setInvitees] = useState<Person[]>([]);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!q.trim()) return setFound([]);
    const id = setTimeout(() => {
      api<{ people: Person[] }>('GET', `/api/v1/directory?q=${encodeURIComponent(q)}&limit=8`)
        .then((r) => setFound(r.people.filter((p) => p.id !== me.user.id && !invitees.some((i) => i.id === p.id))))
        .catch(() => setFound([]));
    }, 200);
    return () => clearTimeout(id);
  }, [q, invitees]);
  const submit = async (e: Event) => {
    e.preventDefault();
    const start = new Date(`${day}T${time}`).getTime();
    if (!title.trim() || !time || Number.isNaN(start) || !invitees.length) return setError(t('meet.plan.missing'));
    setBusy(true);
    setError('');
    try {
      await api('POST', '/api/v1/meetings', { title: title.trim(), start, end: start + minutes * 60000, agenda: agenda.trim() || undefined, invitees: invitees.map((i) => i.id) });
      props.onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : t('error.network'));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="meet-plan" onSubmit={(e) => void submit(e)} aria-labelledby="meet-plan-h">
      <h2 id="meet-plan-h">{t('meet.plan.title')}</h2>
      {error && <Alert kind="error">{error}</Alert>}
      <label class="field">
        <span>{t('meet.plan.name')}</span>
        <input type="text" maxLength={200} value={title} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
      </label>
      <div class="meet-plan-when">
        <label class="field">
          <span>{t('meet.plan.day')}</span>
          <input type="date" value={day} onInput={(e) => setDay((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>{t('meet.plan.time')}</span>
          <input type="time" value={time} onInput={(e) => setTime((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span>{t('meet.plan.length')}</span>
          <select value={minutes} onChange={(e) => setMinutes(Number((e.target as HTMLSelectElement).value))}>
            {[15, 30, 45, 60, 90, 120].map((m) => (
              <option key={m} value={m}>
                {t('meet.plan.minutes', { n: m })}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label class="field">
        <span>{t('meet.plan.invite')}</span>
        <input type="search" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} placeholder={t('meet.plan.search')} />
      </label>
      {found.length > 0 && (
        <ul class="meet-found">
          {found.map((p) => (
            <li key={p.id}>
              <button type="button" class="btn btn-small" onClick={() => (setInvitees([...invitees, p]), setQ(''))}>
                {t('meet.plan.add', { name: p.display_name || p.username })}
              </button>
            </li>
          ))}
        </ul>
      )}
      {invitees.length > 0 && (
        <ul class="meet-invitees" aria-label={t('meet.plan.invitees')}>
          {invitees.map((p) => (
            <li key={p.id}>
              {p.display_name || p.username}{' '}
              <button type="button" class="btn btn-small" onClick={() => setInvitees(invitees.filter((i) => i.id !== p.id))}>
                {t('meet.plan.drop', { name: p.display_name || p.username })}
              </button>
            </li>
          ))}
        </ul>
      )}
      <label class="field">
        <span>{t('meet.plan.agenda')}</span>
        <textarea rows={3} maxLength={4000} value={agenda} onInput={(e) => setAgenda((e.target as HTMLTextAreaElement).value)} />
      </label>
      <p>
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {t('meet.plan.save')}
        </button>
      </p>
    </form>
  );
}

export function MeetingsPage() {
  const me = app.get().me!;
  const [list, setList] = useState<Meeting[] | null>(null);
  const [rooms, setRooms] = useState<Conv[]>([]);
  const [planning, setPlanning] = useState(false);
  const [error, setError] = useState('');
  const load = () => {
    api<{ meetings: Meeting[] }>('GET', '/api/v1/meetings')
      .then((r) => setList(r.meetings))
      .catch((e) => setError(e instanceof ApiError ? e.message : t('error.network')));
    api<{ conversations: Conv[] }>('GET', '/api/v1/conversations')
      .then((r) => setRooms(r.conversations.filter((c) => c.kind === 'channel' && !c.archived)))
      .catch(() => setRooms([]));
  };
  useEffect(() => {
    load();
    const offs = ['meeting.scheduled', 'meeting.cancelled'].map((e) => events.on(e, () => load()));
    return () => offs.forEach((o) => o());
  }, []);
  const [inviting, setInviting] = useState('');
  const cancel = async (m: Meeting) => {
    try {
      await api('POST', `/api/v1/meetings/${m.id}/cancel`);
      load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t('error.network'));
    }
  };
  return (
    <Page title={t('nav.meetings')} class="meet">
      {error && <Alert kind="error">{error}</Alert>}
      {inviting && <InviteDialog conversationId={inviting} onClose={() => setInviting('')} />}
      <section aria-labelledby="meet-next-h">
        <h2 id="meet-next-h">{t('meet.next')}</h2>
        {!list ? (
          <p>{t('common.loading')}</p>
        ) : list.length === 0 ? (
          <p class="muted">{t('meet.none')}</p>
        ) : (
          <ul class="meet-list">
            {list.map((m) => (
              <li key={m.id} class="meet-card">
                <p class="meet-card-title">{m.title}</p>
                <p>
                  {formatDate(m.start)} · {formatTime(m.start)}–{formatTime(m.end)} ·{' '}
                  <Link href={`/messages/${m.conversation_id}`}>{t('meet.conversation')}</Link>
                </p>
                {m.agenda && <p class="meet-agenda">{m.agenda}</p>}
                <p class="meet-actions">
                  <button type="button" class="btn btn-primary" onClick={() => startCall(m.conversation_id, m.title, false)}>
                    {t('meet.join')}
                  </button>
                  <button type="button" class="btn meet-invite" aria-haspopup="dialog" onClick={() => setInviting(m.conversation_id)}>
                    {t('invite.button')}
                  </button>
                  {m.created_by === me.user.id && (
                    <button type="button" class="btn" onClick={() => void cancel(m)}>
                      {t('meet.cancel')}
                    </button>
                  )}
                </p>
              </li>
            ))}
          </ul>
        )}
        {planning ? (
          <PlanForm onDone={() => (setPlanning(false), load())} />
        ) : (
          <p>
            <button type="button" class="btn btn-primary" onClick={() => setPlanning(true)}>
              {t('meet.plan.open')}
            </button>
          </p>
        )}
      </section>
      <section aria-labelledby="meet-rooms-h">
        <h2 id="meet-rooms-h">{t('meet.rooms')}</h2>
        <p class="muted">{t('meet.rooms.lead')}</p>
        {rooms.length === 0 ? (
          <p class="muted">{t('meet.rooms.none')}</p>
        ) : (
          <ul class="meet-rooms">
            {rooms.map((c) => (
              <li key={c.id}>
                <span>#{c.name}</span>
                <button type="button" class="btn" onClick={() => startCall(c.id, `#${c.name}`, false)}>
                  {t('meet.rooms.join')}
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
    </Page>
  );
}
