// The shell: session, navigation, preferences and the hash router. Screens render into <main>.

import { h, clear } from './dom.js';
import { api, setCsrf } from './api.js';
import * as i18n from './i18n.js';
import { t } from './i18n.js';

/** What the screens share: who is logged in, and the tenant's content types. */
export const state = { me: null, types: [] };

export const can = (type, action) => Boolean(state.me?.permissions?.content?.[type]?.[action]);
export const isAdmin = () => Boolean(state.me?.permissions?.admin);
/** Whoever may write some content may use the media library. */
export const canMedia = () => state.types.some((ct) => can(ct.name, 'create'));
export const typeLabel = (ct) => ct.displayName?.[i18n.current()] || ct.displayName?.ar || ct.plural;

const routes = [
  [/^\/login$/, () => import('./screens/login.js')],
  [/^\/$/, () => import('./screens/dashboard.js')],
  [/^\/entries\/([\w]+)$/, () => import('./screens/list.js')],
  [/^\/entries\/([\w]+)\/new$/, () => import('./screens/editor.js')],
  [/^\/entries\/([\w]+)\/([\w-]+)$/, () => import('./screens/editor.js')],
  [/^\/types$/, () => import('./screens/types.js'), 'admin'],
  [/^\/types\/([\w]+)$/, () => import('./screens/types.js'), 'admin'],
  [/^\/tokens$/, () => import('./screens/tokens.js'), 'admin'],
  [/^\/users$/, () => import('./screens/users.js'), 'admin'],
  [/^\/audit$/, () => import('./screens/audit.js'), 'admin'],
  [/^\/settings$/, () => import('./screens/settings.js'), 'admin'],
  [/^\/plugins$/, () => import('./screens/plugins.js'), 'admin'],
  [/^\/media$/, () => import('./screens/media.js'), 'media'],
];

export function go(path) { location.hash = `#${path}`; }

/** Loads who is logged in (the cookie decides); false when nobody is. */
export async function refreshSession() {
  try {
    state.me = await api('GET', '/auth/me');
    setCsrf(state.me.csrfToken || null);
    state.types = (await api('GET', '/content-types')).filter((ct) => can(ct.name, 'read-drafts') || can(ct.name, 'create'));
    return true;
  } catch {
    state.me = null;
    state.types = [];
    return false;
  }
}

function navigation() {
  const link = (path, label) => h('li', {}, h('a', { href: `#${path}`, 'aria-current': location.hash === `#${path}` ? 'page' : false }, label));
  const admin = isAdmin()
    ? [link('/types', t('nav.types')), link('/plugins', t('nav.plugins')), link('/users', t('nav.users')), link('/tokens', t('nav.tokens')), link('/audit', t('nav.audit')), link('/settings', t('nav.settings'))]
    : [];
  return h('nav', { 'aria-label': t('nav.label') }, h('ul', {},
    link('/', t('nav.dashboard')),
    state.types.map((ct) => link(`/entries/${ct.name}`, typeLabel(ct))),
    canMedia() ? link('/media', t('nav.media')) : null,
    admin));
}

function preferences() {
  const locale = h('select', { id: 'pref-locale', onchange: async (e) => { await i18n.load(e.target.value); render(); } },
    h('option', { value: 'ar', selected: i18n.current() === 'ar', lang: 'ar' }, 'العربية'),
    h('option', { value: 'fr', selected: i18n.current() === 'fr', lang: 'fr' }, 'Français'));
  const digits = h('select', { id: 'pref-digits', onchange: (e) => { i18n.setDigits(e.target.value); render(); } },
    h('option', { value: 'latn', selected: i18n.digitsPref() === 'latn' }, t('prefs.latin')),
    h('option', { value: 'arab', selected: i18n.digitsPref() === 'arab' }, t('prefs.arabic')));
  const logout = state.me && h('button', { type: 'button', class: 'link', onclick: async () => {
    await api('POST', '/auth/logout').catch(() => null);
    state.me = null;
    setCsrf(null);
    go('/login');
  } }, t('nav.logout'));
  return h('div', { class: 'prefs' },
    h('label', { for: 'pref-locale' }, t('prefs.language')), locale,
    h('label', { for: 'pref-digits' }, t('prefs.digits')), digits,
    logout);
}

let rendering = 0;
export async function render() {
  const turn = ++rendering;
  const path = (location.hash.replace(/^#/, '') || '/').split('?')[0];
  const root = document.getElementById('app');
  if (!state.me && path !== '/login') {
    if (!(await refreshSession())) { go('/login'); return; }
  }
  const found = routes.map(([re, load, need]) => [path.match(re), load, need]).find(([m]) => m);
  const main = h('main', { id: 'main', tabindex: '-1' });
  let screen;
  if (!found || (found[2] === 'admin' && !isAdmin()) || (found[2] === 'media' && !canMedia())) {
    screen = h('h1', {}, t('error.notFound'));
  } else {
    try {
      const mod = await found[1]();
      screen = await mod.render(...found[0].slice(1));
    } catch (e) {
      screen = h('div', { role: 'alert', class: 'error' }, e.message || String(e));
    }
  }
  if (turn !== rendering) return;
  document.title = `${t('app.name')} · ${screen.querySelector?.('h1')?.textContent || ''}`;
  clear(root).append(
    h('a', { class: 'skip', href: '#main', onclick: (e) => { e.preventDefault(); main.focus(); } }, t('nav.skip')),
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, t('app.name'), state.me?.tenant ? ` · ${state.me.tenant}` : ''),
      state.me ? navigation() : null,
      preferences()),
    main);
  main.append(screen);
  main.querySelector('h1')?.setAttribute('tabindex', '-1');
}

// Started without a top-level await: the screens import this module, and a module still
// evaluating would make their dynamic import wait on it forever.
window.addEventListener('hashchange', render);
i18n.load().then(render);
