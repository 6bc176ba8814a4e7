// Inviting someone from outside (no account) to the conversation's meeting: a name, how long the
// link works, then the link to pass on (shown once: the server keeps no copy of it), with a copy
// button and a QR code for a phone. The invitations still working are listed, each one may be
// withdrawn (the guest is sent out of the waiting room or the meeting at once).
import { useEffect, useState } from 'preact/hooks';
import { t, formatDate, formatTime, type Key } from '../../i18n';
import { api } from '../../lib/api';
import { Alert, Field, Spinner } from '../../components/ui';
import { QrCode } from '../../components/QrCode';
import { Modal, msgErrorText } from './dialogs';
import './invite.css';

interface GuestLink {
  id: string;
  name: string;
  created_by: string;
  expires_at: number;
}

const HOURS = [2, 8, 24, 72, 168];

export function InviteDialog(props: { conversationId: string; onClose: () => void }) {
  const base = `/api/v1/conversations/${props.conversationId}/guest-links`;
  const [links, setLinks] = useState<GuestLink[] | null>(null);
  const [name, setName] = useState('');
  const [hours, setHours] = useState(24);
  const [made, setMade] = useState<{ url: string; name: string } | null>(null);
  const [note, setNote] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const load = () =>
    api<{ links: GuestLink[] }>('GET', base).then(
      (r) => setLinks(r.links),
      (e) => setError(msgErrorText(e)),
    );
  useEffect(() => void load(), [props.conversationId]);

  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    setError('');
    setNote('');
    try {
      const r = await api<{ link: GuestLink; url: string }>('POST', base, { name: name.trim(), hours });
      setMade({ url: r.url, name: r.link.name });
      setName('');
      void load();
    } catch (err) {
      setError(msgErrorText(err));
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (id: string) => {
    setError('');
    try {
      await api('DELETE', `${base}/${id}`);
      setNote(t('invite.revoked'));
      void load();
    } catch (err) {
      setError(msgErrorText(err));
    }
  };
  const copy = async () => {
    if (!made) return;
    try {
      await navigator.clipboard.writeText(made.url);
      setNote(t('invite.copied'));
    } catch {
      /* no clipboard (an insecure context, a refusal): the link stays selectable */
    }
  };

  return (
    <Modal title={t('invite.title')} onClose={props.onClose} wide>
      <p>{t('invite.intro')}</p>
      <form class="invite-form" onSubmit={(e) => void create(e)}>
        <Field id="invite-name" label={t('invite.name')} value={name} onValue={setName} maxLength={80} required autoComplete="off" />
        <label class="field">
          <span>{t('invite.hours')}</span>
          <select value={String(hours)} onChange={(e) => setHours(Number((e.target as HTMLSelectElement).value))}>
            {HOURS.map((h) => (
              <option key={h} value={String(h)}>
                {t(`invite.hours.${h}` as Key)}
              </option>
            ))}
          </select>
        </label>
        <p>
          <button type="submit" class="btn btn-primary" disabled={busy || !name.trim()}>
            {t('invite.create')}
          </button>
        </p>
      </form>
      {made && (
        <section class="invite-made" aria-label={t('invite.link')}>
          <label class="field">
            <span>{t('invite.link')}</span>
            <input class="invite-url" readOnly value={made.url} onFocus={(e) => (e.target as HTMLInputElement).select()} />
          </label>
          <p>
            <button type="button" class="btn" onClick={() => void copy()}>
              {t('common.copy')}
            </button>
          </p>
          <QrCode text={made.url} label={t('invite.link')} />
        </section>
      )}
      {note && <Alert kind="success">{note}</Alert>}
      {error && <Alert kind="error">{error}</Alert>}
      <h3>{t('invite.active')}</h3>
      {!links ? (
        <Spinner />
      ) : !links.length ? (
        <p class="muted">{t('invite.none')}</p>
      ) : (
        <ul class="invite-list">
          {links.map((l) => (
            <li key={l.id} data-link={l.id}>
              <span>
                <strong>{l.name}</strong> {t('invite.until', { date: formatDate(l.expires_at), time: formatTime(l.expires_at) })}
              </span>{' '}
              <button type="button" class="btn btn-small" onClick={() => void revoke(l.id)}>
                {t('invite.revoke')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <p>
        <button type="button" class="btn" onClick={props.onClose}>
          {t('common.close')}
        </button>
      </p>
    </Modal>
  );
}
