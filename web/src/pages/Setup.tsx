// What a restricted session must do before anything else: change its temporary password and/or
// enrol two-factor authentication (QR code + manual key, then the recovery codes shown once).
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { app, logout, navigate, refreshMe, takeFocusRequest } from '../lib/app';
import { t } from '../i18n';
import { Alert, Field, LangSwitch, Spinner, useId } from '../components/ui';
import { Logo } from '../components/Logo';
import { QrCode } from '../components/QrCode';
import { errorText } from './Login';

export function SetupFrame(props: { title: string; lead?: string; children?: ComponentChildren }) {
  const { info } = app.get();
  const h1 = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${props.title} · ${info.name}`;
  });
  useEffect(() => {
    if (takeFocusRequest()) h1.current?.focus();
  }, [props.title]);
  return (
    <div class="auth-screen">
      <main id="main" class="auth-card auth-card-wide" tabIndex={-1}>
        <div class="auth-top">
          <Logo name={info.name} />
          <LangSwitch />
        </div>
        <p class="eyebrow">{t('setup.eyebrow')}</p>
        <h1 ref={h1} tabIndex={-1} class="page-title">
          {props.title}
        </h1>
        {props.lead && <p class="lead">{props.lead}</p>}
        {props.children}
        <p class="auth-foot">
          <button type="button" class="btn btn-link" onClick={() => void logout()}>
            {t('nav.logout')}
          </button>
        </p>
      </main>
    </div>
  );
}

function groupSecret(s: string): string {
  return s.replace(/(.{4})/g, '$1 ').trim();
}

// The enrolment steps, used by the forced setup and by "My account".
export function TotpEnrol(props: { onFinished: () => void }) {
  const [enrol, setEnrol] = useState<{ secret: string; uri: string } | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [saved, setSaved] = useState(false);
  const [savedErr, setSavedErr] = useState<string | null>(null);
  const [codeErr, setCodeErr] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const codeRef = useRef<HTMLInputElement>(null);
  const codesHeading = useRef<HTMLHeadingElement>(null);
  const listId = useId('codes');

  async function start() {
    setError(null);
    try {
      setEnrol(await api<{ secret: string; uri: string }>('POST', '/api/v1/auth/totp/enroll'));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'totp_already_enabled') {
        setError(t('totp.alreadyEnabled'));
      } else setError(errorText(e));
    }
  }
  useEffect(() => {
    void start();
  }, []);
  useEffect(() => {
    if (codes) codesHeading.current?.focus();
  }, [codes]);

  async function confirm(e: Event) {
    e.preventDefault();
    if (busy) return;
    const c = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(c)) {
      setCodeErr(t('totp.code.format'));
      codeRef.current?.focus();
      return;
    }
    setCodeErr(null);
    setError(null);
    setBusy(true);
    try {
      const r = await api<{ recovery_codes: string[] }>('POST', '/api/v1/auth/totp/confirm', { code: c });
      setCodes(r.recovery_codes);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'bad_code') {
        setCodeErr(t('totp.code.wrong'));
        setCode('');
        codeRef.current?.focus();
      } else if (err instanceof ApiError && err.code === 'totp_not_started') {
        setError(t('totp.restart'));
        setEnrol(null);
        void start();
      } else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  if (codes) {
    const text = codes.join('\n');
    return (
      <section class="stack" aria-labelledby={`${listId}-h`}>
        <h2 id={`${listId}-h`} ref={codesHeading} tabIndex={-1}>
          {t('totp.codes.title')}
        </h2>
        <Alert kind="success">{t('totp.enabled')}</Alert>
        <p>{t('totp.codes.help')}</p>
        <ol class="recovery-codes" id={listId} translate={false}>
          {codes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ol>
        <div class="actions">
          <button type="button" class="btn" onClick={() => void navigator.clipboard?.writeText(text)}>
            {t('common.copy')}
          </button>
          <button
            type="button"
            class="btn"
            onClick={() => {
              const a = document.createElement('a');
              a.href = URL.createObjectURL(new Blob([`${app.get().info.name} — carecomm\n${text}\n`], { type: 'text/plain' }));
              a.download = 'carecomm-recovery-codes.txt';
              a.click();
              setTimeout(() => URL.revokeObjectURL(a.href), 1000);
            }}
          >
            {t('totp.codes.download')}
          </button>
          <button type="button" class="btn" onClick={() => window.print()}>
            {t('totp.codes.print')}
          </button>
        </div>
        <form
          class="stack"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            if (!saved) {
              setSavedErr(t('totp.codes.mustConfirm'));
              (document.getElementById('codes-saved') as HTMLInputElement | null)?.focus();
              return;
            }
            props.onFinished();
          }}
        >
          <div class={`check${savedErr ? ' has-error' : ''}`}>
            <input
              type="checkbox"
              id="codes-saved"
              checked={saved}
              aria-describedby={savedErr ? 'codes-saved-err' : undefined}
              aria-invalid={savedErr ? 'true' : undefined}
              onChange={(e) => {
                setSaved((e.currentTarget as HTMLInputElement).checked);
                setSavedErr(null);
              }}
            />
            <label for="codes-saved">{t('totp.codes.saved')}</label>
          </div>
          {savedErr && (
            <p class="field-error" id="codes-saved-err">
              {savedErr}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="btn btn-primary">
              {t('common.continue')}
            </button>
          </div>
        </form>
      </section>
    );
  }

  if (!enrol) return error ? <Alert kind="error">{error}</Alert> : <Spinner />;

  return (
    <div class="stack">
      {error && <Alert kind="error">{error}</Alert>}
      <ol class="steps">
        <li>
          <h2 class="step-title">{t('totp.step1.title')}</h2>
          <p>{t('totp.step1.text')}</p>
        </li>
        <li>
          <h2 class="step-title">{t('totp.step2.title')}</h2>
          <div class="qr-block">
            <QrCode text={enrol.uri} label={t('totp.qr.label')} />
            <div>
              <p>{t('totp.step2.text')}</p>
              <p class="secret-label" id="totp-secret-label">
                {t('totp.secret.label')}
              </p>
              <p class="secret-value" translate={false}>
                <code id="totp-secret" data-secret={enrol.secret}>
                  {groupSecret(enrol.secret)}
                </code>
              </p>
            </div>
          </div>
        </li>
        <li>
          <h2 class="step-title">{t('totp.step3.title')}</h2>
          <form onSubmit={confirm} noValidate class="stack form-narrow">
            <Field
              id="totp-code"
              label={t('totp.code')}
              hint={t('totp.code.hint')}
              value={code}
              onValue={setCode}
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={7}
              inputRef={codeRef}
              error={codeErr}
              required
            />
            <div class="actions">
              <button type="submit" class="btn btn-primary" disabled={busy}>
                {busy ? t('common.checking') : t('totp.confirm')}
              </button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

export function SetupTotpPage() {
  return (
    <SetupFrame title={t('setup.totp.title')} lead={t('setup.totp.lead')}>
      <TotpEnrol
        onFinished={() => {
          void refreshMe().then(() => navigate('/', { replace: true }));
        }}
      />
    </SetupFrame>
  );
}
