// The day's teleconsultations: each patient's state (not arrived / waiting since hh:mm / in call /
// done / no-show), live from appointment.updated events, a notice the moment a patient enters the
// waiting room, and the actions the server allows: admit, end with the report, no-show, send the
// link again. A practitioner sees their own day; a secretary or nurse everyone's.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../lib/api';
import { app, events } from '../../lib/app';
import { t, formatTime, formatDate, type Key } from '../../i18n';
import { Page, Alert, Live, ConfirmDialog } from '../../components/ui';
import { Call, eventTransport } from '../../lib/call';
import { CallPanel } from '../../components/call/CallPanel';

interface Appointment {
  id: string;
  status: string;
  state: 'scheduled' | 'waiting' | 'in_call' | 'done' | 'no_show';
  start: number;
  end: number;
  practitioner_id?: string;
  practitioner?: string;
  consent: boolean;
  patient: { family?: string; given?: string; birth_date?: string };
  waiting_since?: number;
  admitted_at?: number;
  ended_at?: number;
  notice_at?: number;
}

interface Undelivered {
  id: string;
  appointment_id: string;
  kind: 'invite' | 'update' | 'cancel';
  channel: 'email' | 'sms';
  state: 'pending' | 'sending' | 'failed';
  attempts: number;
  last_error?: string;
  start: number;
  patient_family?: string;
  patient_given?: string;
}

// For the secretariat: the patient messages that have not gone, so that someone calls instead.
function UndeliveredPanel() {
  const [list, setList] = useState<Undelivered[] | null>(null);
  useEffect(() => {
    const load = () =>
      api<{ undelivered: Undelivered[] }>('GET', '/api/v1/care/outbox')
        .then((r) => setList(r.undelivered))
        .catch(() => setList(null));
    void load();
    const id = setInterval(load, 60000);
    return () => clearInterval(id);
  }, []);
  if (!list || list.length === 0) return null;
  return (
    <section class="care-undelivered" aria-labelledby="care-undelivered-h">
      <h2 id="care-undelivered-h">{t('care.undelivered.title')}</h2>
      <p>{t('care.undelivered.lead')}</p>
      <ul>
        {list.map((u) => (
          <li key={u.id}>
            <strong>{[u.patient_given, u.patient_family].filter(Boolean).join(' ')}</strong>{' '}
            — {t(`care.undelivered.${u.kind}` as Key)} ({u.channel === 'sms' ? 'SMS' : t('care.undelivered.email')}),{' '}
            {t('care.undelivered.for', { date: formatDate(u.start), time: formatTime(u.start) })}{' '}
            — {t(u.state === 'failed' ? 'care.undelivered.failed' : 'care.undelivered.retrying', { n: u.attempts })}
            {u.last_error && <span class="care-undelivered-error"> ({u.last_error})</span>}
          </li>
        ))}
      </ul>
    </section>
  );
}

const today = () => new Date().toLocaleDateString('en-CA'); // YYYY-MM-DD, the browser's day
const who = (a: Appointment) => [a.patient.given, a.patient.family].filter(Boolean).join(' ');

function StateBadge(props: { a: Appointment; now: number }) {
  const { a } = props;
  let text = t(`care.state.${a.state}` as Key);
  if (a.state === 'waiting' && a.waiting_since)
    text = t('care.state.waitingSince', { time: formatTime(a.waiting_since), minutes: Math.max(0, Math.floor((props.now - a.waiting_since) / 60000)) });
  return <span class={`care-state care-state-${a.state}`}>{text}</span>;
}

export function AgendaPage() {
  const me = app.get().me!;
  const [day, setDay] = useState(today());
  const [list, setList] = useState<Appointment[] | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [now, setNow] = useState(Date.now());
  const [ending, setEnding] = useState<Appointment | null>(null);
  const [act, setAct] = useState('TC');
  const [incidents, setIncidents] = useState('');
  const [busy, setBusy] = useState(false);
  const [inviting, setInviting] = useState<Appointment | null>(null);
  const [guestRole, setGuestRole] = useState<'relative' | 'interpreter'>('relative');
  const [guestLabel, setGuestLabel] = useState('');
  const [guestUrl, setGuestUrl] = useState('');
  const [telling, setTelling] = useState<Appointment | null>(null);
  const [word, setWord] = useState('');
  const known = useRef(new Map<string, string>());
  // The video call of one consultation at a time: opened by the admit, or by "join" later.
  const [call, setCall] = useState<{ call: Call; a: Appointment } | null>(null);
  const startCall = (a: Appointment) => {
    void call?.call.leave();
    const c = new Call(eventTransport(events), { consultation: a.id });
    setCall({ call: c, a });
    void c.join();
  };
  useEffect(() => () => void call?.call.leave(), [call]);

  const load = async () => {
    try {
      const r = await api<{ appointments: Appointment[] }>('GET', `/api/v1/care/agenda?date=${day}`);
      setList(r.appointments);
      setError('');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t('error.network'));
    }
  };
  useEffect(() => {
    void load();
  }, [day]);
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 30000);
    // Live: a change of any consultation re-reads the day; a patient who has just arrived in the
    // waiting room is announced (for the practitioner: their own patients only).
    const off = events.on('appointment.updated', (e) => {
      const d = e.data as unknown as { id: string; state: string; practitioner_id?: string; patient?: { family?: string; given?: string } };
      const before = known.current.get(d.id);
      known.current.set(d.id, d.state);
      if (d.state === 'waiting' && before !== 'waiting' && (me.user.role !== 'practitioner' || d.practitioner_id === me.user.id)) {
        const name = [d.patient?.given, d.patient?.family].filter(Boolean).join(' ');
        const text = t('care.arrived', { name });
        setNotice(text);
        if ('Notification' in window && Notification.permission === 'granted') new Notification(text);
      }
      void load();
    });
    return () => {
      clearInterval(tick);
      off();
    };
  }, [day]);
  useEffect(() => {
    for (const a of list ?? []) known.current.set(a.id, a.state);
    // The consultation ended (here or elsewhere): its call is over.
    const now = call && list?.find((a) => a.id === call.a.id);
    if (call && now && now.state !== 'in_call') setCall(null);
  }, [list]);

  const action = async (a: Appointment, what: 'admit' | 'noshow' | 'resend' | 'end' | 'notice', body?: unknown) => {
    setBusy(true);
    try {
      await api('POST', `/api/v1/care/appointments/${a.id}/${what}`, body);
      if (what === 'resend') setNotice(t('care.resent', { name: who(a) }));
      if (what === 'notice') setNotice(t('care.word.sent', { name: who(a) }));
      if (what === 'admit') {
        setNotice('');
        startCall(a);
      }
      await load();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : t('error.network'));
    } finally {
      setBusy(false);
    }
  };

  const addGuest = async () => {
    const a = inviting!;
    setBusy(true);
    try {
      const r = await api<{ url: string }>('POST', `/api/v1/care/appointments/${a.id}/links`, { role: guestRole, label: guestLabel.trim() });
      setGuestUrl(r.url);
    } catch (e) {
      setInviting(null);
      setError(e instanceof ApiError ? e.message : t('error.network'));
    } finally {
      setBusy(false);
    }
  };

  const mine = (a: Appointment) => a.practitioner_id === me.user.id;
  return (
    <Page title={t('care.title')} class="care">
      <div class="care-bar">
        <label>
          {t('care.day')}{' '}
          <input type="date" value={day} onChange={(e) => setDay((e.target as HTMLInputElement).value || today())} />
        </label>
        {'Notification' in window && Notification.permission === 'default' && (
          <button type="button" class="btn" onClick={() => void Notification.requestPermission()}>
            {t('care.notify')}
          </button>
        )}
      </div>
      <div role="alert" class="care-notice">
        {notice && <Alert kind="info">{notice}</Alert>}
      </div>
      {error && <Alert kind="error">{error}</Alert>}
      {call && (
        <section class="care-call" aria-labelledby="care-call-h">
          <h2 id="care-call-h">{t('care.call.with', { name: who(call.a) })}</h2>
          <CallPanel call={call.call} waitingFor={who(call.a)} onLeave={() => setCall(null)} full />
        </section>
      )}
      {!list ? (
        <p>{t('common.loading')}</p>
      ) : list.length === 0 ? (
        <p>{t('care.empty', { date: formatDate(Date.parse(`${day}T12:00:00`)) })}</p>
      ) : (
        <div class="care-scroll">
        <table class="table care-table">
          <caption class="visually-hidden">{t('care.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('care.col.time')}</th>
              <th scope="col">{t('care.col.patient')}</th>
              {me.user.role !== 'practitioner' && <th scope="col">{t('care.col.practitioner')}</th>}
              <th scope="col">{t('care.col.state')}</th>
              <th scope="col">{t('care.col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} class={a.state === 'waiting' ? 'care-row-waiting' : ''}>
                <td data-label={t('care.col.time')}>
                  {formatTime(a.start)}–{formatTime(a.end)}
                </td>
                <th scope="row">
                  {who(a)}
                  {a.patient.birth_date && <span class="care-birth"> ({a.patient.birth_date})</span>}
                </th>
                {me.user.role !== 'practitioner' && <td data-label={t('care.col.practitioner')}>{a.practitioner}</td>}
                <td data-label={t('care.col.state')}>
                  <Live>
                    <StateBadge a={a} now={now} />
                  </Live>
                  {a.notice_at && (a.state === 'scheduled' || a.state === 'waiting') && (
                    <span class="care-word-sent"> {t('care.word.at', { time: formatTime(a.notice_at) })}</span>
                  )}
                </td>
                <td class="care-actions">
                  {a.state === 'waiting' && mine(a) && (
                    <button type="button" class="btn btn-primary" disabled={busy} onClick={() => void action(a, 'admit')}>
                      {t('care.admit', { name: who(a) })}
                    </button>
                  )}
                  {a.state === 'in_call' && mine(a) && call?.a.id !== a.id && (
                    <button type="button" class="btn btn-primary" onClick={() => startCall(a)}>
                      {t('care.call.join')}
                    </button>
                  )}
                  {a.state === 'in_call' && mine(a) && (
                    <button type="button" class="btn" disabled={busy} onClick={() => setEnding(a)}>
                      {t('care.end')}
                    </button>
                  )}
                  {(a.state === 'scheduled' || a.state === 'waiting') && (mine(a) || me.user.role === 'secretary') && (
                    <button type="button" class="btn" disabled={busy} onClick={() => void action(a, 'noshow')}>
                      {t('care.noshow')}
                    </button>
                  )}
                  {(a.state === 'scheduled' || a.state === 'waiting') && (mine(a) || me.user.role === 'secretary') && (
                    <button type="button" class="btn" disabled={busy} onClick={() => {
                      setWord('');
                      setTelling(a);
                    }}>
                      {t('care.word.open')}
                    </button>
                  )}
                  {a.state === 'scheduled' && (mine(a) || me.user.role === 'secretary') && (
                    <button type="button" class="btn" disabled={busy} onClick={() => void action(a, 'resend')}>
                      {t('care.resend')}
                    </button>
                  )}
                  {['scheduled', 'waiting', 'in_call'].includes(a.state) && (mine(a) || me.user.role === 'secretary') && (
                    <button type="button" class="btn" disabled={busy} onClick={() => {
                      setGuestUrl('');
                      setGuestLabel('');
                      setInviting(a);
                    }}>
                      {t('care.guest.add')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </div>
      )}
      {me.user.role === 'secretary' && <UndeliveredPanel />}
      <ConfirmDialog
        open={!!inviting}
        title={t('care.guest.title', { name: inviting ? who(inviting) : '' })}
        confirmLabel={guestUrl ? t('common.close') : t('care.guest.create')}
        busy={busy || (!guestUrl && !guestLabel.trim())}
        onCancel={() => setInviting(null)}
        onConfirm={() => (guestUrl ? setInviting(null) : void addGuest())}
      >
        {guestUrl ? (
          <>
            <p>{t('care.guest.give')}</p>
            <input class="care-guest-url" readOnly value={guestUrl} aria-label={t('care.guest.link')} onFocus={(e) => (e.target as HTMLInputElement).select()} />
          </>
        ) : (
          <>
            <label class="field">
              <span>{t('care.guest.role')}</span>
              <select value={guestRole} onChange={(e) => setGuestRole((e.target as HTMLSelectElement).value as 'relative' | 'interpreter')}>
                <option value="relative">{t('care.guest.relative')}</option>
                <option value="interpreter">{t('care.guest.interpreter')}</option>
              </select>
            </label>
            <label class="field">
              <span>{t('care.guest.label')}</span>
              <input type="text" maxLength={80} value={guestLabel} onInput={(e) => setGuestLabel((e.target as HTMLInputElement).value)} />
            </label>
          </>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={!!telling}
        title={t('care.word.title', { name: telling ? who(telling) : '' })}
        confirmLabel={t('care.word.send')}
        busy={busy || !word.trim()}
        onCancel={() => setTelling(null)}
        onConfirm={() => {
          const a = telling!;
          setTelling(null);
          void action(a, 'notice', { text: word.trim() });
        }}
      >
        <p>{t('care.word.lead')}</p>
        <div class="care-word-quick">
          {(['late', 'soon'] as const).map((k) => (
            <button key={k} type="button" class="btn" onClick={() => setWord(t(`care.word.${k}` as Key))}>
              {t(`care.word.${k}` as Key)}
            </button>
          ))}
        </div>
        <label class="field">
          <span>{t('care.word.text')}</span>
          <textarea rows={3} maxLength={500} value={word} onInput={(e) => setWord((e.target as HTMLTextAreaElement).value)} />
        </label>
      </ConfirmDialog>
      <ConfirmDialog
        open={!!ending}
        title={t('care.report.title', { name: ending ? who(ending) : '' })}
        confirmLabel={t('care.report.save')}
        busy={busy}
        onCancel={() => setEnding(null)}
        onConfirm={() => {
          const a = ending!;
          setEnding(null);
          void action(a, 'end', { report: { act, ...(incidents.trim() ? { incidents: incidents.trim() } : {}) } });
        }}
      >
        <p>{t('care.report.lead')}</p>
        <label class="field">
          <span>{t('care.report.act')}</span>
          <select value={act} onChange={(e) => setAct((e.target as HTMLSelectElement).value)}>
            <option value="TC">{t('care.report.tc')}</option>
            <option value="TCG">{t('care.report.tcg')}</option>
          </select>
        </label>
        <label class="field">
          <span>{t('care.report.incidents')}</span>
          <textarea rows={3} value={incidents} onInput={(e) => setIncidents((e.target as HTMLTextAreaElement).value)} />
        </label>
      </ConfirmDialog>
    </Page>
  );
}
