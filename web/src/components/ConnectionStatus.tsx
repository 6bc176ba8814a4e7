// The live connection indicator, driven by the event socket's state. The text is in a polite
// live region so a screen reader hears "reconnecting…" and "connected" as they happen.
import { app } from '../lib/app';
import { t, type Key } from '../i18n';

const labels: Record<string, Key> = {
  idle: 'conn.connecting',
  connecting: 'conn.connecting',
  connected: 'conn.connected',
  reconnecting: 'conn.reconnecting',
  offline: 'conn.offline',
};

export function ConnectionStatus() {
  const { conn } = app.get();
  const state = conn === 'idle' ? 'connecting' : conn;
  return (
    <div class={`conn conn-${state}`} data-state={state}>
      <span class="conn-dot" aria-hidden="true" />
      <span class="conn-text" role="status" aria-live="polite" aria-atomic="true">
        <span class="visually-hidden">{t('conn.label')} </span>
        {t(labels[state])}
      </span>
    </div>
  );
}
