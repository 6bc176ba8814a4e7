// The audit log: filters (user, action, object, outcome, time in the hospital's zone), pages of
// records newest first, and a check of the whole hash chain.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../lib/api';
import { t, formatDateTimeSeconds, parseLocalDateTime, getTimeZone, type Key } from '../../i18n';
import { Alert, Field, Page, Select, Spinner } from '../../components/ui';
import type { AuditRecord, AuditReport, User } from '../../lib/types';
import { can } from '../../lib/app';
import { errorText } from '../Login';

const ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.logout_all',
  'auth.lockout',
  'auth.throttled',
  'auth.password_change',
  'auth.totp_enable',
  'user.create',
  'user.update',
  'user.reset_password',
  'user.reset_totp',
  'session.revoked',
  'access.denied',
  'audit.read',
  'audit.verify',
];
const OUTCOMES = ['success', 'failure', 'denied', 'pending'];
const PAGE = 50;

interface Filters {
  actor: string;
  action: string;
  object: string;
  outcome: string;
  from: string;
  to: string;
}
const empty: Filters = { actor: '', action: '', object: '', outcome: '', from: '', to: '' };

function outcomeLabel(o: string): string {
  return OUTCOMES.includes(o) ? t(`audit.outcome.${o}` as Key) : o;
}

function details(d: Record<string, unknown> | null): string {
  if (!d) return '';
  return Object.entries(d)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
}

// "user:<id>" is shown with the account's username when this role can read accounts.
function ObjectName(props: { object: string | null; names: Record<string, string> }) {
  const o = props.object;
  if (!o) return <>—</>;
  const m = /^user:([0-9A-Za-z]{26})$/.exec(o);
  const name = m && props.names[m[1]];
  if (!name) return <>{o}</>;
  return (
    <>
      <span class="object-name">{name}</span>
      <br />
      <span class="muted small">{o}</span>
    </>
  );
}

export function AuditPage() {
  const [names, setNames] = useState<Record<string, string>>({});
  // The filters are folded on a phone, where they would push the records far down.
  const [filtersOpen] = useState(() => !window.matchMedia || window.matchMedia('(min-width: 641px)').matches);
  const [f, setF] = useState<Filters>(empty);
  const [applied, setApplied] = useState<Filters>(empty);
  const [records, setRecords] = useState<AuditRecord[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [fe, setFe] = useState<{ from?: string; to?: string }>({});
  const [loading, setLoading] = useState(false);
  const [report, setReport] = useState<AuditReport | null>(null);
  const [verifying, setVerifying] = useState(false);
  const [verifyError, setVerifyError] = useState<string | null>(null);

  function query(filters: Filters, before?: number): string {
    const q = new URLSearchParams();
    if (filters.actor.trim()) q.set('actor', filters.actor.trim());
    if (filters.action.trim()) q.set('action', filters.action.trim());
    if (filters.object.trim()) q.set('object', filters.object.trim());
    if (filters.outcome) q.set('outcome', filters.outcome);
    const from = filters.from ? parseLocalDateTime(filters.from) : null;
    const to = filters.to ? parseLocalDateTime(filters.to) : null;
    if (from) q.set('from', String(from));
    if (to) q.set('to', String(to));
    if (before) q.set('before', String(before));
    q.set('limit', String(PAGE));
    return q.toString();
  }

  async function load(filters: Filters, before?: number) {
    setLoading(true);
    setError(null);
    try {
      const r = await api<{ records: AuditRecord[]; next_before?: number }>('GET', `/api/v1/audit?${query(filters, before)}`);
      setRecords((old) => (before && old ? [...old, ...r.records] : r.records));
      setNext(r.next_before ?? null);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setLoading(false);
    }
  }
  useEffect(() => {
    void load(empty);
    if (can('users.read'))
      api<{ users: User[] }>('GET', '/api/v1/users').then(
        (r) => setNames(Object.fromEntries(r.users.map((u) => [u.id, u.username]))),
        () => undefined,
      );
  }, []);

  function submit(e: Event) {
    e.preventDefault();
    const errs: typeof fe = {};
    if (f.from && parseLocalDateTime(f.from) === null) errs.from = t('audit.filter.badDate');
    if (f.to && parseLocalDateTime(f.to) === null) errs.to = t('audit.filter.badDate');
    const from = f.from ? parseLocalDateTime(f.from) : null;
    const to = f.to ? parseLocalDateTime(f.to) : null;
    if (!errs.to && from !== null && to !== null && to <= from) errs.to = t('audit.filter.toBeforeFrom');
    setFe(errs);
    if (Object.keys(errs).length) return;
    setApplied(f);
    void load(f);
  }

  async function verify() {
    setVerifying(true);
    setVerifyError(null);
    setReport(null);
    try {
      setReport(await api<AuditReport>('POST', '/api/v1/audit/verify'));
    } catch (e) {
      setVerifyError(errorText(e));
    } finally {
      setVerifying(false);
    }
  }

  const set = (k: keyof Filters) => (v: string) => setF({ ...f, [k]: v });

  return (
    <Page title={t('audit.title')} lead={t('audit.lead')}>
      <section class="panel" aria-labelledby="verify-h">
        <h2 id="verify-h">{t('audit.verify.title')}</h2>
        <p class="muted">{t('audit.verify.help')}</p>
        <div class="actions">
          <button type="button" class="btn btn-primary" onClick={() => void verify()} disabled={verifying}>
            {verifying ? t('common.checking') : t('audit.verify.button')}
          </button>
        </div>
        <div role="status" id="verify-result">
          {report &&
            (report.intact ? (
              <p class="alert alert-success">
                <strong>{t('audit.verify.intact')}</strong> {t('audit.verify.records', { n: report.records })}
                <br />
                {t('audit.verify.head')} <code class="hash">{report.head_hash}</code>
              </p>
            ) : (
              <p class="alert alert-error">
                <strong>{t('audit.verify.broken', { id: report.first_bad })}</strong> {report.reason}
                <br />
                {t('audit.verify.records', { n: report.records })}
              </p>
            ))}
        </div>
        {verifyError && <Alert kind="error">{verifyError}</Alert>}
      </section>

      <details class="panel filters" open={filtersOpen}>
        <summary>
          <h2 id="filter-h">{t('audit.filter.title')}</h2>
        </summary>
        <form onSubmit={submit} noValidate class="form-grid form-grid-3">
          <Field id="audit-actor" label={t('audit.filter.actor')} hint={t('audit.filter.actor.hint')} value={f.actor} onValue={set('actor')} autoComplete="off" autoCapitalize="none" spellcheck={false} maxLength={64} />
          <Field id="audit-action" label={t('audit.filter.action')} hint={t('audit.filter.action.hint')} value={f.action} onValue={set('action')} list="audit-actions" autoComplete="off" autoCapitalize="none" spellcheck={false} maxLength={63} />
          <datalist id="audit-actions">
            {ACTIONS.map((a) => (
              <option value={a} key={a} />
            ))}
          </datalist>
          <Field id="audit-object" label={t('audit.filter.object')} hint={t('audit.filter.object.hint')} value={f.object} onValue={set('object')} autoComplete="off" autoCapitalize="none" spellcheck={false} maxLength={127} />
          <Select
            id="audit-outcome"
            label={t('audit.filter.outcome')}
            value={f.outcome}
            onValue={set('outcome')}
            options={[{ value: '', label: t('audit.filter.any') }, ...OUTCOMES.map((o) => ({ value: o, label: outcomeLabel(o) }))]}
          />
          <Field id="audit-from" type="datetime-local" label={t('audit.filter.from')} hint={t('audit.filter.tz', { tz: getTimeZone() })} value={f.from} onValue={set('from')} error={fe.from} />
          <Field id="audit-to" type="datetime-local" label={t('audit.filter.to')} hint={t('audit.filter.tz', { tz: getTimeZone() })} value={f.to} onValue={set('to')} error={fe.to} />
          <div class="actions form-grid-actions">
            <button type="submit" class="btn btn-primary">
              {t('audit.filter.apply')}
            </button>
            <button
              type="button"
              class="btn"
              onClick={() => {
                setF(empty);
                setFe({});
                setApplied(empty);
                void load(empty);
              }}
            >
              {t('audit.filter.reset')}
            </button>
          </div>
        </form>
      </details>

      <section class="panel" aria-labelledby="records-h">
        <h2 id="records-h">{t('audit.records.title')}</h2>
        {error && <Alert kind="error">{error}</Alert>}
        <p class="muted" role="status">
          {records && !loading ? t('audit.records.count', { n: records.length }) : ''}
        </p>
        {!records ? (
          <Spinner />
        ) : records.length === 0 ? (
          <p>{t('audit.records.none')}</p>
        ) : (
          <div class="table-wrap" role="region" aria-labelledby="records-h" tabIndex={0}>
            <table class="table table-compact table-stack" id="audit-table" role="table">
              <thead role="rowgroup">
                <tr role="row">
                  <th scope="col" role="columnheader">{t('audit.col.time')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.actor')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.action')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.object')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.outcome')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.source')}</th>
                  <th scope="col" role="columnheader">{t('audit.col.details')}</th>
                </tr>
              </thead>
              <tbody role="rowgroup">
                {records.map((r) => (
                  <tr key={r.id} data-action={r.action} role="row">
                    <td role="cell" class="nowrap" data-label={t('audit.col.time')}>
                      {formatDateTimeSeconds(r.ts)}
                    </td>
                    <td role="cell" data-label={t('audit.col.actor')}>{r.actor_name ?? '—'}</td>
                    <td role="cell" data-label={t('audit.col.action')}>
                      <code>{r.action}</code>
                    </td>
                    <td role="cell" class="break" data-label={t('audit.col.object')}>
                      <ObjectName object={r.object} names={names} />
                    </td>
                    <td role="cell" data-label={t('audit.col.outcome')}>
                      <span class={`badge badge-${r.outcome === 'success' ? 'ok' : r.outcome === 'pending' ? 'info' : 'warn'}`}>{outcomeLabel(r.outcome)}</span>
                    </td>
                    <td role="cell" data-label={t('audit.col.source')}>{r.source_ip ?? '—'}</td>
                    <td role="cell" class="break details" data-label={t('audit.col.details')}>
                      {details(r.details)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {next !== null && (
          <div class="actions">
            <button type="button" class="btn" disabled={loading} onClick={() => void load(applied, next)}>
              {loading ? t('common.loading') : t('audit.records.more')}
            </button>
          </div>
        )}
      </section>
    </Page>
  );
}
