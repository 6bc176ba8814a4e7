// A guest from outside invited to a meeting (a specialist of another hospital, an interpreter),
// with no account: the link of their invitation (/join/<token>) proves who they are on the guest
// WebSocket (meeting.guest_hello). They check camera and microphone, ask to come in, wait in the
// waiting room until the host lets them in, then are in the call; turned away, or leaving, they
// may ask again while the invitation works. A withdrawn invitation ends the page at once.
import { useEffect, useRef, useState } from 'preact/hooks';
import { app } from '../../lib/app';
import { t, type Key } from '../../i18n';
import { LangSwitch, Alert } from '../../components/ui';
import { Logo } from '../../components/Logo';
import { GuestSocket, type GuestState } from './guestSocket';
import { Call, type CallStatus } from '../../lib/call';
import { CallPanel } from '../../components/call/CallPanel';
import { useDeviceCheck, DeviceCheck } from './Visit';

const REFUSALS = ['link_unknown', 'link_expired', 'link_revoked', 'too_many_attempts'];

export function JoinPage(props: { token: string }) {
  const { info } = app.get();
  const [socket] = useState(() => new GuestSocket(props.token, 'meeting'));
  const [state, setState] = useState<GuestState>(socket.state);
  const [call, setCall] = useState<Call | null>(null);
  const [status, setStatus] = useState<CallStatus | null>(null);
  const video = useRef<HTMLVideoElement>(null);
  useEffect(() => socket.onState(setState), [socket]);
  useEffect(() => () => socket.close(), [socket]);
  useEffect(() => call?.subscribe((s) => setStatus(s.status)), [call]);
  useEffect(() => {
    document.title = `${t('join.title')} · ${info.name}`;
  }, []);
  const refused = state === 'refused';
  useEffect(() => {
    if (refused && call) void call.leave(); // the invitation was withdrawn meanwhile
  }, [refused]);
  const welcome = socket.welcome;
  const checking = state === 'ready' && !call;
  const devices = useDeviceCheck(checking, video);

  const ask = () => {
    const c = new Call(socket, { conversation: String(welcome.conversation) });
    setCall(c);
    void c.join();
  };
  const over = status === 'left' || status === 'failed';

  let body;
  if (refused) {
    const code = REFUSALS.includes(socket.refusal) ? socket.refusal : 'link_unknown';
    body = (
      <Alert kind="error">
        <p class="visit-big">{t(`join.refused.${code}` as Key)}</p>
      </Alert>
    );
  } else if (!welcome.conversation) {
    body = <p class="visit-big">{t('join.loading')}</p>;
  } else if (!call) {
    body = (
      <section aria-labelledby="join-check-h">
        <h2 id="join-check-h">{t('visit.check.title')}</h2>
        <p>{t('join.check')}</p>
        <DeviceCheck devices={devices} video={video} />
        <p>
          <button type="button" class="btn btn-primary btn-huge join-ask" disabled={state !== 'ready'} onClick={ask}>
            {t('join.ask')}
          </button>
        </p>
      </section>
    );
  } else {
    body = (
      <>
        <CallPanel call={call} full={false} leaveLabel={status === 'waiting' ? 'join.cancel' : undefined} />
        {over && (
          <p>
            {status === 'left' && <span class="visit-big">{t('join.left')} </span>}
            <button type="button" class="btn btn-primary btn-huge join-again" onClick={() => setCall(null)}>
              {t('join.again')}
            </button>
          </p>
        )}
      </>
    );
  }
  return (
    <div class="patient visit join">
      <header class="patient-header">
        <Logo name={info.name} />
        <LangSwitch class="lang-large" />
      </header>
      <main id="main" class="patient-main" tabIndex={-1}>
        <h1>{welcome.name && !refused ? t('join.welcome', { name: String(welcome.name) }) : t('join.title')}</h1>
        {welcome.title && !refused && <p class="patient-lead">{t('join.meeting', { title: String(welcome.title) })}</p>}
        {body}
        <section class="patient-help" aria-labelledby="patient-help-h">
          <h2 id="patient-help-h">{t('patient.help.title')}</h2>
          <p>{t('join.help')}</p>
        </section>
      </main>
    </div>
  );
}
