// Changing one's password: forced at first login (temporary password) and after a reset, or
// chosen from "My account". The policy is checked here first, in the server's words.
import { useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { app, refreshMe, navigate } from '../lib/app';
import { t } from '../i18n';
import { Alert, Field, Link, Page } from '../components/ui';
import { SetupFrame } from './Setup';
import { errorText } from './Login';

const bytes = (s: string) => new TextEncoder().encode(s).length;

export function policyError(pw: string, username: string): string | null {
  if (bytes(pw) < 12) return t('password.rule.length');
  if (bytes(pw) > 256) return t('password.rule.tooLong');
  if (username && pw.toLowerCase().includes(username.toLowerCase())) return t('password.rule.username');
  if ([...pw].every((c) => c === pw[0])) return t('password.rule.repeated');
  return null;
}

export function PasswordForm(props: { forced: boolean; onDone: () => void }) {
  const me = app.get().me!;
  const [old, setOld] = useState('');
  const [pw, setPw] = useState('');
  const [pw2, setPw2] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fe, setFe] = useState<{ old?: string; pw?: string; pw2?: string }>({});
  const oldRef = useRef<HTMLInputElement>(null);
  const pwRef = useRef<HTMLInputElement>(null);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const errs: typeof fe = {};
    if (!old) errs.old = t('password.old.required');
    const pol = policyError(pw, me.user.username);
    if (pol) errs.pw = pol;
    else if (pw === old) errs.pw = t('password.reused');
    if (!errs.pw && pw !== pw2) errs.pw2 = t('password.mismatch');
    setFe(errs);
    setError(null);
    if (errs.old) return oldRef.current?.focus();
    if (errs.pw || errs.pw2) return pwRef.current?.focus();
    setBusy(true);
    try {
      await api('POST', '/api/v1/auth/password', { old, new: pw });
      setOld('');
      setPw('');
      setPw2('');
      props.onDone();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'wrong_password') {
        setFe({ old: t('password.old.wrong') });
        setOld('');
        oldRef.current?.focus();
      } else if (err instanceof ApiError && err.code === 'weak_password') {
        setFe({ pw: t('password.weak') });
        pwRef.current?.focus();
      } else if (err instanceof ApiError && err.code === 'password_reused') {
        setFe({ pw: t('password.reused') });
        pwRef.current?.focus();
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate class="stack form-narrow">
      {error && <Alert kind="error">{error}</Alert>}
      <input type="text" name="username" autoComplete="username" value={me.user.username} hidden readOnly />
      <Field
        id="pw-old"
        type="password"
        label={props.forced ? t('password.old.temporary') : t('password.old')}
        value={old}
        onValue={setOld}
        autoComplete="current-password"
        inputRef={oldRef}
        error={fe.old}
        required
      />
      <Field
        id="pw-new"
        type="password"
        label={t('password.new')}
        hint={t('password.rules')}
        value={pw}
        onValue={setPw}
        autoComplete="new-password"
        inputRef={pwRef}
        error={fe.pw}
        required
      />
      <Field
        id="pw-new2"
        type="password"
        label={t('password.confirm')}
        value={pw2}
        onValue={setPw2}
        autoComplete="new-password"
        error={fe.pw2}
        required
      />
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={busy}>
          {busy ? t('common.saving') : t('password.submit')}
        </button>
      </div>
    </form>
  );
}

// The forced change, shown before anything else.
export function SetupPasswordPage() {
  return (
    <SetupFrame title={t('setup.password.title')} lead={t('setup.password.lead')}>
      <PasswordForm
        forced
        onDone={() => {
          void refreshMe().then(() => navigate('/', { replace: true }));
        }}
      />
    </SetupFrame>
  );
}

// The voluntary change, from "My account".
export function ChangePasswordPage() {
  const [done, setDone] = useState(false);
  return (
    <Page title={t('password.change.title')} lead={t('password.change.lead')}>
      {done ? (
        <>
          <Alert kind="success">{t('password.changed')}</Alert>
          <p>
            <Link class="btn" href="/account">
              {t('account.back')}
            </Link>
          </p>
        </>
      ) : (
        <PasswordForm forced={false} onDone={() => setDone(true)} />
      )}
    </Page>
  );
}

