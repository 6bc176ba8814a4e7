// The string catalogue: every text the app shows is a key of fr.json and en.json (same keys,
// checked by tests/e2e/i18n.test.js). French is the default; {name} placeholders are filled by t().
import fr from './fr.json';
import en from './en.json';
import type { Lang } from '../lib/types';

export type Key = keyof typeof fr;

const catalogs: Record<Lang, Record<Key, string>> = { fr, en };
export const LANGS: Lang[] = ['fr', 'en'];

let lang: Lang = 'fr';
let timeZone = 'Europe/Paris';

export function setLang(l: Lang): void {
  lang = l;
  document.documentElement.lang = l;
}
export function getLang(): Lang {
  return lang;
}
export function setTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('fr-FR', { timeZone: tz });
    timeZone = tz;
  } catch {
    /* unknown zone: keep the default */
  }
}
export function getTimeZone(): string {
  return timeZone;
}

export function t(key: Key, params?: Record<string, string | number>): string {
  const s = catalogs[lang][key] ?? catalogs.fr[key] ?? key;
  if (!params) return s;
  return s.replace(/\{(\w+)\}/g, (m, p: string) => (p in params ? String(params[p]) : m));
}

// Dates and times are shown in the hospital's time zone, in French formats (day/month/year,
// 24-hour clock); English uses the British order, which is the same.
const locales: Record<Lang, string> = { fr: 'fr-FR', en: 'en-GB' };
const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(kind: 'datetime' | 'datetimesec' | 'date' | 'time'): Intl.DateTimeFormat {
  const k = `${lang}|${timeZone}|${kind}`;
  let f = cache.get(k);
  if (!f) {
    const o: Intl.DateTimeFormatOptions = { timeZone };
    if (kind !== 'time') Object.assign(o, { day: '2-digit', month: '2-digit', year: 'numeric' });
    if (kind !== 'date') Object.assign(o, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    if (kind === 'datetimesec') o.second = '2-digit';
    f = new Intl.DateTimeFormat(locales[lang], o);
    cache.set(k, f);
  }
  return f;
}
export const formatDateTime = (ms: number): string => fmt('datetime').format(ms);
export const formatDateTimeSeconds = (ms: number): string => fmt('datetimesec').format(ms);
export const formatDate = (ms: number): string => fmt('date').format(ms);
export const formatTime = (ms: number): string => fmt('time').format(ms);

// The offset (ms) of the hospital's zone from UTC at instant ms.
function zoneOffset(ms: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(ms);
  const v = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(v('year'), v('month') - 1, v('day'), v('hour') % 24, v('minute'), v('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

// "2026-11-22T10:04" (a datetime-local input) read as a wall-clock time of the hospital's zone.
export function parseLocalDateTime(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value);
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0);
  let guess = wall - zoneOffset(wall);
  guess = wall - zoneOffset(guess); // settles across a DST change
  return guess;
}
