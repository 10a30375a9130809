// The entries of one type: filters on the type's filterable fields, sort, cursor pages.

import { h, uid } from '../dom.js';
import { api, q } from '../api.js';
import { t, formatDate, formatNumber, current } from '../i18n.js';
import { state, can, typeLabel } from '../app.js';
import { fieldLabel, entryTitle } from '../fields.js';

export async function render(typeName) {
  const ct = state.types.find((x) => x.name === typeName);
  if (!ct) return h('h1', {}, t('error.notFound'));
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const filters = {};
  const controls = [];
  for (const f of ct.fields.filter((f) => f.filterable)) {
    const id = uid();
    const value = params.get(`f.${f.name}`) || '';
    let input;
    if (f.type === 'enum') {
      input = h('select', { id, name: f.name }, h('option', { value: '' }, t('list.any')),
        f.values.map((v) => h('option', { value: v, selected: v === value }, v)));
    } else if (f.type === 'boolean') {
      input = h('select', { id, name: f.name }, h('option', { value: '' }, t('list.any')),
        h('option', { value: 'true', selected: value === 'true' }, t('yes')), h('option', { value: 'false', selected: value === 'false' }, t('no')));
    } else if (['string', 'text', 'email', 'url', 'phone'].includes(f.type)) {
      input = h('input', { id, name: f.name, value, dir: 'auto' });
    } else continue;
    if (value) {
      filters[f.name] = f.type === 'boolean' ? { eq: value === 'true' }
        : f.type === 'enum' ? { eq: value } : { contains: value };
    }
    controls.push(h('div', { class: 'field' }, h('label', { for: id }, fieldLabel(f)), input));
  }
  const sortable = ['updatedAt', 'createdAt', 'publishedAt', ...ct.fields.filter((f) => f.sortable).map((f) => f.name)];
  const sortValue = params.get('sort') || '-updatedAt';
  const sortId = uid();
  const sort = h('select', { id: sortId, name: 'sort' }, sortable.flatMap((s) => [
    h('option', { value: `-${s}`, selected: sortValue === `-${s}` }, `${fieldName(ct, s)} ↓`),
    h('option', { value: s, selected: sortValue === s }, `${fieldName(ct, s)} ↑`)]));
  const statusId = uid();
  const status = params.get('status') || 'draft';
  const statusSel = h('select', { id: statusId, name: 'status' },
    h('option', { value: 'draft', selected: status === 'draft' }, t('list.drafts')),
    h('option', { value: 'published', selected: status === 'published' }, t('list.published')));
  const form = h('form', { class: 'filters', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const el of form.elements) {
      if (!el.name || !el.value) continue;
      next.set(['sort', 'status'].includes(el.name) ? el.name : `f.${el.name}`, el.value);
    }
    location.hash = `#/entries/${typeName}?${next}`;
  } }, controls,
  h('div', { class: 'field' }, h('label', { for: statusId }, t('list.status')), statusSel),
  h('div', { class: 'field' }, h('label', { for: sortId }, t('list.sort')), sort),
  h('button', { type: 'submit' }, t('list.apply')));

  // Full-text search over published entries (the search index holds what readers see).
  const qId = uid();
  const query = params.get('q') || '';
  const qInput = h('input', { id: qId, type: 'search', name: 'q', value: query, dir: 'auto' });
  const searchForm = h('form', { class: 'filters', role: 'search', onsubmit: (e) => {
    e.preventDefault();
    location.hash = `#/entries/${typeName}?${new URLSearchParams(qInput.value.trim() ? { q: qInput.value.trim() } : {})}`;
  } }, h('div', { class: 'field' }, h('label', { for: qId }, t('list.search')), qInput), h('button', { type: 'submit' }, t('list.searchButton')));
  if (query) {
    const found = await api('GET', `/search${q({ q: query, type: typeName, locale: current(), first: 20 })}`);
    return h('div', {},
      h('div', { class: 'title-row' }, h('h1', {}, typeLabel(ct)),
        can(typeName, 'create') && h('a', { class: 'button primary', href: `#/entries/${typeName}/new` }, t('list.new'))),
      searchForm,
      h('p', { class: 'hint' }, t('list.found', { n: formatNumber(found.total), q: query })),
      h('ol', { class: 'plain results' }, found.hits.map((hit) => h('li', {},
        h('a', { href: `#/entries/${typeName}/${hit.id}` }, h('bdi', {}, hit.title))))),
      h('a', { class: 'button', href: `#/entries/${typeName}` }, t('list.allEntries')));
  }
  const after = params.get('after') || undefined;
  const page = await api('GET', `/entries/${typeName}${q({
    first: 20, after, sort: sortValue, status,
    filter: Object.keys(filters).length ? JSON.stringify(filters) : undefined,
  })}`);
  const rows = page.items.map((e) => h('tr', {},
    h('td', {}, h('a', { href: `#/entries/${typeName}/${e.id}` }, h('bdi', {}, entryTitle(ct, e)))),
    h('td', {}, t(`status.${e.status}`)),
    h('td', {}, formatDate(e.updatedAt))));
  const nextLink = page.nextCursor && h('a', { class: 'button', href: `#/entries/${typeName}?${withParam(params, 'after', page.nextCursor)}` }, t('list.next'));
  const firstLink = after && h('a', { class: 'button', href: `#/entries/${typeName}?${withParam(params, 'after', '')}` }, t('list.first'));
  return h('div', {},
    h('div', { class: 'title-row' },
      h('h1', {}, typeLabel(ct)),
      can(typeName, 'create') && h('a', { class: 'button primary', href: `#/entries/${typeName}/new` }, t('list.new'))),
    searchForm,
    form,
    h('p', { class: 'hint' }, t('list.count', { n: formatNumber(page.totalCount) })),
    h('table', {},
      h('caption', { class: 'visually-hidden' }, typeLabel(ct)),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('list.title')), h('th', { scope: 'col' }, t('list.status')), h('th', { scope: 'col' }, t('list.updated')))),
      h('tbody', {}, rows)),
    h('div', { class: 'pager' }, firstLink, nextLink));
}

function withParam(params, k, v) {
  const p = new URLSearchParams(params);
  if (v) p.set(k, v); else p.delete(k);
  return p.toString();
}


function fieldName(ct, name) {
  const f = ct.fields.find((x) => x.name === name);
  return f ? fieldLabel(f) : t(`system.${name}`);
}
