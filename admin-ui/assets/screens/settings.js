// Tenant settings: name, locales (added, never removed), domains, anonymous reads, and role
// narrowing as a matrix: per role and content type, the actions left allowed.

import { h, uid, replace } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';
import { state, refreshSession, typeLabel } from '../app.js';

const ROLES = ['editor', 'author', 'viewer'];
const ACTIONS = ['read', 'read-drafts', 'create', 'update', 'delete', 'publish'];

function matrix(rules) {
  const boxes = [];
  const tables = ROLES.map((role) => h('fieldset', { class: 'field' },
    h('legend', {}, t(`role.${role}`)),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('settings.type')), ACTIONS.map((a) => h('th', { scope: 'col' }, t(`permission.${a}`))))),
      h('tbody', {}, state.types.map((ct) => h('tr', {},
        h('th', { scope: 'row' }, typeLabel(ct)),
        ACTIONS.map((a) => {
          const rule = rules?.[role]?.[ct.name];
          const box = h('input', { type: 'checkbox', checked: !rule || rule.includes(a), 'aria-label': `${t(`role.${role}`)} · ${typeLabel(ct)} · ${t(`permission.${a}`)}` });
          boxes.push([role, ct.name, a, box]);
          return h('td', {}, box);
        })))))));
  const get = () => {
    const out = {};
    for (const role of ROLES) {
      for (const ct of state.types) {
        const cells = boxes.filter(([r, n]) => r === role && n === ct.name);
        if (cells.every(([, , , b]) => b.checked)) continue;
        (out[role] ||= {})[ct.name] = cells.filter(([, , , b]) => b.checked).map(([, , a]) => a);
      }
    }
    return out;
  };
  return { el: h('div', {}, tables), get };
}

export async function render() {
  const s = await api('GET', '/settings');
  const ids = { name: uid(), add: uid(), domains: uid(), anon: uid(), keep: uid(), days: uid() };
  const keep = h('input', { id: ids.keep, type: 'number', min: 1, dir: 'ltr', value: s.versions?.keep ?? '' });
  const days = h('input', { id: ids.days, type: 'number', min: 0, dir: 'ltr', value: s.versions?.days ?? '' });
  const name = h('input', { id: ids.name, value: s.name, dir: 'auto' });
  const add = h('input', { id: ids.add, dir: 'ltr', placeholder: 'en', 'aria-describedby': `${ids.add}-hint`, size: 8 });
  const domains = h('textarea', { id: ids.domains, dir: 'ltr', rows: 3 }, (s.domains || []).join('\n'));
  const anon = h('input', { id: ids.anon, type: 'checkbox', checked: s.anonymousRead });
  const perms = matrix(s.permissions);
  const message = h('div', { role: 'status' });
  const form = h('form', { class: 'card wide', onsubmit: async (e) => {
    e.preventDefault();
    replace(message);
    const extra = add.value.trim();
    try {
      await api('PATCH', '/settings', {
        name: name.value,
        locales: extra ? [...s.locales, extra] : undefined,
        domains: domains.value.split(/\s+/).filter(Boolean),
        anonymousRead: anon.checked,
        permissions: perms.get(),
        versions: { keep: Number(keep.value), days: Number(days.value) },
      });
      await refreshSession();
      replace(message, h('p', {}, t('settings.saved')));
      if (extra) { s.locales.push(extra); add.value = ''; replace(localeList, s.locales.join('، ')); }
    } catch (err) {
      replace(message, h('div', { class: 'error', role: 'alert' }, h('p', {}, err.message), err.fields.map((f) => h('p', {}, `${f.path}: ${f.message}`))));
    }
  } });
  const localeList = h('bdi', {}, (s.locales || []).join('، '));
  replace(form,
    h('label', { for: ids.name }, t('settings.name')), name,
    h('p', {}, t('settings.locales'), ': ', localeList, ` (${t('settings.default')}: ${s.defaultLocale})`),
    h('label', { for: ids.add }, t('settings.addLocale')), add,
    h('p', { id: `${ids.add}-hint`, class: 'hint' }, t('settings.addLocaleHint')),
    h('label', { for: ids.domains }, t('settings.domains')), domains,
    h('span', { class: 'flag' }, anon, h('label', { for: ids.anon }, t('settings.anonymousRead'))),
    h('h2', {}, t('settings.versions')),
    h('p', { class: 'hint' }, t('settings.versionsHint')),
    h('label', { for: ids.keep }, t('settings.versionsKeep')), keep,
    h('label', { for: ids.days }, t('settings.versionsDays')), days,
    h('h2', {}, t('settings.permissions')),
    h('p', { class: 'hint' }, t('settings.permissionsHint')),
    perms.el,
    h('button', { type: 'submit', class: 'primary' }, t('settings.save')), message);
  return h('div', {}, h('h1', {}, t('settings.title')), form);
}
