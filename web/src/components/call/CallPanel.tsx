// The call on screen: the others large (each with their name; a tile with their initials when
// no video comes), oneself small, and big plain controls: microphone, camera, sound only, hang
// up. A weak connection is said in words, with the offer to go on with sound only. Used by the
// patient's page and by the practitioner's agenda; the Call (lib/call.ts) does the signalling.
import './call.css';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Call, CallPeer, CallState } from '../../lib/call';
import { t, type Key } from '../../i18n';
import { Lobby, Participants, Devices } from './CallExtras';

function Video(props: { stream: MediaStream; muted?: boolean; label: string; class?: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    if (ref.current && ref.current.srcObject !== props.stream) ref.current.srcObject = props.stream;
  }, [props.stream]);
  return <video ref={ref} class={props.class} autoPlay playsInline muted={props.muted} aria-label={props.label} />;
}

const initials = (name: string) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]!.toUpperCase())
    .join('') || '?';

function PeerTile(props: { peer: CallPeer; speaking: boolean; hand: boolean }) {
  const { peer } = props;
  return (
    <figure class={`call-peer${props.speaking ? ' call-speaking' : ''}`} data-feed={peer.feed}>
      {peer.video ? (
        <Video stream={peer.stream} label={t('call.videoOf', { name: peer.display })} class="call-remote" />
      ) : (
        <>
          <div class="call-initials" aria-hidden="true">{initials(peer.display)}</div>
          <Video stream={peer.stream} label={t('call.soundOf', { name: peer.display })} class="call-hidden" />
        </>
      )}
      <figcaption>
        {peer.display}
        {props.hand && <span class="call-hand">{t('call.handRaised')}</span>}
      </figcaption>
    </figure>
  );
}

function ScreenTile(props: { peer: CallPeer }) {
  return (
    <figure class="call-peer call-screen" data-feed={props.peer.feed}>
      <Video stream={props.peer.screen!} label={t('call.screenOf', { name: props.peer.display })} class="call-remote" />
      <figcaption>{t('call.screenOf', { name: props.peer.display })}</figcaption>
    </figure>
  );
}

// full: the staff's call (layouts, hand, screen, participants, devices); without it, the
// patient's (microphone, camera, sound only, hang up).
export function CallPanel(props: { call: Call; waitingFor?: string; onLeave?: () => void; leaveLabel?: Key; full?: boolean }) {
  const [s, setS] = useState<CallState>(props.call.state);
  const [layout, setLayout] = useState<'grid' | 'speaker'>('grid');
  const [panel, setPanel] = useState<'' | 'people' | 'devices'>('');
  useEffect(() => props.call.subscribe(setS), [props.call]);
  const { call, full } = props;
  // Speaker layout: whoever speaks (or shares a screen) large, the others in a strip.
  const screens = s.peers.filter((p) => p.screen);
  const main = layout === 'speaker' ? (s.peers.find((p) => p.feed === s.speaker) ?? s.peers[0]) : null;
  const ordered = main ? [main, ...s.peers.filter((p) => p !== main)] : s.peers;
  const toggle = (label: Key, on: boolean, act: () => void) => (
    <button type="button" class={`btn call-btn ${on ? '' : 'call-off'}`} aria-pressed={on} onClick={act}>
      {t(label)}
    </button>
  );
  let status: string | null = null;
  if (s.status === 'joining') status = t('call.joining');
  else if (s.status === 'waiting') status = t('call.lobby.waiting');
  else if (s.status === 'reconnecting') status = t('call.reconnecting');
  else if (s.status === 'failed') status = t(s.reason === 'denied' ? 'call.lobby.denied' : 'call.failed');
  else if (s.status === 'left') status = t(`call.left.${s.reason === 'ended' || s.reason === 'removed_by_host' || s.reason === 'removed' ? s.reason : 'left'}` as Key);
  else if (s.peers.length === 0) status = props.waitingFor ? t('call.waitingFor', { name: props.waitingFor }) : t('call.alone');
  return (
    <section class="call" aria-label={t('call.title')} data-status={s.status}>
      <div class={`call-stage call-n${Math.min(s.peers.length + screens.length, 4)} call-layout-${layout}`}>
        {screens.map((p) => (
          <ScreenTile key={`screen-${p.feed}`} peer={p} />
        ))}
        {ordered.map((p) => (
          <PeerTile key={p.feed} peer={p} speaking={s.speaker === p.feed && s.peers.length > 1} hand={s.hands.includes(p.feed)} />
        ))}
        {status && (
          <p class="call-status" role="status">
            {status}
          </p>
        )}
        {s.local && s.camera && !s.audioOnly && s.status !== 'left' && (
          <Video stream={s.local} muted label={t('call.self')} class="call-self" />
        )}
      </div>
      {s.classroom && !s.presenting && s.status === 'joined' && (
        <p class="call-class-note" role="status">
          {t('call.watching')}
        </p>
      )}
      {s.mutedByHost && (
        <p class="call-muted-note" role="status">
          {t('call.mutedByHost')}
        </p>
      )}
      {s.quality === 'poor' && !s.audioOnly && s.status === 'joined' && (
        <div class="call-weak" role="alert">
          <p>{t('call.weak')}</p>
          <button type="button" class="btn btn-primary" onClick={() => void call.setAudioOnly(true)}>
            {t('call.soundOnly')}
          </button>
        </div>
      )}
      {full && <Lobby call={call} s={s} />}
      {full && panel === 'people' && s.status === 'joined' && <Participants call={call} s={s} />}
      {full && panel === 'devices' && s.status === 'joined' && <Devices call={call} s={s} />}
      {(s.status === 'left' || s.status === 'failed') && props.onLeave && (
        <p>
          <button type="button" class="btn" onClick={props.onLeave}>
            {t('common.close')}
          </button>
        </p>
      )}
      {s.status !== 'left' && (
        <div class="call-controls" role="group" aria-label={t('call.controls')}>
          {s.presenting && toggle('call.microphone', s.microphone, () => call.setMicrophone(!s.microphone))}
          {s.presenting && !s.audioOnly && toggle('call.camera', s.camera, () => call.setCamera(!s.camera))}
          <button type="button" class="btn call-btn" aria-pressed={s.audioOnly} onClick={() => void call.setAudioOnly(!s.audioOnly)}>
            {t(s.audioOnly ? 'call.videoBack' : 'call.soundOnly')}
          </button>
          {full && (
            <>
              <button type="button" class="btn call-btn" aria-pressed={s.hands.includes('me')} onClick={() => call.raiseHand(!s.hands.includes('me'))}>
                {t(s.hands.includes('me') ? 'call.lowerHand' : 'call.raiseHand')}
              </button>
              {'getDisplayMedia' in (navigator.mediaDevices ?? {}) && (
                <button type="button" class="btn call-btn" aria-pressed={s.sharing} onClick={() => void call.shareScreen(!s.sharing).catch(() => {})}>
                  {t(s.sharing ? 'call.stopSharing' : 'call.share')}
                </button>
              )}
              <button type="button" class="btn call-btn" aria-pressed={layout === 'speaker'} onClick={() => setLayout(layout === 'grid' ? 'speaker' : 'grid')}>
                {t(layout === 'grid' ? 'call.layoutSpeaker' : 'call.layoutGrid')}
              </button>
              <button type="button" class="btn call-btn" aria-expanded={panel === 'people'} onClick={() => setPanel(panel === 'people' ? '' : 'people')}>
                {t('call.peopleButton', { n: s.peers.length + 1 })}
              </button>
              <button type="button" class="btn call-btn" aria-expanded={panel === 'devices'} onClick={() => setPanel(panel === 'devices' ? '' : 'devices')}>
                {t('call.devices')}
              </button>
            </>
          )}
          <span class={`call-quality call-quality-${s.quality}`}>{t(`call.quality.${s.quality}` as Key)}</span>
          <button
            type="button"
            class="btn call-btn call-hangup"
            onClick={() => {
              void call.leave();
              props.onLeave?.();
            }}
          >
            {t(props.leaveLabel ?? 'call.hangUp')}
          </button>
        </div>
      )}
    </section>
  );
}
