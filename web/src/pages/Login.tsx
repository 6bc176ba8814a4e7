// Login: username and password, then the 6-digit code (or a recovery code) when the account has
// two-factor authentication. Every refusal is told in plain words.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { app, loggedIn } from '../lib/app';
import { t, type Key } from '../i18n';
import { Alert, Field, LangSwitch } from '../components/ui';
import { Logo } from '../components/Logo';

const noticeKey: Record<string, Key> = {
  expired: 'login.notice.expired',
  ended_ws: 'login.notice.ended',
  logged_out: 'login.notice.loggedOut',
  logged_out_all: 'login.notice.loggedOutAll',
  revoked: 'login.notice.revoked',
};

export function errorText(e: unknown): string {
  if (!(e instanceof ApiError)) return t('error.unexpected');
  switch (e.code) {
    case 'network':
      return t('error.network');
    case 'too_many_attempts':
      return t('error.tooManyAttempts', { seconds: e.retryAfter ?? 1 });
    case 'account_locked':
      return t('error.accountLocked', { minutes: Math.max(1, Math.ceil((e.retryAfter ?? 60) / 60)) });
    case 'account_disabled':
      return t('error.accountDisabled');
    case 'busy':
    case 'store_unavailable':
    case 'shutting_down':
      return t('error.unavailable');
    case 'forbidden':
      return t('error.forbidden');
    default:
      return t('error.unexpectedCode', { code: e.code });
  }
}

export function LoginPage() {
  const { info, notice } = app.get();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [step, setStep] = useState<'password' | 'totp'>('password');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<{ username?: string; password?: string; code?: string }>({});
  const codeRef = useRef<HTMLInputElement>(null);
  const userRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = `${t('login.title')} · ${info.name}`;
  });
  useEffect(() => {
    if (step === 'totp') codeRef.current?.focus();
  }, [step]);

  async function submit(e: Event) {
    e.preventDefault();
    if (busy) return;
    const fe: typeof fieldErr = {};
    if (!username.trim()) fe.username = t('login.username.required');
    if (!password) fe.password = t('login.password.required');
    if (step === 'totp' && !code.trim()) fe.code = t('login.code.required');
    setFieldErr(fe);
    setError(null);
    if (Object.keys(fe).length) return;
    setBusy(true);
    try {
      const body: { username: string; password: string; totp?: string } = { username: username.trim(), password };
      if (step === 'totp') body.totp = code.replace(/\s+/g, '');
      await api('POST', '/api/v1/auth/login', body, { session: false });
      setPassword('');
      await loggedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'totp_required') {
        setStep('totp');
        setCode('');
      } else if (err instanceof ApiError && err.code === 'bad_credentials') {
        if (step === 'totp') {
          setFieldErr({ code: t('login.code.wrong') });
          setCode('');
          codeRef.current?.focus();
        } else {
          setError(t('login.badCredentials'));
          setPassword('');
        }
      } else {
        setError(errorText(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="auth-screen">
      <main id="main" class="auth-card" tabIndex={-1}>
        <div class="auth-top">
          <Logo name={info.name} />
          <LangSwitch />
        </div>
        <h1 class="page-title">{step === 'totp' ? t('login.totpTitle') : t('login.title')}</h1>
        {notice && noticeKey[notice] && <Alert kind={notice === 'logged_out' ? 'success' : 'warning'}>{t(noticeKey[notice])}</Alert>}
        {error && <Alert kind="error">{error}</Alert>}
        <form onSubmit={submit} noValidate class="stack">
          {step === 'password' ? (
            <>
              <Field
                id="login-username"
                label={t('login.username')}
                value={username}
                onValue={setUsername}
                autoComplete="username"
                autoCapitalize="none"
                spellcheck={false}
                inputRef={userRef}
                error={fieldErr.username}
                required
              />
              <Field
                id="login-password"
                type="password"
                label={t('login.password')}
                value={password}
                onValue={setPassword}
                autoComplete="current-password"
                error={fieldErr.password}
                required
              />
            </>
          ) : (
            <>
              <p>{t('login.totpHelp')}</p>
              <Field
                id="login-code"
                label={t('login.code')}
                hint={t('login.code.hint')}
                value={code}
                onValue={setCode}
                inputMode="numeric"
                autoComplete="one-time-code"
                maxLength={32}
                inputRef={codeRef}
                error={fieldErr.code}
                required
              />
            </>
          )}
          <div class="actions">
            <button type="submit" class="btn btn-primary btn-block" disabled={busy}>
              {busy ? t('login.submitting') : step === 'totp' ? t('login.verify') : t('login.submit')}
            </button>
            {step === 'totp' && (
              <button
                type="button"
                class="btn btn-link"
                onClick={() => {
                  setStep('password');
                  setPassword('');
                  setFieldErr({});
                  setError(null);
                }}
              >
                {t('login.back')}
              </button>
            )}
          </div>
        </form>
        <p class="auth-foot">{t('login.help')}</p>
      </main>
    </div>
  );
}
