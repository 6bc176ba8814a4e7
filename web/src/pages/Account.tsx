// "My account": who I am, my password and 2FA, my open sessions (revoke one, or all).
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { app, events, logout, navigate, refreshMe, sessionEnded } from '../lib/app';
import { t, formatDateTime, type Key } from '../i18n';
import { Alert, ConfirmDialog, Link, Page, Spinner } from '../components/ui';
import { describeUserAgent } from '../lib/ua';
import type { MySession } from '../lib/types';
import { errorText } from './Login';
import { TotpEnrol } from './Setup';

function Sessions() {
  const [list, setList] = useState<MySession[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [confirmAll, setConfirmAll] = useState(false);
  const [busy, setBusy] = useState(false);

  async function load() {
    try {
      const r = await api<{ sessions: MySession[] }>('GET', '/api/v1/auth/sessions');
      r.sessions.sort((a, b) => Number(b.current) - Number(a.current) || b.last_seen_at - a.last_seen_at);
      setList(r.sessions);
    } catch (e) {
      setError(errorText(e));
    }
  }
  useEffect(() => {
    void load();
    return events.on('session.revoked', () => void load());
  }, []);

  async function revoke(s: MySession) {
    setError(null);
    if (s.current) events.stop(true);
    try {
      await api('DELETE', `/api/v1/auth/sessions/${s.id}`);
      if (s.current) {
        sessionEnded('logged_out');
        return;
      }
      setStatus(t('sessions.revoked'));
      await load();
    } catch (e) {
      setError(errorText(e));
    }
  }

  return (
    <section class="panel" aria-labelledby="sessions-h">
      <h2 id="sessions-h">{t('sessions.title')}</h2>
      <p class="muted">{t('sessions.lead')}</p>
      {error && <Alert kind="error">{error}</Alert>}
      <p class="visually-hidden" role="status">
        {status}
      </p>
      {!list ? (
        <Spinner />
      ) : (
        <ul class="session-list">
          {list.map((s) => {
            const ua = describeUserAgent(s.user_agent);
            const name = [ua.browser, ua.os].filter(Boolean).join(' · ') || t('sessions.unknownDevice');
            return (
              <li key={s.id} class={`session${s.current ? ' session-current' : ''}`} data-session={s.id}>
                <div class="session-main">
                  <p class="session-name">
                    {name}
                    {s.current && <span class="badge badge-ok">{t('sessions.current')}</span>}
                  </p>
                  <dl class="meta">
                    <div>
                      <dt>{t('sessions.address')}</dt>
                      <dd>{s.source_ip || '—'}</dd>
                    </div>
                    <div>
                      <dt>{t('sessions.started')}</dt>
                      <dd>{formatDateTime(s.created_at)}</dd>
                    </div>
                    <div>
                      <dt>{t('sessions.lastSeen')}</dt>
                      <dd>{formatDateTime(s.last_seen_at)}</dd>
                    </div>
                    <div>
                      <dt>{t('sessions.expires')}</dt>
                      <dd>{formatDateTime(s.expires_at)}</dd>
                    </div>
                  </dl>
                </div>
                <button type="button" class="btn btn-small" onClick={() => void revoke(s)}>
                  {s.current ? t('sessions.logoutHere') : t('sessions.revoke')}
                  {!s.current && <span class="visually-hidden"> — {name}, {formatDateTime(s.created_at)}</span>}
                </button>
              </li>
            );
          })}
        </ul>
      )}
      <div class="actions">
        <button type="button" class="btn btn-danger" onClick={() => setConfirmAll(true)}>
          {t('sessions.logoutAll')}
        </button>
      </div>
      <ConfirmDialog
        open={confirmAll}
        title={t('sessions.logoutAll.confirmTitle')}
        confirmLabel={t('sessions.logoutAll')}
        danger
        busy={busy}
        onCancel={() => setConfirmAll(false)}
        onConfirm={async () => {
          setBusy(true);
          try {
            await logout(true);
          } catch (e) {
            setError(errorText(e));
            setConfirmAll(false);
          } finally {
            setBusy(false);
          }
        }}
      >
        <p>{t('sessions.logoutAll.confirmText')}</p>
      </ConfirmDialog>
    </section>
  );
}

export function AccountPage() {
  const me = app.get().me!;
  const u = me.user;
  return (
    <Page title={t('account.title')}>
      <section class="panel" aria-labelledby="profile-h">
        <h2 id="profile-h">{t('account.profile')}</h2>
        <dl class="props">
          <div>
            <dt>{t('user.displayName')}</dt>
            <dd>{u.display_name}</dd>
          </div>
          <div>
            <dt>{t('user.username')}</dt>
            <dd>{u.username}</dd>
          </div>
          <div>
            <dt>{t('user.role')}</dt>
            <dd>{t(`role.${u.role}` as Key)}</dd>
          </div>
          <div>
            <dt>{t('user.totp')}</dt>
            <dd>{u.totp_enabled ? t('account.totp.on') : t('account.totp.off')}</dd>
          </div>
        </dl>
        <div class="actions">
          <Link href="/account/password" class="btn">
            {t('account.changePassword')}
          </Link>
          {!u.totp_enabled && (
            <Link href="/account/2fa" class="btn">
              {t('account.enableTotp')}
            </Link>
          )}
          <button type="button" class="btn" onClick={() => void logout()}>
            {t('nav.logout')}
          </button>
        </div>
      </section>
      <Sessions />
    </Page>
  );
}

// Optional enrolment for a role that does not require 2FA.
export function EnrolTotpPage() {
  const me = app.get().me!;
  return (
    <Page title={t('setup.totp.title')} lead={t('setup.totp.lead')}>
      {me.user.totp_enabled ? (
        <Alert kind="info">{t('totp.alreadyEnabled')}</Alert>
      ) : (
        <TotpEnrol
          onFinished={() => {
            void refreshMe().then(() => navigate('/account'));
          }}
        />
      )}
    </Page>
  );
}
