// The media library: upload, browse (newest first), and edit alternative text per locale.

import { h, uid, replace } from '../dom.js';
import { api, upload, q } from '../api.js';
import { t, formatNumber } from '../i18n.js';
import { state, render as again } from '../app.js';

export async function render() {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const page = await api('GET', `/media${q({ first: 24, after: params.get('after') })}`);
  const locales = state.me.locales || ['ar'];
  const fileId = uid();
  const file = h('input', { id: fileId, type: 'file', accept: 'image/*,application/pdf' });
  const note = h('div', { role: 'status' });
  const up = h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    const f = file.files[0];
    if (!f) return;
    try {
      await upload(`/media${q({ fileName: f.name })}`, f);
      again();
    } catch (err) { replace(note, h('p', { class: 'error', role: 'alert' }, err.message)); }
  } }, h('h2', {}, t('media.upload')), h('label', { for: fileId }, t('media.file')), file,
  h('button', { type: 'submit', class: 'primary' }, t('media.uploadButton')), note);
  const items = page.items.map((m) => {
    const alts = locales.map((l) => {
      const id = uid();
      const input = h('input', { id, lang: l, dir: l === 'ar' ? 'rtl' : 'ltr', value: m.alt?.[l] || '' });
      return [l, input, h('div', { class: 'control' }, h('label', { for: id }, `${t('media.alt')} (${t(`locale.${l}`)})`), input)];
    });
    const saved = h('span', { role: 'status' });
    return h('li', { class: 'card' },
      m.mime.startsWith('image/') ? h('img', { src: m.url, alt: m.alt?.[locales[0]] || '', width: 160, loading: 'lazy' }) : null,
      h('p', {}, h('bdi', {}, m.fileName), ` · ${formatNumber(Math.round(m.size / 1024))} KB`),
      alts.map(([, , el]) => el),
      h('button', { type: 'button', onclick: async () => {
        try {
          await api('PATCH', `/media/${m.id}`, { alt: Object.fromEntries(alts.map(([l, input]) => [l, input.value]).filter(([, v]) => v)) });
          saved.textContent = t('media.saved');
        } catch (err) { saved.textContent = err.message; }
      } }, t('media.save')), saved);
  });
  const next = page.endCursor && h('a', { class: 'button', href: `#/media?after=${encodeURIComponent(page.endCursor)}` }, t('list.next'));
  return h('div', {}, h('h1', {}, t('media.title')), up,
    h('ul', { class: 'media-grid' }, items), h('div', { class: 'pager' }, next));
}
