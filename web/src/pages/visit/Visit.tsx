// The patient's journey from the link of their invitation, with no account: what the
// consultation is, consent, a check of camera, microphone and network, the waiting room, then
// admitted, then the end. The link is the key (GET/POST /api/v1/visit/<token>). Plain words, one
// step at a time, large controls; nothing here needs the staff's session.
import type { RefObject } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from '../../lib/api';
import { app } from '../../lib/app';
import { t, formatDate, formatTime, type Key } from '../../i18n';
import { LangSwitch, Alert, Live } from '../../components/ui';
import { Logo } from '../../components/Logo';
import { GuestSocket } from './guestSocket';
import { Call } from '../../lib/call';
import { CallPanel } from '../../components/call/CallPanel';

interface Visit {
  status: string;
  start: number;
  end: number;
  practitioner?: string;
  consultation: 'scheduled' | 'waiting' | 'in_call' | 'done' | 'no_show';
  consent: boolean;
  waiting_room_opens: number;
  waiting_since?: number;
  site: string;
  patient_given?: string;
  link: 'early' | 'open';
  role: 'patient' | 'relative' | 'interpreter';
  notice?: { text: string; at: number };
}

type Refusal = 'link_unknown' | 'link_revoked' | 'link_expired' | 'too_many_attempts' | 'network';
const POLL_MS = 3000;

const call = (token: string, method: 'GET' | 'POST', path = '', body?: unknown) =>
  api<Visit>(method, `/api/v1/visit/${encodeURIComponent(token)}${path}`, body, { session: false });

function refusalOf(e: unknown): Refusal {
  if (e instanceof ApiError && ['link_unknown', 'link_revoked', 'link_expired', 'too_many_attempts'].includes(e.code))
    return e.code as Refusal;
  return 'network';
}

// ---- the device check --------------------------------------------------------------------------

type Check = 'pending' | 'ok' | 'failed';
interface Devices {
  camera: Check;
  microphone: Check;
  network: Check;
  level: number;
}

export function useDeviceCheck(active: boolean, video: { current: HTMLVideoElement | null }): Devices {
  const [d, setD] = useState<Devices>({ camera: 'pending', microphone: 'pending', network: 'pending', level: 0 });
  useEffect(() => {
    if (!active) return;
    let stream: MediaStream | null = null;
    let ctx: AudioContext | null = null;
    let raf = 0;
    let stopped = false;
    const t0 = performance.now();
    fetch('/healthz', { cache: 'no-store' })
      .then((r) => setD((x) => ({ ...x, network: r.ok && performance.now() - t0 < 2000 ? 'ok' : 'failed' })))
      .catch(() => setD((x) => ({ ...x, network: 'failed' })));
    navigator.mediaDevices
      ?.getUserMedia({ video: true, audio: true })
      .then((s) => {
        if (stopped) return s.getTracks().forEach((tr) => tr.stop());
        stream = s;
        if (video.current) video.current.srcObject = s;
        setD((x) => ({ ...x, camera: s.getVideoTracks().length ? 'ok' : 'failed', microphone: s.getAudioTracks().length ? 'ok' : 'failed' }));
        ctx = new AudioContext();
        const an = ctx.createAnalyser();
        ctx.createMediaStreamSource(s).connect(an);
        const buf = new Uint8Array(an.frequencyBinCount);
        const tick = () => {
          an.getByteFrequencyData(buf);
          const level = Math.min(100, Math.round((buf.reduce((a, b) => a + b, 0) / buf.length) * 2));
          setD((x) => (Math.abs(x.level - level) > 4 ? { ...x, level } : x));
          raf = requestAnimationFrame(tick);
        };
        tick();
      })
      .catch(() => setD((x) => ({ ...x, camera: 'failed', microphone: 'failed' })));
    return () => {
      stopped = true;
      cancelAnimationFrame(raf);
      stream?.getTracks().forEach((tr) => tr.stop());
      void ctx?.close();
    };
  }, [active]);
  return d;
}

function CheckLine(props: { label: string; state: Check }) {
  const mark = props.state === 'ok' ? '✓' : props.state === 'failed' ? '✗' : '…';
  return (
    <li class={`visit-check visit-check-${props.state}`}>
      <span aria-hidden="true" class="visit-check-mark">{mark}</span> {props.label} :{' '}
      <strong>{t(`visit.check.${props.state}` as Key)}</strong>
    </li>
  );
}

// The camera's picture, the three checks and the microphone's level (a patient's and a guest's).
export function DeviceCheck(props: { devices: Devices; video: RefObject<HTMLVideoElement | null> }) {
  const { devices } = props;
  return (
    <>
      <video ref={props.video} class="visit-preview" autoPlay muted playsInline aria-label={t('visit.check.preview')} />
      <ul class="visit-checks">
        <CheckLine label={t('visit.check.camera')} state={devices.camera} />
        <CheckLine label={t('visit.check.microphone')} state={devices.microphone} />
        <CheckLine label={t('visit.check.network')} state={devices.network} />
      </ul>
      <div class="visit-level" role="meter" aria-label={t('visit.check.level')} aria-valuemin={0} aria-valuemax={100} aria-valuenow={devices.level}>
        <span style={{ width: `${devices.level}%` }} />
      </div>
    </>
  );
}

// ---- the page ----------------------------------------------------------------------------------

export function VisitPage(props: { token: string }) {
  const { info } = app.get();
  const [visit, setVisit] = useState<Visit | null>(null);
  const [refused, setRefused] = useState<Refusal | null>(null);
  const [agreed, setAgreed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());
  const video = useRef<HTMLVideoElement>(null);
  const step = !visit ? 'loading' : visit.consultation === 'done' || visit.consultation === 'no_show' ? 'end'
    : visit.consultation === 'in_call' ? 'admitted' : visit.consultation === 'waiting' ? 'waiting'
    : !visit.consent && visit.role === 'patient' ? 'consent' : 'check';
  const devices = useDeviceCheck(step === 'check', video);

  // The first load is an opening of the page (audited); the waiting room's questions are polls.
  const load = (poll = false) =>
    call(props.token, 'GET', poll ? '?poll=1' : '')
      .then((v) => {
        setVisit(v);
        setRefused(null);
      })
      .catch((e) => setRefused(refusalOf(e)));

  useEffect(() => {
    document.title = `${t('visit.title')} · ${info.name}`;
    void load();
  }, [props.token]);
  // The patient's WebSocket: told at once when the practitioner admits (or leaves a word), and
  // it carries the call. Opened once the link is known to work, kept for the page's life.
  const [socket, setSocket] = useState<GuestSocket | null>(null);
  const linkWorks = !!visit && !refused && visit.consultation !== 'done' && visit.consultation !== 'no_show';
  useEffect(() => {
    if (!linkWorks || socket) return;
    const s = new GuestSocket(props.token);
    s.onFrame((m) => {
      if (m.type === 'visit.updated') void load(true);
    });
    setSocket(s);
  }, [linkWorks]);
  useEffect(() => () => socket?.close(), [socket]);
  // Admitted: the call starts by itself (the practitioner is already in it, or about to be).
  const [videoCall, setVideoCall] = useState<Call | null>(null);
  const [ready, setReady] = useState(false);
  const [hungUp, setHungUp] = useState(false); // the patient left the call: they may come back
  useEffect(() => socket?.onState((st) => setReady(st === 'ready')), [socket]);
  const inCall = visit?.consultation === 'in_call';
  useEffect(() => {
    if (!inCall || !socket || !ready || videoCall || hungUp || !socket.consultation) return;
    const c = new Call(socket, { consultation: socket.consultation });
    setVideoCall(c);
    void c.join();
  }, [inCall, socket, ready, hungUp]);
  useEffect(() => {
    if (!inCall && videoCall) void videoCall.leave(); // ended: the server took everyone out already
  }, [inCall]);
  // The waiting room follows the practitioner: asked again every few seconds.
  useEffect(() => {
    const id = setInterval(() => {
      setNow(Date.now());
      if (step === 'waiting' || step === 'check' || step === 'admitted') void load(true);
    }, POLL_MS);
    return () => clearInterval(id);
  }, [step]);

  const act = async (path: string, body?: unknown) => {
    setBusy(true);
    setError('');
    try {
      setVisit(await call(props.token, 'POST', path, body));
    } catch (e) {
      if (e instanceof ApiError && e.code === 'too_early') setError(t('visit.tooEarly'));
      else if (e instanceof ApiError && e.status === 410) setRefused(refusalOf(e));
      else setError(t('visit.failed'));
    } finally {
      setBusy(false);
    }
  };

  const when = visit ? t('visit.when', { date: formatDate(visit.start), time: formatTime(visit.start) }) : '';
  const roomOpen = visit ? now >= visit.waiting_room_opens : false;
  let body;
  if (refused) {
    body = (
      <Alert kind={refused === 'network' ? 'warning' : 'error'}>
        <p class="visit-big">{t(`visit.refused.${refused}` as Key)}</p>
        {refused === 'network' && (
          <button type="button" class="btn btn-primary btn-huge" onClick={() => void load()}>
            {t('patient.retry')}
          </button>
        )}
      </Alert>
    );
  } else if (!visit) {
    body = <p class="visit-big">{t('visit.loading')}</p>;
  } else if (step === 'consent') {
    body = (
      <section aria-labelledby="visit-consent-h">
        <h2 id="visit-consent-h">{t('visit.consent.title')}</h2>
        <p>{t('visit.consent.text')}</p>
        <label class="visit-agree">
          <input type="checkbox" checked={agreed} onChange={(e) => setAgreed((e.target as HTMLInputElement).checked)} />{' '}
          {t('visit.consent.agree')}
        </label>
        <p>
          <button type="button" class="btn btn-primary btn-huge" disabled={!agreed || busy} onClick={() => void act('/consent', { accepted: true })}>
            {t('visit.consent.continue')}
          </button>
        </p>
      </section>
    );
  } else if (step === 'check') {
    const audioOnly = devices.camera === 'failed' && devices.microphone === 'ok';
    body = (
      <section aria-labelledby="visit-check-h">
        <h2 id="visit-check-h">{t('visit.check.title')}</h2>
        <DeviceCheck devices={devices} video={video} />
        {devices.camera === 'failed' && <Alert kind="warning">{t(audioOnly ? 'visit.check.audioOnly' : 'visit.check.blocked')}</Alert>}
        {roomOpen ? (
          <p>
            <button type="button" class="btn btn-primary btn-huge" disabled={busy} onClick={() => void act('/arrive')}>
              {t('visit.enter')}
            </button>
          </p>
        ) : (
          <Alert kind="info">{t('visit.opensAt', { time: formatTime(visit.waiting_room_opens), date: formatDate(visit.waiting_room_opens) })}</Alert>
        )}
      </section>
    );
  } else if (step === 'waiting') {
    const minutes = Math.max(0, Math.floor((now - (visit.waiting_since ?? now)) / 60000));
    body = (
      <section aria-labelledby="visit-wait-h" class="visit-waiting">
        <h2 id="visit-wait-h">{t('visit.waiting.title')}</h2>
        <p class="visit-big">{t('visit.waiting.text', { who: visit.practitioner ?? '' })}</p>
        {visit.notice && (
          <div role="status" class="visit-word">
            <p>{t('visit.word', { time: formatTime(visit.notice.at) })}</p>
            <p class="visit-big">{visit.notice.text}</p>
          </div>
        )}
        <Live>
          <p>{t('visit.waiting.since', { minutes })}</p>
        </Live>
        <p>{t('visit.waiting.stay')}</p>
      </section>
    );
  } else if (step === 'admitted') {
    body = (
      <>
        <Live>
          <h2>{t('visit.admitted.title')}</h2>
          <p class="visit-big">{t('visit.admitted.text', { who: visit.practitioner ?? '' })}</p>
        </Live>
        {videoCall && (
          <CallPanel
            call={videoCall}
            waitingFor={visit.practitioner}
            onLeave={() => {
              setVideoCall(null);
              setHungUp(true);
            }}
          />
        )}
        {hungUp && (
          <p>
            <button type="button" class="btn btn-primary btn-huge" onClick={() => setHungUp(false)}>
              {t('visit.callBack')}
            </button>
          </p>
        )}
      </>
    );
  } else {
    body = (
      <section aria-labelledby="visit-end-h">
        <h2 id="visit-end-h">{t(visit.consultation === 'done' ? 'visit.end.title' : 'visit.noshow.title')}</h2>
        <p class="visit-big">{t(visit.consultation === 'done' ? 'visit.end.text' : 'visit.noshow.text')}</p>
      </section>
    );
  }
  return (
    <div class="patient visit">
      <header class="patient-header">
        <Logo name={info.name} />
        <LangSwitch class="lang-large" />
      </header>
      <main id="main" class="patient-main" tabIndex={-1}>
        <h1>{visit?.patient_given && visit.role === 'patient' ? t('visit.hello', { name: visit.patient_given }) : t('visit.title')}</h1>
        {visit && !refused && (
          <p class="patient-lead">
            {t('visit.summary', { when, who: visit.practitioner ?? t('visit.someone') })}
          </p>
        )}
        {error && <Alert kind="error">{error}</Alert>}
        {body}
        <section class="patient-help" aria-labelledby="patient-help-h">
          <h2 id="patient-help-h">{t('patient.help.title')}</h2>
          <p>{t('patient.help.text')}</p>
        </section>
      </main>
    </div>
  );
}
