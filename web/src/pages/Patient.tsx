// The patient space: public, no account. A patient (or a relative) arrives here from the link of
// their consultation; a later issue fills this page. Plain words, large text and controls.
import { useEffect } from 'preact/hooks';
import { app } from '../lib/app';
import { t } from '../i18n';
import { LangSwitch } from '../components/ui';
import { Logo } from '../components/Logo';

export function PatientPage() {
  const { info } = app.get();
  const fromLink = location.pathname.replace(/\/+$/, '') !== '/patient';
  useEffect(() => {
    document.title = `${t('patient.title')} · ${info.name}`;
  });
  return (
    <div class="patient">
      <header class="patient-header">
        <Logo name={info.name} />
        <LangSwitch class="lang-large" />
      </header>
      <main id="main" class="patient-main" tabIndex={-1}>
        <h1>{t('patient.title')}</h1>
        {fromLink ? <p class="patient-lead">{t('patient.linkSoon')}</p> : <p class="patient-lead">{t('patient.lead')}</p>}
        <ol class="patient-steps">
          <li>{t('patient.step1')}</li>
          <li>{t('patient.step2')}</li>
          <li>{t('patient.step3')}</li>
        </ol>
        <section class="patient-help" aria-labelledby="patient-help-h">
          <h2 id="patient-help-h">{t('patient.help.title')}</h2>
          <p>{t('patient.help.text')}</p>
        </section>
        <p>
          <button type="button" class="btn btn-primary btn-huge" onClick={() => location.reload()}>
            {t('patient.retry')}
          </button>
        </p>
      </main>
    </div>
  );
}
