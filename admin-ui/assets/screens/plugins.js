// Plugins of the tenant: enable or disable, a configuration form generated from the plugin's
// JSON Schema, and the capabilities granted to it.

import { h, uid, replace } from '../dom.js';
import { api } from '../api.js';
import { t, current } from '../i18n.js';

/** One form control per property of a JSON Schema object; returns {el, get}. */
function schemaForm(schema, value) {
  const props = Object.entries(schema?.properties || {});
  if (!props.length) {
    const id = uid();
    const area = h('textarea', { id, dir: 'ltr', class: 'mono', rows: 4 }, JSON.stringify(value || {}, null, 2));
    return { el: h('div', { class: 'control' }, h('label', { for: id }, t('plugins.config')), area), get: () => JSON.parse(area.value || '{}') };
  }
  const getters = [];
  const controls = props.map(([name, p]) => {
    const id = uid();
    const label = p.title || name;
    const v = value?.[name] ?? p.default;
    let input; let get;
    if (p.enum) {
      input = h('select', { id }, p.enum.map((x) => h('option', { value: x, selected: x === v }, String(x))));
      get = () => input.value;
    } else if (p.type === 'boolean') {
      input = h('input', { id, type: 'checkbox', checked: Boolean(v) });
      get = () => input.checked;
    } else if (p.type === 'integer' || p.type === 'number') {
      input = h('input', { id, type: 'number', dir: 'ltr', value: v ?? '', min: p.minimum, max: p.maximum, step: p.type === 'integer' ? 1 : 'any' });
      get = () => (input.value === '' ? undefined : Number(input.value));
    } else if (p.type === 'string') {
      input = h('input', { id, dir: 'auto', value: v ?? '', maxlength: p.maxLength });
      get = () => input.value || undefined;
    } else {
      input = h('textarea', { id, dir: 'ltr', class: 'mono', rows: 3 }, v === undefined ? '' : JSON.stringify(v, null, 2));
      get = () => (input.value.trim() ? JSON.parse(input.value) : undefined);
    }
    getters.push([name, get]);
    return h('div', { class: 'control' }, h('label', { for: id }, label), input,
      p.description ? h('p', { class: 'hint' }, p.description) : null);
  });
  return {
    el: h('div', {}, controls),
    get: () => Object.fromEntries(getters.map(([n, g]) => [n, g()]).filter(([, x]) => x !== undefined)),
  };
}

/** A live preview of each widget, rendered by the host with the saved configuration. */
function preview(p) {
  const out = h('div', { class: 'widget-preview', 'aria-live': 'polite' });
  const show = (name) => async () => {
    try {
      const r = await api('POST', `/plugins/${p.id}/widgets/${name}/preview`, { locale: current() });
      // The host sanitized the widget's HTML; parse it inertly and show it.
      const doc = new DOMParser().parseFromString(`<body>${r.html}</body>`, 'text/html');
      replace(out, h('h3', {}, t('plugins.previewOf', { name })), h('div', { class: 'widget' }, [...doc.body.childNodes]));
    } catch (err) {
      replace(out, h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  return h('div', {},
    h('div', { class: 'actions' }, p.widgets.map((w) => h('button', { type: 'button', onclick: show(w) }, t('plugins.preview', { name: w })))),
    out);
}

function card(p) {
  const enabledId = uid();
  const enabled = h('input', { id: enabledId, type: 'checkbox', checked: Boolean(p.setup?.enabled) });
  const config = schemaForm(p.configSchema, p.setup?.config);
  const grants = p.capabilities.map((c) => {
    const id = uid();
    const box = h('input', { id, type: 'checkbox', value: c, checked: Boolean(p.setup?.grants?.includes(c)) });
    return [box, h('span', { class: 'flag' }, box, h('label', { for: id }, h('bdi', {}, c)))];
  });
  const note = h('div', { role: 'status' });
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api('PUT', `/plugins/${p.id}/setup`, {
        enabled: enabled.checked,
        config: config.get(),
        grants: grants.filter(([b]) => b.checked).map(([b]) => b.value),
      });
      replace(note, h('p', {}, t('plugins.saved')));
    } catch (err) {
      replace(note, h('div', { class: 'error', role: 'alert' }, h('p', {}, err.message), err.fields.map((f) => h('p', {}, `${f.path}: ${f.message}`))));
    }
  } },
  h('h2', {}, h('bdi', {}, p.id), ` · ${p.latestVersion}`),
  h('p', {}, p.description),
  p.widgets.length ? h('p', { class: 'hint' }, t('plugins.widgets'), ': ', h('bdi', {}, p.widgets.join('، '))) : null,
  h('span', { class: 'flag' }, enabled, h('label', { for: enabledId }, t('plugins.enabled'))),
  config.el,
  grants.length ? h('fieldset', {}, h('legend', {}, t('plugins.grants')), grants.map(([, el]) => el)) : null,
  h('button', { type: 'submit', class: 'primary' }, t('plugins.save')), note,
  p.widgets.length ? preview(p) : null);
  return form;
}

export async function render() {
  const plugins = await api('GET', '/plugins');
  return h('div', {}, h('h1', {}, t('plugins.title')),
    plugins.length ? plugins.map(card) : h('p', {}, t('plugins.none')));
}
