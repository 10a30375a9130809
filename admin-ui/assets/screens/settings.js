// Tenant settings: name, domains, anonymous reads and role narrowing (locales are shown; they
// are set when the tenant is created).

import { h, uid, replace } from '../dom.js';
import { api } from '../api.js';
import { t } from '../i18n.js';

export async function render() {
  const s = await api('GET', '/settings');
  const ids = { name: uid(), domains: uid(), anon: uid(), perms: uid() };
  const name = h('input', { id: ids.name, value: s.name, dir: 'auto' });
  const domains = h('textarea', { id: ids.domains, dir: 'ltr', rows: 3 }, (s.domains || []).join('\n'));
  const anon = h('input', { id: ids.anon, type: 'checkbox', checked: s.anonymousRead });
  const perms = h('textarea', { id: ids.perms, dir: 'ltr', rows: 6, class: 'mono', 'aria-describedby': `${ids.perms}-hint` }, JSON.stringify(s.permissions || {}, null, 2));
  const message = h('div', { role: 'status' });
  const form = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    replace(message);
    let permissions;
    try { permissions = JSON.parse(perms.value || '{}'); } catch { replace(message, h('p', { class: 'error' }, t('settings.badJson'))); perms.focus(); return; }
    try {
      await api('PATCH', '/settings', { name: name.value, domains: domains.value.split(/\s+/).filter(Boolean), anonymousRead: anon.checked, permissions });
      replace(message, h('p', {}, t('settings.saved')));
    } catch (err) {
      replace(message, h('div', { class: 'error', role: 'alert' }, h('p', {}, err.message), err.fields.map((f) => h('p', {}, `${f.path}: ${f.message}`))));
    }
  } },
  h('label', { for: ids.name }, t('settings.name')), name,
  h('p', {}, t('settings.locales'), ': ', h('bdi', {}, (s.locales || []).join('، ')), ` (${t('settings.default')}: ${s.defaultLocale})`),
  h('label', { for: ids.domains }, t('settings.domains')), domains,
  h('span', { class: 'flag' }, anon, h('label', { for: ids.anon }, t('settings.anonymousRead'))),
  h('label', { for: ids.perms }, t('settings.permissions')), perms,
  h('p', { id: `${ids.perms}-hint`, class: 'hint' }, t('settings.permissionsHint')),
  h('button', { type: 'submit', class: 'primary' }, t('settings.save')), message);
  return h('div', {}, h('h1', {}, t('settings.title')), form);
}
