// Small accessible building blocks: every input has a label, hints and errors are tied to it
// with aria-describedby, errors are announced, pages move focus to their heading.
import type { AnchorHTMLAttributes, ComponentChildren, Ref } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { app, navigate, takeFocusRequest, changeLang } from '../lib/app';
import { t, LANGS } from '../i18n';

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const { href, onClick, ...rest } = props;
  return (
    <a
      href={href}
      {...rest}
      onClick={(e) => {
        if (onClick) (onClick as (e: MouseEvent) => void)(e);
        if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    />
  );
}

// A page: sets the document title and takes the focus on its h1 after a navigation.
export function Page(props: { title: string; children?: ComponentChildren; class?: string; lead?: ComponentChildren }) {
  const h1 = useRef<HTMLHeadingElement>(null);
  const site = app.get().info.name;
  useEffect(() => {
    document.title = `${props.title} · ${site}`;
  }, [props.title, site]);
  useEffect(() => {
    if (takeFocusRequest()) h1.current?.focus();
  }, []);
  return (
    <div class={`page ${props.class || ''}`}>
      <h1 ref={h1} tabIndex={-1} class="page-title">
        {props.title}
      </h1>
      {props.lead && <p class="lead">{props.lead}</p>}
      {props.children}
    </div>
  );
}

let uid = 0;
export function useId(prefix: string): string {
  const [id] = useState(() => `${prefix}-${++uid}`);
  return id;
}

interface InputProps {
  id?: string;
  type?: 'text' | 'password' | 'search' | 'datetime-local' | 'email' | 'tel';
  autoComplete?: string;
  autoCapitalize?: 'none' | 'off' | 'on' | 'sentences' | 'words' | 'characters';
  spellcheck?: boolean;
  inputMode?: 'numeric' | 'text' | 'email' | 'tel' | 'search';
  maxLength?: number;
  required?: boolean;
  list?: string;
  disabled?: boolean;
}
export function Field(
  props: InputProps & {
    label: string;
    value: string;
    onValue: (v: string) => void;
    error?: string | null;
    hint?: string;
    inputRef?: Ref<HTMLInputElement>;
  },
) {
  const { label, value, onValue, error, hint, inputRef, id: givenId, ...rest } = props;
  const autoId = useId('f');
  const id = (givenId as string) || autoId;
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  const describedBy = [hintId, errId].filter(Boolean).join(' ') || undefined;
  return (
    <div class={`field${error ? ' has-error' : ''}`}>
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={hintId}>
          {hint}
        </p>
      )}
      <input
        id={id}
        ref={inputRef}
        value={value}
        onInput={(e) => onValue((e.currentTarget as HTMLInputElement).value)}
        aria-invalid={error ? 'true' : undefined}
        aria-describedby={describedBy}
        {...(rest as Record<string, unknown>)}
      />
      {error && (
        <p class="field-error" id={errId}>
          <span aria-hidden="true">⚠ </span>
          {error}
        </p>
      )}
    </div>
  );
}

export function Select(props: {
  label: string;
  value: string;
  onValue: (v: string) => void;
  options: { value: string; label: string }[];
  id?: string;
  error?: string | null;
  disabled?: boolean;
}) {
  const autoId = useId('s');
  const id = props.id || autoId;
  const errId = props.error ? `${id}-err` : undefined;
  return (
    <div class={`field${props.error ? ' has-error' : ''}`}>
      <label for={id}>{props.label}</label>
      <select
        id={id}
        value={props.value}
        disabled={props.disabled}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={errId}
        onChange={(e) => props.onValue((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => (
          <option value={o.value} key={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      {props.error && (
        <p class="field-error" id={errId}>
          {props.error}
        </p>
      )}
    </div>
  );
}

// A message box. Errors are alerts (announced at once); other kinds are polite status updates.
export function Alert(props: { kind?: 'error' | 'info' | 'success' | 'warning'; children?: ComponentChildren; id?: string }) {
  const kind = props.kind || 'info';
  return (
    <div id={props.id} class={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  );
}

// A live region that always exists, so that what is put in it later is announced.
export function Live(props: { children?: ComponentChildren; class?: string }) {
  return (
    <div class={props.class} role="status" aria-live="polite">
      {props.children}
    </div>
  );
}

export function Spinner(props: { label?: string }) {
  return (
    <p class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      {props.label || t('common.loading')}
    </p>
  );
}

export function LangSwitch(props: { class?: string }) {
  const current = app.get().lang;
  return (
    <div class={`lang-switch ${props.class || ''}`} role="group" aria-label={t('lang.label')}>
      {LANGS.map((l) => (
        <button
          type="button"
          key={l}
          lang={l}
          class="lang-btn"
          aria-pressed={current === l ? 'true' : 'false'}
          onClick={() => changeLang(l)}
        >
          {l === 'fr' ? 'Français' : 'English'}
        </button>
      ))}
    </div>
  );
}

// A modal confirmation built on <dialog> (focus is kept inside by the browser; Escape cancels).
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId('dlg');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    else if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      class="dialog"
      aria-labelledby={titleId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div class="dialog-body">{props.children}</div>
      <div class="actions">
        <button type="button" class="btn" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
        <button
          type="button"
          class={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`}
          disabled={props.busy}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

// A secret shown once (a temporary password, a key): large, selectable, with a copy button.
export function SecretBox(props: { value: string; label: string; id?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="secret-box">
      <p class="secret-label">{props.label}</p>
      <p class="secret-value" id={props.id} translate={false}>
        <code>{props.value}</code>
      </p>
      <button
        type="button"
        class="btn btn-small"
        onClick={() => {
          navigator.clipboard?.writeText(props.value).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
      >
        {t('common.copy')}
      </button>
      <span class="copied" role="status">
        {copied ? t('common.copied') : ''}
      </span>
    </div>
  );
}
