// Entry point: boot (site info, language, the session), then render the space the path and the
// session call for: the patient space, the login and first-login steps, or the staff space.
import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import './styles.css';
import './screens.css';
import { app, boot } from './lib/app';
import { useStore } from './lib/store';
import { t } from './i18n';
import { match } from './routes';
import { Shell } from './components/Shell';
import { LoginPage } from './pages/Login';
import { SetupPasswordPage } from './pages/Password';
import { SetupTotpPage } from './pages/Setup';
import { PatientPage } from './pages/Patient';
import { lazyPage } from './components/Lazy';
import { ForbiddenPage, NotFoundPage } from './pages/Placeholder';

// The links of people without an account: a patient's (/visit/<token>), a meeting guest's
// (/join/<token>). No session; their own code, fetched on first use.
const VisitPage = lazyPage(() => import('./pages/visit'), (m) => m.VisitPage);
const JoinPage = lazyPage(() => import('./pages/visit'), (m) => m.JoinPage);

function SkipLink() {
  return (
    <a class="skip-link" href="#main" onClick={(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>
      {t('common.skip')}
    </a>
  );
}

// Keeps the address bar in step with what is shown when the app redirects (login, setup).
function useCanonical(path: string) {
  useEffect(() => {
    if (location.pathname !== path) history.replaceState(null, '', path);
    if (app.get().path !== path) app.set({ path });
  }, [path]);
}

function Screen() {
  const s = useStore(app);
  const { path, me } = s;
  const isPatient = path === '/patient' || path.startsWith('/patient/');
  const visit = /^\/visit\/([A-Za-z0-9_.-]{1,80})$/.exec(path);
  const guest = /^\/join\/([A-Za-z0-9_.-]{1,80})$/.exec(path);
  let canonical = path;
  let view;
  if (visit) view = <VisitPage token={visit[1]} />;
  else if (guest) view = <JoinPage token={guest[1]} />;
  else if (isPatient) view = <PatientPage />;
  else if (!me) {
    canonical = '/login';
    view = <LoginPage />;
  } else if (me.restriction === 'password_change_required') {
    canonical = '/setup/password';
    view = <SetupPasswordPage />;
  } else if (me.restriction === 'totp_enrolment_required') {
    canonical = '/setup/2fa';
    view = <SetupTotpPage />;
  } else {
    if (path === '/login' || path.startsWith('/setup/')) canonical = '/';
    const m = match(canonical);
    const page = !m ? <NotFoundPage /> : m.route.allow(me.permissions) ? m.route.render(m.params) : <ForbiddenPage />;
    view = <Shell>{page}</Shell>;
  }
  useCanonical(canonical);
  return (
    <>
      <SkipLink />
      {view}
    </>
  );
}

function App() {
  const s = useStore(app);
  if (!s.booted) return null;
  return <Screen />;
}

const root = document.getElementById('app')!;
void boot().then(() => {
  root.textContent = '';
  render(<App />, root);
});
