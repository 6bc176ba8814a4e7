// The details of a conversation, opened from its header (a <dialog>, full screen on a phone):
// name and topic, the members with their presence and role, and only the actions the server
// allows me (docs/api/openapi.yaml): rename and change the topic, invite, remove, leave, archive.
import { useState } from 'preact/hooks';
import { t } from '../../i18n';
import { navigate } from '../../lib/app';
import { Alert, ConfirmDialog, Field, Spinner } from '../../components/ui';
import type { Person } from './types';
import { myId, updateConversation, inviteMember, removeMember, leaveConversation, type OpenConv } from './state';
import { PresenceDot, convName, personName, presenceLabel } from './bits';
import { Modal, PeoplePicker, msgErrorText } from './dialogs';

// What I may do here, as the server decides it (channels: owners change them and, when private,
// invite; groups: any member renames and invites, owners archive and remove; direct: nothing).
export function rights(o: OpenConv) {
  const c = o.conv;
  const member = !!c && c.my_role != null && !o.gone;
  const owner = member && c!.my_role === 'owner';
  const direct = c?.kind === 'direct';
  const archived = !!c?.archived;
  const channel = c?.kind === 'channel';
  return {
    rename: member && !direct && !archived && (!channel || owner),
    invite: member && !direct && !archived && (!channel || c!.visibility === 'public' || owner),
    remove: owner && !direct,
    leave: member && !direct,
    archive: owner && !direct,
  };
}

function About(props: { open: OpenConv; canEdit: boolean; onDone: (status: string) => void }) {
  const conv = props.open.conv!;
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState('');
  const [topic, setTopic] = useState('');
  const [nameError, setNameError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const kind = conv.kind === 'channel' ? t(conv.visibility === 'private' ? 'msg.details.kind.private' : 'msg.details.kind.public') : conv.kind === 'group' ? t('msg.details.kind.group') : t('msg.details.kind.direct');

  if (editing)
    return (
      <form
        class="stack details-edit"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const patch: { name?: string; topic?: string } = {};
          if (name.trim() && name.trim() !== (conv.name ?? '')) patch.name = name.trim();
          else if (!name.trim() && conv.kind === 'channel') {
            setNameError(t('msg.new.name.required'));
            return;
          }
          if (topic.trim() !== (conv.topic ?? '')) patch.topic = topic.trim();
          if (!Object.keys(patch).length) {
            setEditing(false);
            return;
          }
          setBusy(true);
          setError(null);
          try {
            await updateConversation(conv.id, patch);
            setEditing(false);
            props.onDone(t('msg.details.saved'));
          } catch (err) {
            setError(msgErrorText(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        {error && <Alert kind="error">{error}</Alert>}
        <Field
          id="details-name"
          label={conv.kind === 'channel' ? t('msg.new.name') : t('msg.new.groupName')}
          value={name}
          onValue={(v) => {
            setName(v);
            setNameError(null);
          }}
          maxLength={80}
          error={nameError}
          autoComplete="off"
          required={conv.kind === 'channel'}
        />
        <Field id="details-topic" label={t('msg.details.topic')} value={topic} onValue={setTopic} maxLength={250} autoComplete="off" />
        <div class="actions">
          <button type="button" class="btn" onClick={() => setEditing(false)}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="btn btn-primary" disabled={busy}>
            {t('common.save')}
          </button>
        </div>
      </form>
    );
  return (
    <div class="details-about">
      <dl class="details-dl">
        <dt>{t('msg.details.kind')}</dt>
        <dd>{kind}</dd>
        <dt>{t('msg.details.topic')}</dt>
        <dd>{conv.topic || <span class="muted">{t('msg.details.noTopic')}</span>}</dd>
        <dt>{t('msg.details.state')}</dt>
        <dd>{conv.archived ? t('msg.details.archived') : t('msg.details.active')}</dd>
      </dl>
      {props.canEdit && (
        <button
          type="button"
          class="btn btn-small"
          onClick={() => {
            setName(conv.name ?? '');
            setTopic(conv.topic ?? '');
            setNameError(null);
            setError(null);
            setEditing(true);
          }}
        >
          {t('msg.details.edit')}
        </button>
      )}
    </div>
  );
}

export function DetailsDialog(props: { open: OpenConv; people: Record<string, Person>; onClose: () => void }) {
  const { open, people } = props;
  const conv = open.conv!;
  const can = rights(open);
  const me = myId();
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [inviting, setInviting] = useState(false);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [busy, setBusy] = useState(false);
  const members = open.members;
  const name = convName(conv, people);

  async function run(f: () => Promise<void>, done: string) {
    setBusy(true);
    setError(null);
    setStatus('');
    try {
      await f();
      setStatus(done);
    } catch (e) {
      setError(msgErrorText(e));
    } finally {
      setBusy(false);
    }
  }

  // The confirmation is a dialog of its own beside this one (not inside it), over it once open.
  return (
    <>
      <Modal title={t('msg.details.title', { name })} onClose={props.onClose} wide>
        <div class="stack details">
          {error && <Alert kind="error">{error}</Alert>}
          <p class="details-status" role="status">
            {status}
          </p>
          <About open={open} canEdit={can.rename} onDone={setStatus} />

          <section aria-labelledby="details-members-h">
            <h3 id="details-members-h" class="details-h">
              {t('msg.details.members', { n: members?.length ?? conv.members_count })}
            </h3>
            {!members ? (
              <Spinner />
            ) : (
              <ul class="details-members">
                {members.map((m) => {
                  const who = m.user_id === me ? t('msg.details.you', { name: m.display_name }) : m.display_name || personName(people, m.user_id);
                  const p = people[m.user_id] ?? { id: m.user_id, username: m.username, display_name: m.display_name, presence: m.presence };
                  return (
                    <li key={m.user_id} data-user={m.user_id}>
                      <PresenceDot person={p} />
                      <span class="details-member-name">
                        {who}
                        <span class="details-member-presence">{presenceLabel(p.presence?.status)}</span>
                      </span>
                      <span class={`tag details-role details-role-${m.role}`}>{t(m.role === 'owner' ? 'msg.details.owner' : 'msg.details.member')}</span>
                      {can.remove && m.user_id !== me && (
                        <button
                          type="button"
                          class="btn btn-small"
                          disabled={busy}
                          aria-label={t('msg.details.remove.named', { name: m.display_name })}
                          onClick={() => void run(() => removeMember(conv.id, m.user_id), t('msg.details.removed', { name: m.display_name }))}
                        >
                          {t('msg.details.remove')}
                        </button>
                      )}
                    </li>
                  );
                })}
              </ul>
            )}
            {can.invite && (
              <div class="details-invite">
                <button type="button" class="btn btn-small" aria-expanded={inviting ? 'true' : 'false'} onClick={() => setInviting(!inviting)}>
                  {t('msg.details.invite')}
                </button>
                {inviting && (
                  <PeoplePicker
                    multiple={false}
                    chosen={[]}
                    label={t('msg.new.find')}
                    exclude={new Set((members ?? []).map((m) => m.user_id))}
                    onChosen={(list) => {
                      const p = list[0];
                      if (p) void run(() => inviteMember(conv.id, p.id), t('msg.details.invited', { name: p.display_name }));
                    }}
                  />
                )}
              </div>
            )}
          </section>

          {conv.kind === 'direct' && <p class="muted">{t('msg.details.directNote')}</p>}
          {(can.archive || can.leave) && (
            <section aria-labelledby="details-actions-h">
              <h3 id="details-actions-h" class="details-h">
                {t('msg.details.actions')}
              </h3>
              <div class="details-actions">
                {can.archive && (
                  <button
                    type="button"
                    class="btn"
                    disabled={busy}
                    onClick={() =>
                      void run(
                        () => updateConversation(conv.id, { archived: !conv.archived }),
                        conv.archived ? t('msg.details.unarchived') : t('msg.details.archivedDone'),
                      )
                    }
                  >
                    {conv.archived ? t('msg.details.unarchive') : t('msg.details.archive')}
                  </button>
                )}
                {can.leave && (
                  <button type="button" class="btn btn-danger" disabled={busy} onClick={() => setConfirmLeave(true)}>
                    {t('msg.details.leave')}
                  </button>
                )}
              </div>
              {can.archive && <p class="muted details-hint">{t('msg.details.archive.hint')}</p>}
            </section>
          )}
          <div class="actions">
            <button type="button" class="btn" onClick={props.onClose}>
              {t('common.close')}
            </button>
          </div>
        </div>
      </Modal>
      {can.leave && (
        <ConfirmDialog
          open={confirmLeave}
          title={t('msg.details.leave.title', { name })}
          confirmLabel={t('msg.details.leave')}
          danger
          busy={busy}
          onCancel={() => setConfirmLeave(false)}
          onConfirm={async () => {
            setBusy(true);
            setError(null);
            try {
              await leaveConversation(conv.id);
              setConfirmLeave(false);
              props.onClose();
              navigate('/messages');
            } catch (e) {
              setConfirmLeave(false);
              setError(msgErrorText(e));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>{conv.kind === 'channel' && conv.visibility === 'public' ? t('msg.details.leave.public') : t('msg.details.leave.private')}</p>
        </ConfirmDialog>
      )}
    </>
  );
}
