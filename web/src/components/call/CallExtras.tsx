// The staff's extras of a call: the participant list (hands raised; for the host: ask to mute,
// remove, lock, end for everyone) and the device picker. The patient's screen keeps to the
// essentials and does not show them.
import { useEffect, useState } from 'preact/hooks';
import type { Call, CallState } from '../../lib/call';
import { t } from '../../i18n';

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
