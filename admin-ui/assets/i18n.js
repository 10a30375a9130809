// Interface text from the message catalogues (ar, fr); numbers and dates in the user's digits
// and in Casablanca time (stored UTC).

const here = new URL('.', import.meta.url);
const catalogs = {};
let locale = localStorage.getItem('zellige.locale') || 'ar';
let digits = localStorage.getItem('zellige.digits') || 'latn';
export const TZ = 'Africa/Casablanca';

export async function load(next = locale) {
  if (!catalogs[next]) {
    const r = await fetch(new URL(`i18n/${next}.json`, here));
    catalogs[next] = await r.json();
  }
  locale = next;
  localStorage.setItem('zellige.locale', next);
  document.documentElement.lang = next;
  document.documentElement.dir = dir();
}

export const current = () => locale;
export const dir = () => (locale === 'ar' ? 'rtl' : 'ltr');
export const digitsPref = () => digits;
export function setDigits(d) { digits = d; localStorage.setItem('zellige.digits', d); }

/** A digit string in the preferred numbering (Arabic-Indic or Latin). */
export function localDigits(s) {
  const str = String(s);
  return digits === 'arab' ? str.replace(/[0-9]/g, (d) => '٠١٢٣٤٥٦٧٨٩'[d]) : str;
}

export function t(key, vars = {}) {
  const text = catalogs[locale]?.[key] ?? catalogs.ar?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? localDigits(vars[k]) : `{${k}}`));
}

const intlLocale = () => `${locale === 'ar' ? 'ar-MA' : 'fr-MA'}-u-nu-${digits}`;

export function formatDate(iso, time = true) {
  if (!iso) return '';
  const opts = time ? { dateStyle: 'medium', timeStyle: 'short' } : { dateStyle: 'medium' };
  return new Intl.DateTimeFormat(intlLocale(), { ...opts, timeZone: TZ }).format(new Date(iso));
}

export const formatNumber = (n) => new Intl.NumberFormat(intlLocale()).format(n);

/** Casablanca's offset from UTC at an instant, in minutes. */
function offsetAt(date) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
  return Math.round((asUtc - date.getTime()) / 60000);
}

/** `datetime-local` value (Casablanca wall time) ↔ UTC ISO. */
export function localToUtc(value) {
  if (!value) return null;
  const naive = new Date(`${value}:00Z`);
  const guess = new Date(naive.getTime() - offsetAt(naive) * 60000);
  return new Date(naive.getTime() - offsetAt(guess) * 60000).toISOString();
}

export function utcToLocal(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const shifted = new Date(d.getTime() + offsetAt(d) * 60000);
  return shifted.toISOString().slice(0, 16);
}
