// Users: list, invite with a role and a first password, change role, disable.

import { h, uid } from '../dom.js';
import { api } from '../api.js';
import { t, formatDate } from '../i18n.js';
import { render as again } from '../app.js';

const ROLES = ['admin', 'editor', 'author', 'viewer'];

export async function render() {
  const users = await api('GET', '/users');
  const ids = { email: uid(), role: uid(), password: uid() };
  const email = h('input', { id: ids.email, type: 'email', required: true, dir: 'ltr', autocomplete: 'off' });
  const role = h('select', { id: ids.role }, ROLES.map((r) => h('option', { value: r, selected: r === 'author' }, t(`role.${r}`))));
  const password = h('input', { id: ids.password, type: 'password', required: true, minlength: 10, dir: 'ltr', autocomplete: 'new-password' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const create = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    try { await api('POST', '/users', { email: email.value, role: role.value, password: password.value }); again(); } catch (err) { error.textContent = err.message; error.hidden = false; }
  } }, h('h2', {}, t('users.create')),
  h('label', { for: ids.email }, t('login.email')), email,
  h('label', { for: ids.role }, t('users.role')), role,
  h('label', { for: ids.password }, t('login.password')), password, error,
  h('button', { type: 'submit', class: 'primary' }, t('users.createButton')));
  const message = h('p', { role: 'status' });
  const rows = users.map((u) => {
    const id = uid();
    const sel = h('select', { id, onchange: async (e) => {
      try { await api('PATCH', `/users/${u.id}`, { role: e.target.value }); message.textContent = t('users.saved'); } catch (err) { message.textContent = err.message; e.target.value = u.role; }
    } }, ROLES.map((r) => h('option', { value: r, selected: r === u.role }, t(`role.${r}`))));
    return h('tr', {},
      h('td', {}, h('bdi', {}, u.email)),
      h('td', {}, h('label', { for: id, class: 'visually-hidden' }, `${t('users.role')} ${u.email}`), sel),
      h('td', {}, u.disabled ? t('users.disabled') : t('users.active')),
      h('td', {}, formatDate(u.createdAt)),
      h('td', {}, h('button', { type: 'button', class: 'link', onclick: async () => {
        try { await api('PATCH', `/users/${u.id}`, { disabled: !u.disabled }); again(); } catch (err) { message.textContent = err.message; }
      } }, u.disabled ? t('users.enable') : t('users.disable'))));
  });
  return h('div', {}, h('h1', {}, t('users.title')), message,
    h('table', {}, h('caption', { class: 'visually-hidden' }, t('users.title')),
      h('thead', {}, h('tr', {}, ['login.email', 'users.role', 'users.state', 'users.created', 'users.actions'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, rows)),
    create);
}
