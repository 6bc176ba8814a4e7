// Accounts: the list (live: user.updated events refresh it) and, with users.write, creating one
// with a temporary password shown once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../lib/api';
import { can, events } from '../../lib/app';
import { t, formatDate, type Key } from '../../i18n';
import { Alert, Field, Link, Page, SecretBox, Select, Spinner } from '../../components/ui';
import { ROLES, type Role, type User } from '../../lib/types';
import { errorText } from '../Login';

export function roleOptions() {
  return ROLES.map((r) => ({ value: r, label: t(`role.${r}` as Key) }));
}

export function UserStatus(props: { user: User }) {
  const u = props.user;
  if (u.disabled) return <span class="badge badge-off">{t('user.status.disabled')}</span>;
  if (u.locked) return <span class="badge badge-warn">{t('user.status.locked')}</span>;
  if (u.must_change_password) return <span class="badge badge-info">{t('user.status.pending')}</span>;
  return <span class="badge badge-ok">{t('user.status.active')}</span>;
}

function CreateUser(props: { onCreated: (u: User) => void }) {
  const [username, setUsername] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [role, setRole] = useState<Role>('practitioner');
  const [fe, setFe] = useState<{ username?: string; displayName?: string; role?: string }>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<{ user: User; temporary_password: string } | null>(null);
  const userRef = useRef<HTMLInputElement>(null);
  const resultRef = useRef<HTMLElement>(null);

  useEffect(() => {
    if (created) resultRef.current?.focus();
  }, [created]);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const errs: typeof fe = {};
    const un = username.trim();
    if (!/^[a-z0-9][a-z0-9._-]{1,63}$/.test(un)) errs.username = t('users.create.username.invalid');
    if (!displayName.trim()) errs.displayName = t('users.create.displayName.required');
    setFe(errs);
    setError(null);
    if (Object.keys(errs).length) {
      if (errs.username) userRef.current?.focus();
      return;
    }
    setBusy(true);
    try {
      const r = await api<{ user: User; temporary_password: string }>('POST', '/api/v1/users', {
        username: un,
        display_name: displayName.trim(),
        role,
      });
      setCreated(r);
      setUsername('');
      setDisplayName('');
      props.onCreated(r.user);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'username_taken') setFe({ username: t('users.create.username.taken') });
      else if (err instanceof ApiError && err.code === 'invalid_username') setFe({ username: t('users.create.username.invalid') });
      else setError(errorText(err));
      if (err instanceof ApiError && (err.code === 'username_taken' || err.code === 'invalid_username')) userRef.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  if (created) {
    return (
      <section class="panel panel-success" ref={resultRef} tabIndex={-1} aria-labelledby="created-h">
        <h2 id="created-h">{t('users.created.title', { name: created.user.username })}</h2>
        <p>{t('users.created.text')}</p>
        <SecretBox id="temporary-password" value={created.temporary_password} label={t('users.temporaryPassword')} />
        <div class="actions">
          <Link href={`/admin/users/${created.user.id}`} class="btn">
            {t('users.open')}
          </Link>
          <button type="button" class="btn btn-primary" onClick={() => setCreated(null)}>
            {t('common.done')}
          </button>
        </div>
      </section>
    );
  }

  return (
    <section class="panel" aria-labelledby="create-h">
      <h2 id="create-h">{t('users.create.title')}</h2>
      {error && <Alert kind="error">{error}</Alert>}
      <form onSubmit={submit} noValidate class="form-grid">
        <Field
          id="new-username"
          label={t('user.username')}
          hint={t('users.create.username.hint')}
          value={username}
          onValue={(v) => setUsername(v.toLowerCase())}
          autoCapitalize="none"
          autoComplete="off"
          spellcheck={false}
          maxLength={64}
          inputRef={userRef}
          error={fe.username}
          required
        />
        <Field
          id="new-display-name"
          label={t('user.displayName')}
          value={displayName}
          onValue={setDisplayName}
          autoComplete="off"
          maxLength={128}
          error={fe.displayName}
          required
        />
        <Select id="new-role" label={t('user.role')} value={role} onValue={(v) => setRole(v as Role)} options={roleOptions()} />
        <div class="actions form-grid-actions">
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {busy ? t('common.saving') : t('users.create.submit')}
          </button>
        </div>
      </form>
    </section>
  );
}

export function UsersPage() {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState('');

  async function load() {
    try {
      setUsers((await api<{ users: User[] }>('GET', '/api/v1/users')).users);
    } catch (e) {
      setError(errorText(e));
    }
  }
  useEffect(() => {
    void load();
    const off1 = events.on('user.updated', (e) => {
      const u = e.data as unknown as User;
      setUsers((list) => {
        if (!list) return list;
        const i = list.findIndex((x) => x.id === u.id);
        if (i < 0) return [...list, u].sort((a, b) => a.username.localeCompare(b.username));
        const next = list.slice();
        next[i] = u;
        return next;
      });
    });
    return off1;
  }, []);

  const q = filter.trim().toLowerCase();
  const shown = (users || []).filter(
    (u) => !q || u.username.includes(q) || u.display_name.toLowerCase().includes(q) || t(`role.${u.role}` as Key).toLowerCase().includes(q),
  );

  return (
    <Page title={t('users.title')} lead={can('users.write') ? t('users.lead') : t('users.leadReadOnly')}>
      {can('users.write') && (
        <CreateUser
          onCreated={(u) => setUsers((list) => (list && !list.some((x) => x.id === u.id) ? [...list, u].sort((a, b) => a.username.localeCompare(b.username)) : list))}
        />
      )}
      <section class="panel" aria-labelledby="list-h">
        <h2 id="list-h">{t('users.list.title')}</h2>
        {error && <Alert kind="error">{error}</Alert>}
        <div class="toolbar">
          <Field id="users-filter" type="search" label={t('users.filter')} value={filter} onValue={setFilter} autoComplete="off" />
          <p class="muted" role="status">
            {users ? t('users.count', { n: shown.length, total: users.length }) : ''}
          </p>
        </div>
        {!users ? (
          <Spinner />
        ) : (
          <div class="table-wrap" role="region" aria-labelledby="list-h" tabIndex={0}>
            <table class="table table-stack" role="table">
              <thead role="rowgroup">
                <tr role="row">
                  <th scope="col" role="columnheader">{t('user.username')}</th>
                  <th scope="col" role="columnheader">{t('user.displayName')}</th>
                  <th scope="col" role="columnheader">{t('user.role')}</th>
                  <th scope="col" role="columnheader">{t('user.status')}</th>
                  <th scope="col" role="columnheader">{t('user.totp')}</th>
                  <th scope="col" role="columnheader">{t('user.created')}</th>
                </tr>
              </thead>
              <tbody role="rowgroup">
                {shown.map((u) => (
                  <tr key={u.id} data-username={u.username} role="row">
                    <th scope="row" role="rowheader" data-label={t('user.username')}>
                      <Link href={`/admin/users/${u.id}`}>{u.username}</Link>
                    </th>
                    <td role="cell" data-label={t('user.displayName')}>{u.display_name}</td>
                    <td role="cell" data-label={t('user.role')}>{t(`role.${u.role}` as Key)}</td>
                    <td role="cell" data-label={t('user.status')}>
                      <UserStatus user={u} />
                    </td>
                    <td role="cell" data-label={t('user.totp')}>{u.totp_enabled ? t('common.yes') : t('common.no')}</td>
                    <td role="cell" data-label={t('user.created')}>{formatDate(u.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Page>
  );
}
