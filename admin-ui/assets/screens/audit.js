// The audit log, newest first, filtered by action, one cursor page at a time.

import { h, uid } from '../dom.js';
import { api, q } from '../api.js';
import { t, formatDate } from '../i18n.js';

export async function render() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const action = params.get('action') || '';
  const page = await api('GET', `/audit${q({ first: 50, action, after: params.get('after') })}`);
  const id = uid();
  const input = h('input', { id, name: 'action', value: action, dir: 'ltr', placeholder: 'entry.published' });
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); location.hash = `#/audit?${new URLSearchParams(input.value ? { action: input.value } : {})}`; } },
    h('div', { class: 'field' }, h('label', { for: id }, t('audit.action')), input), h('button', { type: 'submit' }, t('list.apply')));
  const rows = page.items.map((a) => h('tr', {},
    h('td', {}, formatDate(a.at)), h('td', {}, h('bdi', {}, a.actor)), h('td', {}, h('bdi', {}, a.action)),
    h('td', {}, h('bdi', {}, a.target)), h('td', {}, h('bdi', {}, a.client || ''))));
  const next = page.nextCursor && h('a', { class: 'button', href: `#/audit?${new URLSearchParams({ ...(action ? { action } : {}), after: page.nextCursor })}` }, t('list.next'));
  return h('div', {}, h('h1', {}, t('audit.title')), form,
    h('table', {}, h('caption', { class: 'visually-hidden' }, t('audit.title')),
      h('thead', {}, h('tr', {}, ['audit.at', 'audit.actor', 'audit.action', 'audit.target', 'audit.client'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)),
    h('div', { class: 'pager' }, next));
}
