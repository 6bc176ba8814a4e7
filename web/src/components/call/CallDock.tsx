// Calls, anywhere in the staff app: a prompt when someone calls me (answer, decline; a soft ring
// while it lasts), and the call I am in, docked at the bottom of the screen while I move around.
import { useEffect, useState } from 'preact/hooks';
import { useStore } from '../../lib/store';
import { calls, answer, decline, hangUp, type Incoming } from '../../lib/calls';
import { navigate } from '../../lib/app';
import { t, type Key } from '../../i18n';
import { CallPanel } from './CallPanel';

// A two-tone ring every two seconds while a call waits (silent if the browser forbids sound
// before a first click: the prompt and the title still say it).
function useRingTone(on: boolean) {
  useEffect(() => {
    if (!on) return;
    let ctx: AudioContext | null = null;
    try {
      ctx = new AudioContext();
    } catch {
      return;
    }
    const beep = () => {
      if (!ctx || ctx.state !== 'running') return;
      for (const [f, at] of [
        [660, 0],
        [880, 0.25],
      ]) {
        const o = ctx.createOscillator();
        const g = ctx.createGain();
        o.frequency.value = f;
        g.gain.value = 0.05;
        o.connect(g).connect(ctx.destination);
        o.start(ctx.currentTime + at);
        o.stop(ctx.currentTime + at + 0.2);
      }
    };
    beep();
    const id = setInterval(beep, 2000);
    const title = document.title;
    document.title = `📞 ${t('call.incomingTitle')} · ${title}`;
    return () => {
      clearInterval(id);
      document.title = title;
      void ctx?.close();
    };
  }, [on]);
}

function IncomingPrompt(props: { inc: Incoming }) {
  const { inc } = props;
  return (
    <div class="call-incoming" role="alertdialog" aria-labelledby={`inc-${inc.call}`}>
      <p id={`inc-${inc.call}`} class="call-incoming-text">
        {t('call.incoming', { name: inc.from.display })}
      </p>
      <div class="call-incoming-actions">
        <button
          type="button"
          class="btn btn-primary call-answer"
          onClick={() => {
            answer(inc, inc.from.display);
            navigate(`/messages/${inc.conversation}`);
          }}
        >
          {t('call.answer')}
        </button>
        <button type="button" class="btn call-decline" onClick={() => decline(inc)}>
          {t('call.decline')}
        </button>
      </div>
    </div>
  );
}

export function CallDock() {
  const s = useStore(calls);
  const [small, setSmall] = useState(false); // folded: the page underneath stays usable
  useRingTone(s.incoming.length > 0);
  if (!s.active && !s.incoming.length) return null;
  return (
    <aside class={`call-dock${small ? ' call-dock-small' : ''}`} aria-label={t('call.title')}>
      {s.incoming.map((inc) => (
        <IncomingPrompt key={inc.call} inc={inc} />
      ))}
      {s.active && (
        <div class="call-dock-active">
          <p class="call-dock-title">
            <a
              href={`/messages/${s.active.conversation}`}
              onClick={(e) => {
                e.preventDefault();
                navigate(`/messages/${s.active!.conversation}`);
              }}
            >
              {s.active.title}
            </a>
            {s.active.ring && <span class="call-dock-ringing"> · {t('call.ringing')}</span>}
            {s.note && <span class="call-dock-note"> · {t(`call.note.${s.note.key}` as Key, { name: s.note.name ?? '' })}</span>}
            <button type="button" class="btn btn-small call-dock-fold" aria-expanded={small ? 'false' : 'true'} onClick={() => setSmall(!small)}>
              {t(small ? 'call.unfold' : 'call.fold')}
            </button>
          </p>
          <CallPanel call={s.active.call} onLeave={hangUp} full />
        </div>
      )}
    </aside>
  );
}
