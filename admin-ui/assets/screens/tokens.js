// API tokens: list, create (the secret shown once, with a copy button), revoke.

import { h, uid, dialog } from '../dom.js';
import { api } from '../api.js';
import { t, formatDate } from '../i18n.js';
import { render as again } from '../app.js';

export async function render() {
  const tokens = await api('GET', '/tokens');
  const nameId = uid(); const kindId = uid();
  const name = h('input', { id: nameId, required: true, dir: 'auto' });
  const kind = h('select', { id: kindId }, ['public', 'preview', 'editor', 'admin'].map((k) => h('option', { value: k }, t(`token.${k}`))));
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const create = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const made = await api('POST', '/tokens', { name: name.value, kind: kind.value });
      const secret = h('code', { class: 'secret', dir: 'ltr' }, made.secret || made.token);
      const copied = h('span', { role: 'status' });
      await dialog(t('tokens.createdTitle'), h('div', {},
        h('p', {}, t('tokens.shownOnce')), secret,
        h('button', { type: 'button', onclick: async () => { await navigator.clipboard?.writeText(secret.textContent).catch(() => null); copied.textContent = t('tokens.copied'); } }, t('tokens.copy')),
        copied), [[t('tokens.done'), true, 'primary']]);
      again();
    } catch (err) { error.textContent = err.message; error.hidden = false; }
  } }, h('h2', {}, t('tokens.create')),
  h('label', { for: nameId }, t('tokens.name')), name,
  h('label', { for: kindId }, t('tokens.kind')), kind, error,
  h('button', { type: 'submit', class: 'primary' }, t('tokens.createButton')));
  const rows = tokens.map((tk) => h('tr', {},
    h('td', {}, h('bdi', {}, tk.name)), h('td', {}, t(`token.${tk.kind}`)), h('td', {}, formatDate(tk.createdAt)),
    h('td', {}, tk.revokedAt ? t('tokens.revoked') : h('button', { type: 'button', class: 'link danger', onclick: async () => { await api('DELETE', `/tokens/${tk.id}`); again(); } }, t('tokens.revoke')))));
  return h('div', {}, h('h1', {}, t('tokens.title')),
    h('table', {}, h('caption', { class: 'visually-hidden' }, t('tokens.title')),
      h('thead', {}, h('tr', {}, ['tokens.name', 'tokens.kind', 'tokens.created', 'tokens.state'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)),
    create);
}
