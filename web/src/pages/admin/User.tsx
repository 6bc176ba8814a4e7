// One account: change its display name and role, disable or enable it, reset its password
// (a temporary one, shown once) or its 2FA. Read-only without users.write.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../../lib/api';
import { app, can, events } from '../../lib/app';
import { t, formatDateTime, type Key } from '../../i18n';
import { Alert, ConfirmDialog, Field, Link, Page, SecretBox, Select, Spinner } from '../../components/ui';
import type { Role, User } from '../../lib/types';
import { errorText } from '../Login';
import { roleOptions, UserStatus } from './Users';

type Action = 'disable' | 'enable' | 'reset-password' | 'reset-totp' | null;

function patchError(e: unknown): string {
  if (e instanceof ApiError && e.code === 'cannot_disable_self') return t('user.error.disableSelf');
  if (e instanceof ApiError && e.code === 'last_admin') return t('user.error.lastAdmin');
  if (e instanceof ApiError && e.code === 'user_not_found') return t('user.error.notFound');
  return errorText(e);
}

export function UserPage(props: { id: string }) {
  const [user, setUser] = useState<User | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('practitioner');
  const [nameErr, setNameErr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [action, setAction] = useState<Action>(null);
  const [tempPassword, setTempPassword] = useState<string | null>(null);
  const writable = can('users.write');
  const self = app.get().me?.user.id === props.id;

  function show(u: User) {
    setUser(u);
    setDisplayName(u.display_name);
    setRole(u.role);
  }

  useEffect(() => {
    api<User>('GET', `/api/v1/users/${props.id}`).then(show, (e) => setLoadError(patchError(e)));
    return events.on('user.updated', (e) => {
      const u = e.data as unknown as User;
      if (u.id === props.id) setUser(u);
    });
  }, [props.id]);

  async function save(e: Event) {
    e.preventDefault();
    if (!user || busy) return;
    if (!displayName.trim()) {
      setNameErr(t('users.create.displayName.required'));
      return;
    }
    setNameErr(null);
    const body: { display_name?: string; role?: Role } = {};
    if (displayName.trim() !== user.display_name) body.display_name = displayName.trim();
    if (role !== user.role) body.role = role;
    if (!Object.keys(body).length) {
      setStatus(t('user.nothingChanged'));
      return;
    }
    await run(async () => {
      show(await api<User>('PATCH', `/api/v1/users/${user.id}`, body));
      setStatus(t('user.saved'));
    });
  }

  async function run(f: () => Promise<void>) {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await f();
    } catch (e) {
      setError(patchError(e));
    } finally {
      setBusy(false);
      setAction(null);
    }
  }

  async function confirmAction() {
    if (!user) return;
    const id = user.id;
    if (action === 'disable' || action === 'enable') {
      const disabled = action === 'disable';
      await run(async () => {
        show(await api<User>('PATCH', `/api/v1/users/${id}`, { disabled }));
        setStatus(disabled ? t('user.disabled') : t('user.enabled'));
      });
    } else if (action === 'reset-password') {
      await run(async () => {
        const r = await api<{ temporary_password: string }>('POST', `/api/v1/users/${id}/reset-password`);
        setTempPassword(r.temporary_password);
        setStatus(t('user.passwordReset'));
      });
    } else if (action === 'reset-totp') {
      await run(async () => {
        await api('POST', `/api/v1/users/${id}/reset-totp`);
        setStatus(t('user.totpReset'));
      });
    }
  }

  if (loadError)
    return (
      <Page title={t('user.title')}>
        <Alert kind="error">{loadError}</Alert>
        <p>
          <Link href="/admin/users">{t('user.back')}</Link>
        </p>
      </Page>
    );
  if (!user)
    return (
      <Page title={t('user.title')}>
        <Spinner />
      </Page>
    );

  const confirmText: Record<Exclude<Action, null>, { title: Key; text: Key; button: Key; danger: boolean }> = {
    disable: { title: 'user.disable.title', text: 'user.disable.text', button: 'user.disable', danger: true },
    enable: { title: 'user.enable.title', text: 'user.enable.text', button: 'user.enable', danger: false },
    'reset-password': { title: 'user.resetPassword.title', text: 'user.resetPassword.text', button: 'user.resetPassword', danger: true },
    'reset-totp': { title: 'user.resetTotp.title', text: 'user.resetTotp.text', button: 'user.resetTotp', danger: true },
  };
  const c = action ? confirmText[action] : null;

  return (
    <Page title={t('user.titleNamed', { name: user.display_name })}>
      <p class="breadcrumb">
        <Link href="/admin/users">{t('user.back')}</Link>
      </p>
      {error && <Alert kind="error">{error}</Alert>}
      <div role="status" class="status-line">
        {status && <p class="alert alert-success">{status}</p>}
      </div>
      {tempPassword && (
        <section class="panel panel-success" aria-labelledby="temp-h">
          <h2 id="temp-h">{t('user.passwordReset')}</h2>
          <p>{t('users.created.text')}</p>
          <SecretBox id="temporary-password" value={tempPassword} label={t('users.temporaryPassword')} />
          <div class="actions">
            <button type="button" class="btn" onClick={() => setTempPassword(null)}>
              {t('common.done')}
            </button>
          </div>
        </section>
      )}
      <section class="panel" aria-labelledby="info-h">
        <h2 id="info-h">{t('user.info')}</h2>
        <dl class="props">
          <div>
            <dt>{t('user.username')}</dt>
            <dd>{user.username}</dd>
          </div>
          <div>
            <dt>{t('user.status')}</dt>
            <dd>
              <UserStatus user={user} />
            </dd>
          </div>
          <div>
            <dt>{t('user.totp')}</dt>
            <dd>{user.totp_enabled ? t('common.yes') : t('common.no')}</dd>
          </div>
          <div>
            <dt>{t('user.created')}</dt>
            <dd>{formatDateTime(user.created_at)}</dd>
          </div>
        </dl>
      </section>
      {writable ? (
        <>
          <section class="panel" aria-labelledby="edit-h">
            <h2 id="edit-h">{t('user.edit')}</h2>
            <form onSubmit={save} noValidate class="form-grid">
              <Field id="edit-display-name" label={t('user.displayName')} value={displayName} onValue={setDisplayName} maxLength={128} error={nameErr} required />
              <Select id="edit-role" label={t('user.role')} value={role} onValue={(v) => setRole(v as Role)} options={roleOptions()} />
              <div class="actions form-grid-actions">
                <button type="submit" class="btn btn-primary" disabled={busy}>
                  {t('common.save')}
                </button>
              </div>
            </form>
          </section>
          <section class="panel" aria-labelledby="security-h">
            <h2 id="security-h">{t('user.security')}</h2>
            <ul class="action-list">
              <li>
                <div>
                  <p class="action-title">{user.disabled ? t('user.enable') : t('user.disable')}</p>
                  <p class="muted">{user.disabled ? t('user.enable.help') : t('user.disable.help')}</p>
                </div>
                <button
                  type="button"
                  class={`btn ${user.disabled ? '' : 'btn-danger'}`}
                  disabled={!user.disabled && self}
                  aria-describedby={!user.disabled && self ? 'self-note' : undefined}
                  onClick={() => setAction(user.disabled ? 'enable' : 'disable')}
                >
                  {user.disabled ? t('user.enable') : t('user.disable')}
                </button>
              </li>
              <li>
                <div>
                  <p class="action-title">{t('user.resetPassword')}</p>
                  <p class="muted">{t('user.resetPassword.help')}</p>
                </div>
                <button type="button" class="btn" onClick={() => setAction('reset-password')}>
                  {t('user.resetPassword')}
                </button>
              </li>
              <li>
                <div>
                  <p class="action-title">{t('user.resetTotp')}</p>
                  <p class="muted">{t('user.resetTotp.help')}</p>
                </div>
                <button type="button" class="btn" disabled={!user.totp_enabled} onClick={() => setAction('reset-totp')}>
                  {t('user.resetTotp')}
                </button>
              </li>
            </ul>
            {self && (
              <p class="muted" id="self-note">
                {t('user.selfNote')}
              </p>
            )}
          </section>
          <ConfirmDialog
            open={!!c}
            title={c ? t(c.title, { name: user.username }) : ''}
            confirmLabel={c ? t(c.button) : ''}
            danger={c?.danger}
            busy={busy}
            onCancel={() => setAction(null)}
            onConfirm={() => void confirmAction()}
          >
            <p>{c ? t(c.text, { name: user.display_name }) : ''}</p>
          </ConfirmDialog>
        </>
      ) : (
        <Alert kind="info">{t('user.readOnly')}</Alert>
      )}
    </Page>
  );
}
