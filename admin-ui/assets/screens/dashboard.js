// The dashboard: my drafts across the types, and the tenant's recent changes for admins.

import { h } from '../dom.js';
import { api, q } from '../api.js';
import { t, formatDate } from '../i18n.js';
import { state, isAdmin, typeLabel } from '../app.js';
import { entryTitle } from '../fields.js';

export async function render() {
  const mine = [];
  for (const ct of state.types) {
    const page = await api('GET', `/entries/${ct.name}${q({ first: 20, sort: '-updatedAt' })}`).catch(() => null);
    for (const e of page?.items || []) {
      if (e.createdBy === state.me.id && e.status === 'DRAFT') mine.push([ct, e]);
    }
  }
  const drafts = mine.length
    ? h('ul', { class: 'plain' }, mine.map(([ct, e]) => h('li', {},
      h('a', { href: `#/entries/${ct.name}/${e.id}` }, entryTitle(ct, e)), ' · ', typeLabel(ct), ' · ', formatDate(e.updatedAt))))
    : h('p', {}, t('dashboard.noDrafts'));
  let recent = null;
  if (isAdmin()) {
    const log = await api('GET', `/audit${q({ first: 10 })}`).catch(() => null);
    recent = h('section', { 'aria-labelledby': 'recent-h' },
      h('h2', { id: 'recent-h' }, t('dashboard.recent')),
      h('ul', { class: 'plain' }, (log?.items || []).map((a) => h('li', {},
        h('bdi', {}, a.action), ' · ', h('bdi', {}, a.target || ''), ' · ', formatDate(a.at || a.createdAt)))));
  }
  return h('div', {},
    h('h1', {}, t('dashboard.title')),
    h('section', { 'aria-labelledby': 'drafts-h' }, h('h2', { id: 'drafts-h' }, t('dashboard.myDrafts')), drafts),
    recent);
}
