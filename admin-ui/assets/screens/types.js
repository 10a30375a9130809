// Content types: the list, and a builder to add, rename, reorder and remove fields. A change
// the server refuses as `dataLoss` is shown with what would be lost, and applied only after a
// deliberate confirmation (sent again with `force`).

import { h, uid, dialog, replace } from '../dom.js';
import { api, ApiError } from '../api.js';
import { t, formatNumber } from '../i18n.js';
import { go, refreshSession } from '../app.js';

const KINDS = ['string', 'text', 'richtext', 'integer', 'float', 'boolean', 'date', 'datetime', 'enum', 'email', 'url', 'phone', 'geo', 'json', 'media', 'reference'];

export async function render(name) {
  const types = await api('GET', '/content-types');
  if (!name) return list(types);
  const def = types.find((x) => x.name === name);
  if (!def) return h('h1', {}, t('error.notFound'));
  return builder(def, types);
}

function list(types) {
  const nameId = uid(); const pluralId = uid();
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const nameIn = h('input', { id: nameId, dir: 'ltr', required: true, pattern: '[a-z][A-Za-z0-9]*' });
  const pluralIn = h('input', { id: pluralId, dir: 'ltr', required: true, pattern: '[a-z][A-Za-z0-9]*' });
  const create = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('POST', '/content-types', { name: nameIn.value, plural: pluralIn.value, slugFrom: 'title', fields: [{ name: 'title', type: 'string', required: true, localized: true, maxLength: 300 }] });
      await refreshSession();
      go(`/types/${nameIn.value}`);
    } catch (err) { error.textContent = err.message; error.hidden = false; }
  } }, h('h2', {}, t('types.create')),
  h('label', { for: nameId }, t('types.name')), nameIn,
  h('label', { for: pluralId }, t('types.plural')), pluralIn, error,
  h('button', { type: 'submit' }, t('types.createButton')));
  return h('div', {}, h('h1', {}, t('types.title')),
    h('ul', { class: 'plain' }, types.map((ct) => h('li', {}, h('a', { href: `#/types/${ct.name}` }, h('bdi', {}, ct.name)), ` · ${t('types.fields', { n: formatNumber(ct.fields.length) })}`))),
    create);
}

function builder(def, types) {
  // Each row remembers the name the field had when loaded, to send renames.
  const rows = def.fields.map((f) => ({ ...f, original: f.name }));
  const body = h('tbody');
  const message = h('div', { role: 'status' });
  const draw = () => replace(body, ...rows.map((r, i) => {
    const nameId = uid();
    const kindId = uid();
    const name = h('input', { id: nameId, value: r.name, dir: 'ltr', oninput: (e) => { r.name = e.target.value; } });
    const kind = h('select', { id: kindId, onchange: (e) => { r.type = e.target.value; } }, KINDS.map((k) => h('option', { value: k, selected: k === r.type }, k)));
    const flag = (key) => {
      const id = uid();
      return h('span', { class: 'flag' }, h('input', { id, type: 'checkbox', checked: Boolean(r[key]), onchange: (e) => { r[key] = e.target.checked; } }), h('label', { for: id }, t(`types.${key}`)));
    };
    const move = (d) => () => { const j = i + d; if (j < 0 || j >= rows.length) return; [rows[i], rows[j]] = [rows[j], rows[i]]; draw(); };
    return h('tr', {},
      h('td', {}, h('label', { for: nameId, class: 'visually-hidden' }, t('types.fieldName')), name),
      h('td', {}, h('label', { for: kindId, class: 'visually-hidden' }, t('types.fieldType')), kind),
      h('td', {}, flag('required'), flag('localized'), flag('filterable'), flag('sortable')),
      h('td', { class: 'row-actions' },
        h('button', { type: 'button', class: 'link', 'aria-label': `${t('types.up')} ${r.name}`, onclick: move(-1) }, '↑'),
        h('button', { type: 'button', class: 'link', 'aria-label': `${t('types.down')} ${r.name}`, onclick: move(1) }, '↓'),
        h('button', { type: 'button', class: 'link danger', onclick: () => { rows.splice(i, 1); draw(); } }, t('types.remove'))));
  }));
  draw();

  const send = async (force) => {
    const renames = {};
    const fields = rows.map(({ original, ...f }) => {
      if (original && original !== f.name) renames[f.name] = original;
      if (f.type !== 'enum') delete f.values;
      if (f.type !== 'reference') delete f.to;
      return f;
    });
    // Compound indexes follow renamed fields; an index that loses a field goes with it.
    const newName = (name) => rows.find((r) => r.original === name)?.name;
    const indexes = (def.indexes || [])
      .map((ix) => ix.map(newName))
      .filter((ix) => ix.every(Boolean));
    const definition = { ...def, fields, indexes };
    return api('PUT', `/content-types/${def.name}`, { definition, renames, force });
  };
  const save = async (e) => {
    e.preventDefault();
    replace(message);
    try {
      await send(false);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const losses = err.fields.filter((f) => f.rule === 'dataLoss');
      if (!losses.length) { replace(message, h('p', { class: 'error', role: 'alert' }, err.message)); return; }
      const details = h('ul', {}, losses.map((l) => h('li', {},
        h('strong', {}, h('bdi', {}, l.path)), ': ',
        t('types.lossCount', { n: formatNumber(l.loss?.entries ?? 0) }), ' — ',
        (l.loss?.reasons || [l.message]).join('؛ '))));
      const ok = await dialog(t('types.lossTitle'), h('div', {}, h('p', {}, t('types.lossIntro')), details),
        [[t('cancel'), false], [t('types.forceApply'), true, 'danger']]);
      if (!ok) { replace(message, h('p', {}, t('types.notApplied'))); return; }
      try { await send(true); } catch (err2) { replace(message, h('p', { class: 'error', role: 'alert' }, err2.message)); return; }
    }
    await refreshSession();
    replace(message, h('p', {}, t('types.saved')));
    const fresh = (await api('GET', '/content-types')).find((x) => x.name === def.name);
    if (fresh) { rows.splice(0, rows.length, ...fresh.fields.map((f) => ({ ...f, original: f.name }))); draw(); }
  };
  return h('form', { onsubmit: save },
    h('p', { class: 'crumbs' }, h('a', { href: '#/types' }, t('types.title'))),
    h('h1', {}, h('bdi', {}, def.name)),
    h('table', {}, h('caption', { class: 'visually-hidden' }, t('types.fieldsCaption')),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('types.fieldName')), h('th', { scope: 'col' }, t('types.fieldType')), h('th', { scope: 'col' }, t('types.rules')), h('th', { scope: 'col' }, t('types.order')))),
      body),
    h('div', { class: 'actions' },
      h('button', { type: 'button', onclick: () => { rows.push({ name: `field${rows.length + 1}`, type: 'string' }); draw(); } }, t('types.addField')),
      h('button', { type: 'submit', class: 'primary' }, t('types.save'))),
    message);
}

