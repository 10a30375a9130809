// One editing widget per field type. A widget is {el, focusable, get(), set(v)}; localized
// fields get one widget per tenant locale, side by side.

import { h, uid, replace } from './dom.js';
import { api, q } from './api.js';
import { t, localToUtc, utcToLocal, current } from './i18n.js';
import { richtext } from './richtext.js';

const LANG_DIR = (l) => (['ar', 'he', 'fa', 'ur'].includes(l) ? 'rtl' : 'ltr');

/** An entry's title: its `slugFrom` field in the interface locale, else its slug. */
export function entryTitle(ct, e) {
  const v = e.data?.[ct.slugFrom || 'title'];
  if (v && typeof v === 'object') return v[current()] || v.ar || Object.values(v)[0] || e.slug;
  return v || e.slug;
}

export function fieldLabel(f) {
  const key = `field.${f.name}`;
  const text = t(key);
  return text === key ? f.name : text;
}

/** A widget for one value of field `f` (one locale of a localized field). */
export function widget(f, { lang, label, types }) {
  const id = uid();
  const base = { id, lang, dir: lang ? LANG_DIR(lang) : 'auto', name: f.name };
  const labelled = (input, get, set) => ({
    el: h('div', { class: 'control' }, h('label', { for: id }, label), input),
    focusable: input, get, set,
  });
  switch (f.type) {
    case 'richtext':
      return richtext({ id, label, lang, value: '' });
    case 'text': {
      const el = h('textarea', { ...base, rows: 5, maxlength: f.maxLength });
      return labelled(el, () => el.value.trim() || null, (v) => { el.value = v ?? ''; });
    }
    case 'integer': case 'float': {
      const el = h('input', { ...base, type: 'number', dir: 'ltr', step: f.type === 'integer' ? '1' : 'any', min: f.min, max: f.max });
      return labelled(el, () => (el.value === '' ? null : Number(el.value)), (v) => { el.value = v ?? ''; });
    }
    case 'boolean': {
      const el = h('input', { ...base, type: 'checkbox' });
      return labelled(el, () => el.checked, (v) => { el.checked = Boolean(v); });
    }
    case 'date': {
      const el = h('input', { ...base, type: 'date', dir: 'ltr' });
      return labelled(el, () => el.value || null, (v) => { el.value = v ?? ''; });
    }
    case 'datetime': {
      const el = h('input', { ...base, type: 'datetime-local', dir: 'ltr' });
      return labelled(el, () => localToUtc(el.value), (v) => { el.value = utcToLocal(v); });
    }
    case 'enum': {
      const el = h('select', { ...base }, h('option', { value: '' }, t('editor.none')),
        f.values.map((v) => h('option', { value: v }, enumLabel(f, v))));
      return labelled(el, () => el.value || null, (v) => { el.value = v ?? ''; });
    }
    case 'reference':
      return reference(f, { id, label, types });
    case 'media':
      return media(f, { id, label });
    case 'json': {
      const el = h('textarea', { ...base, dir: 'ltr', rows: 4, class: 'mono' });
      return labelled(el, () => { if (!el.value.trim()) return null; try { return JSON.parse(el.value); } catch { return el.value; } },
        (v) => { el.value = v == null ? '' : JSON.stringify(v, null, 2); });
    }
    case 'geo': {
      const lat = h('input', { id, type: 'number', step: 'any', dir: 'ltr', 'aria-label': `${label} · ${t('editor.lat')}` });
      const lng = h('input', { type: 'number', step: 'any', dir: 'ltr', 'aria-label': `${label} · ${t('editor.lng')}` });
      return { el: h('div', { class: 'control' }, h('label', { for: id }, label), lat, lng), focusable: lat,
        get: () => (lat.value === '' ? null : { lat: Number(lat.value), lng: Number(lng.value) }),
        set: (v) => { lat.value = v?.lat ?? ''; lng.value = v?.lng ?? ''; } };
    }
    default: {
      const type = { email: 'email', url: 'url', phone: 'tel' }[f.type] || 'text';
      const el = h('input', { ...base, type, maxlength: f.maxLength, dir: ['email', 'url', 'phone'].includes(f.type) ? 'ltr' : base.dir });
      if (f.many) {
        return labelled(el, () => split(el.value), (v) => { el.value = (v || []).join('، '); });
      }
      return labelled(el, () => el.value.trim() || null, (v) => { el.value = v ?? ''; });
    }
  }
}

const split = (s) => { const items = s.split(/[,،]/).map((x) => x.trim()).filter(Boolean); return items.length ? items : null; };

function enumLabel(f, v) {
  const key = `enum.${f.name}.${v}`;
  const text = t(key);
  return text === key ? v : text;
}

/** Reference picker with type-ahead over the target type's title (or slug). */
function reference(f, { id, label, types }) {
  const target = types.find((x) => x.name === f.to);
  const listId = uid('refs');
  const input = h('input', { id, list: listId, autocomplete: 'off', dir: 'auto', 'aria-describedby': `${id}-hint` });
  const options = h('datalist', { id: listId });
  const chosen = new Map(); // id → title
  const chips = h('ul', { class: 'chips', 'aria-label': label });
  const titleOf = (e) => (target ? entryTitle(target, e) : e.slug);
  const drawChips = () => replace(chips, ...[...chosen].map(([eid, title]) => h('li', {},
    h('bdi', {}, title), h('button', { type: 'button', class: 'link', 'aria-label': `${t('editor.remove')} ${title}`, onclick: () => { chosen.delete(eid); drawChips(); } }, '×'))));
  let found = [];
  input.addEventListener('input', async () => {
    const text = input.value.trim();
    const pick = found.find((e) => titleOf(e) === text);
    if (pick) {
      if (!f.many) chosen.clear();
      chosen.set(pick.id, titleOf(pick));
      input.value = '';
      drawChips();
      return;
    }
    const titleField = target?.fields.find((x) => x.name === target.slugFrom && x.filterable);
    const filter = text ? JSON.stringify(titleField ? { [titleField.name]: { contains: text } } : { slug: { contains: text.replace(/\s+/g, '-') } }) : undefined;
    const page = await api('GET', `/entries/${f.to}${q({ first: 10, filter })}`).catch(() => null);
    found = page?.items || [];
    replace(options, ...found.map((e) => h('option', { value: titleOf(e) })));
  });
  return {
    el: h('div', { class: 'control' }, h('label', { for: id }, label), chips, input, options,
      h('p', { id: `${id}-hint`, class: 'hint' }, t('editor.referenceHint'))),
    focusable: input,
    get: () => { const ids = [...chosen.keys()]; return f.many ? (ids.length ? ids : null) : ids[0] || null; },
    set: async (v) => {
      chosen.clear();
      const ids = v == null ? [] : Array.isArray(v) ? v : [v];
      for (const eid of ids) {
        const e = await api('GET', `/entries/${f.to}/${eid}`).catch(() => null);
        chosen.set(eid, e ? titleOf(e) : eid);
      }
      drawChips();
    },
  };
}

/** Media picker: the library's latest images, by name. */
function media(f, { id, label }) {
  const select = h('select', { id }, h('option', { value: '' }, t('editor.none')));
  api('GET', `/media${q({ first: 50 })}`).then((page) => {
    for (const m of page?.items || []) select.append(h('option', { value: m.id }, m.fileName || m.id));
  }).catch(() => null);
  return { el: h('div', { class: 'control' }, h('label', { for: id }, label), select), focusable: select,
    get: () => select.value || null, set: (v) => { const one = Array.isArray(v) ? v[0] : v; if (one && ![...select.options].some((o) => o.value === one)) select.append(h('option', { value: one }, one)); select.value = one ?? ''; } };
}
