// The staff's extras of a call: the guests from outside waiting in the lobby (the host lets them
// in or turns them away), the participant list (hands raised; for the host: ask to mute, remove,
// lock, the room's caps, end for everyone) and the device picker. The patient's screen keeps to
// the essentials and does not show them.
import { useEffect, useState } from 'preact/hooks';
import type { Call, CallState } from '../../lib/call';
import { t } from '../../i18n';

// Who waits at the door: everyone in the meeting sees it (announced to screen readers); the
// host has the buttons.
export function Lobby(props: { call: Call; s: CallState }) {
  const { call, s } = props;
  const [busy, setBusy] = useState('');
  if (!s.lobby.length || s.status !== 'joined') return null;
  const decide = async (id: string, admit: boolean) => {
    setBusy(id);
    try {
      await (admit ? call.admit(id) : call.deny(id));
    } finally {
      setBusy('');
    }
  };
  return (
    <section class="call-lobby" aria-label={t('call.lobby.title')}>
      <p role="status" aria-live="polite" class="call-lobby-count">
        {t(s.lobby.length === 1 ? 'call.lobby.one' : 'call.lobby.many', { n: s.lobby.length })}
        {!s.host && ` ${t('call.lobby.hostDecides')}`}
      </p>
      <ul>
        {s.lobby.map((g) => (
          <li key={g.id} data-guest={g.id}>
            <span class="call-lobby-name">{g.name}</span>
            {s.host && (
              <span class="call-lobby-actions">
                <button type="button" class="btn btn-small btn-primary" disabled={busy === g.id} onClick={() => void decide(g.id, true)}>
                  {t('call.lobby.admit')}
                </button>
                <button type="button" class="btn btn-small" disabled={busy === g.id} onClick={() => void decide(g.id, false)}>
                  {t('call.lobby.deny')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

// The host's caps for this room while the meeting lasts: how many people, how much video each.
const BITRATES = [
  { value: 1024000, key: 'call.limits.high' },
  { value: 512000, key: 'call.limits.medium' },
  { value: 256000, key: 'call.limits.low' },
] as const;
const SIZES = [2, 5, 10, 20, 50, 100];

function Limits(props: { call: Call; s: CallState }) {
  const { call, s } = props;
  // Up to the server's own cap, which the host may raise a lowered cap back to.
  const top = Math.max(s.maxAllowed, s.maxParticipants, 2);
  const sizes = SIZES.filter((n) => n <= top);
  for (const n of [s.maxParticipants, top]) if (n && !sizes.includes(n)) sizes.push(n);
  return (
    <div class="call-limits">
      <label class="field">
        <span>{t('call.limits.people')}</span>
        <select value={String(s.maxParticipants)} onChange={(e) => void call.setLimits({ max_participants: Number((e.target as HTMLSelectElement).value) })}>
          {sizes.sort((a, b) => a - b).map((n) => (
            <option key={n} value={String(n)}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label class="field">
        <span>{t('call.limits.video')}</span>
        <select value={String(s.bitrate)} onChange={(e) => void call.setLimits({ bitrate: Number((e.target as HTMLSelectElement).value) })}>
          {!BITRATES.some((b) => b.value === s.bitrate) && <option value={String(s.bitrate)}>{Math.round(s.bitrate / 1000)} kbit/s</option>}
          {BITRATES.map((b) => (
            <option key={b.value} value={String(b.value)}>
              {t(b.key)}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

export function Participants(props: { call: Call; s: CallState }) {
  const { call, s } = props;
  const hand = (feed: string) => (s.hands.includes(feed) ? <span class="call-hand">{t('call.handRaised')}</span> : null);
  return (
    <section class="call-people" aria-label={t('call.people')}>
      <ul>
        <li>
          {t('call.me')}
          {s.host && <span class="call-tag"> {t('call.hostTag')}</span>}
          {hand('me')}
        </li>
        {s.peers.map((p) => (
          <li key={p.feed} data-feed={p.feed}>
            <span>{p.display}</span>
            {s.hostFeed === p.feed && <span class="call-tag"> {t('call.hostTag')}</span>}
            {hand(p.feed)}
            {s.host && (
              <span class="call-people-actions">
                {s.classroom && (
                  <button type="button" class="btn btn-small" onClick={() => void call.letPresent(p.feed, !s.presenters.includes(p.feed))}>
                    {t(s.presenters.includes(p.feed) ? 'call.stopPresent' : 'call.letPresent')}
                  </button>
                )}
                <button type="button" class="btn btn-small" onClick={() => void call.mute(p.feed)}>
                  {t('call.askMute')}
                </button>
                <button type="button" class="btn btn-small call-remove" onClick={() => void call.remove(p.feed)}>
                  {t('call.remove')}
                </button>
              </span>
            )}
          </li>
        ))}
      </ul>
      {s.host && (
        <p class="call-people-host">
          <button type="button" class="btn btn-small" aria-pressed={s.classroom} onClick={() => void call.setClassMode(!s.classroom)}>
            {t(s.classroom ? 'call.meetingMode' : 'call.classMode')}
          </button>
          <button type="button" class="btn btn-small" aria-pressed={s.locked} onClick={() => void call.lock(!s.locked)}>
            {t(s.locked ? 'call.unlock' : 'call.lock')}
          </button>
          <button type="button" class="btn btn-small call-end-all" onClick={() => void call.endForAll()}>
            {t('call.endForAll')}
          </button>
        </p>
      )}
      {s.host && s.maxParticipants > 0 && <Limits call={call} s={s} />}
      {!s.host && s.locked && <p class="muted">{t('call.lockedNote')}</p>}
    </section>
  );
}

export function Devices(props: { call: Call; s: CallState }) {
  const [list, setList] = useState<MediaDeviceInfo[]>([]);
  useEffect(() => {
    const load = () => navigator.mediaDevices?.enumerateDevices().then(setList, () => setList([]));
    void load();
    navigator.mediaDevices?.addEventListener('devicechange', load);
    return () => navigator.mediaDevices?.removeEventListener('devicechange', load);
  }, []);
  const pick = (kind: 'camera' | 'microphone', devKind: MediaDeviceKind) => {
    const options = list.filter((d) => d.kind === devKind);
    const current = props.s.local?.[kind === 'camera' ? 'getVideoTracks' : 'getAudioTracks']()[0]?.getSettings().deviceId ?? '';
    return (
      <label class="field">
        <span>{t(kind === 'camera' ? 'call.camera' : 'call.microphone')}</span>
        <select value={props.s.devices[kind] || current} onChange={(e) => void props.call.useDevice(kind, (e.target as HTMLSelectElement).value)}>
          {options.map((d, i) => (
            <option key={d.deviceId} value={d.deviceId}>
              {d.label || `${t(kind === 'camera' ? 'call.camera' : 'call.microphone')} ${i + 1}`}
            </option>
          ))}
        </select>
      </label>
    );
  };
  return (
    <section class="call-devices" aria-label={t('call.devices')}>
      {pick('camera', 'videoinput')}
      {pick('microphone', 'audioinput')}
    </section>
  );
}
