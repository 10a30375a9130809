// Login: the tenant comes from the host (a tenant's domain) or is typed in.

import { h, uid } from '../dom.js';
import { api, setCsrf } from '../api.js';
import { t } from '../i18n.js';
import { go, refreshSession } from '../app.js';

export async function render() {
  const ids = { tenant: uid(), email: uid(), password: uid() };
  const error = h('p', { role: 'alert', class: 'error', hidden: true });
  const tenant = h('input', { id: ids.tenant, name: 'tenant', autocomplete: 'organization', dir: 'ltr', value: localStorage.getItem('zellige.tenant') || '' });
  const email = h('input', { id: ids.email, name: 'email', type: 'email', autocomplete: 'username', required: true, dir: 'ltr' });
  const password = h('input', { id: ids.password, name: 'password', type: 'password', autocomplete: 'current-password', required: true, dir: 'ltr' });
  const form = h('form', { class: 'card narrow', onsubmit: async (e) => {
    e.preventDefault();
    error.hidden = true;
    const headers = tenant.value.trim() ? { 'x-tenant': tenant.value.trim() } : {};
    try {
      const session = await api('POST', '/auth/login', { email: email.value, password: password.value, cookie: true }, headers);
      setCsrf(session.me.csrfToken);
      localStorage.setItem('zellige.tenant', tenant.value.trim());
      await refreshSession();
      go('/');
    } catch (err) {
      error.textContent = err.status === 429 ? t('login.throttled') : t('login.failed');
      error.hidden = false;
    }
  } },
  h('h1', {}, t('login.title')),
  h('p', { class: 'hint' }, t('login.tenantHint')),
  h('label', { for: ids.tenant }, t('login.tenant')), tenant,
  h('label', { for: ids.email }, t('login.email')), email,
  h('label', { for: ids.password }, t('login.password')), password,
  error,
  h('button', { type: 'submit', class: 'primary' }, t('login.submit')));
  return form;
}
