// A rich-text field: a contenteditable area with a small toolbar. Each paragraph takes its own
// direction from its first strong character (dir="auto"), so Arabic and French paragraphs mix.
// The server sanitizes what is saved; what is shown back is that sanitized HTML.

import { h, uid, replace } from './dom.js';
import { t } from './i18n.js';

const BLOCKS = 'p,h2,h3,li,blockquote';

export function richtext({ id, label, lang, value }) {
  const area = h('div', {
    id, class: 'richtext', contenteditable: 'true', role: 'textbox', 'aria-multiline': 'true',
    'aria-labelledby': `${id}-label`, lang, dir: 'auto', tabindex: '0',
  });
  const setHtml = (html) => {
    // The value came from the server's sanitizer; parse it inertly and copy nodes across.
    const doc = new DOMParser().parseFromString(`<body>${html || ''}</body>`, 'text/html');
    replace(area, ...doc.body.childNodes);
    for (const b of area.querySelectorAll(BLOCKS)) b.setAttribute('dir', 'auto');
  };
  setHtml(value);
  // Enter starts a <p>, not a <div>: the sanitizer keeps paragraphs and their `dir`.
  area.addEventListener('focus', () => document.execCommand('defaultParagraphSeparator', false, 'p'));
  area.addEventListener('input', () => {
    const loose = [...area.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    if (loose) document.execCommand('formatBlock', false, 'p');
    for (const b of area.querySelectorAll(BLOCKS)) if (!b.hasAttribute('dir')) b.setAttribute('dir', 'auto');
  });
  const cmd = (name, arg) => () => { area.focus(); document.execCommand(name, false, arg); };
  const button = (key, action) => h('button', { type: 'button', class: 'tool', onclick: action, title: t(key) }, t(key));
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': t('rich.toolbar'), 'aria-controls': id },
    button('rich.bold', cmd('bold')),
    button('rich.italic', cmd('italic')),
    button('rich.heading', cmd('formatBlock', 'h2')),
    button('rich.paragraph', cmd('formatBlock', 'p')),
    button('rich.list', cmd('insertUnorderedList')),
    button('rich.numbered', cmd('insertOrderedList')),
    button('rich.quote', cmd('formatBlock', 'blockquote')));
  const el = h('div', { class: 'richtext-wrap' }, h('span', { id: `${id}-label`, class: 'label' }, label), toolbar, area);
  return {
    el,
    focusable: area,
    get: () => {
      const html = area.innerHTML.trim();
      return area.textContent.trim() === '' ? null : html;
    },
    set: setHtml,
  };
}

export const richtextId = () => uid('rt');
