// Urgent messages I have not acknowledged: once the server reminds me of one (urgent.reminder),
// a banner over the whole messaging screen names it until I acknowledge it, here or on another
// device (urgent.acknowledged); the tab's title counts those pending.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { api } from '../../lib/api';
import { navigate } from '../../lib/app';
import type { Conversation, Message, Person } from './types';
import { acknowledgeUrgent, openConversation, type PendingUrgent } from './state';
import { convName, personName, when } from './bits';
import { msgErrorText } from './dialogs';

// "(2) ⚠ " before the title while urgent messages wait for me.
export function urgentTitle(n: number): string {
  return n > 0 ? `(${n}) ⚠ ` : '';
}

function Reminder(props: { u: PendingUrgent; people: Record<string, Person>; convs: Conversation[] | null }) {
  const { u, people } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const c = props.convs?.find((x) => x.id === u.conversation_id);
  const where = c ? `${c.kind === 'channel' ? '#' : ''}${convName(c, people)}` : t('msg.urgent.reminder.aConv');
  const author = personName(people, u.author_id);
  const textId = `urgent-${u.message_id}-text`;

  async function open() {
    // A thread reply opens in its thread: the reminder does not say, the message does.
    let thread: string | null = null;
    try {
      thread = (await api<Message>('GET', `/api/v1/messages/${u.message_id}`)).thread_root;
    } catch {
      /* opened at the conversation; the message is looked for there */
    }
    navigate(`/messages/${u.conversation_id}`);
    void openConversation(u.conversation_id, { id: u.message_id, seq: u.seq, thread });
  }

  return (
    <div class="urgent-reminder" role="alert" data-message={u.message_id}>
      <p id={textId} class="urgent-reminder-text">
        <span class="urgent-reminder-tag">
          <span aria-hidden="true">⚠ </span>
          {t('msg.urgent.tag')}
        </span>{' '}
        {t('msg.urgent.reminder.text', { author, conversation: where, time: when(u.at) })}
      </p>
      {error && <p class="urgent-reminder-error">{error}</p>}
      <div class="urgent-reminder-actions" role="group" aria-labelledby={textId}>
        <button type="button" class="btn btn-small" onClick={() => void open()}>
          {t('msg.urgent.reminder.open')}
        </button>
        <button
          type="button"
          class="btn btn-small btn-danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await acknowledgeUrgent(u);
            } catch (e) {
              setError(msgErrorText(e));
            } finally {
              setBusy(false);
            }
          }}
        >
          {t('msg.urgent.ack')}
        </button>
      </div>
    </div>
  );
}

export function UrgentReminders(props: { urgent: Record<string, PendingUrgent>; people: Record<string, Person>; convs: Conversation[] | null }) {
  const list = Object.values(props.urgent)
    .filter((u) => u.reminder > 0)
    .sort((a, b) => a.at - b.at);
  if (!list.length) return null;
  return (
    <section class="urgent-reminders" aria-label={t('msg.urgent.reminder.label')}>
      {list.map((u) => (
        <Reminder key={u.message_id} u={u} people={props.people} convs={props.convs} />
      ))}
    </section>
  );
}
