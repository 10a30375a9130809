// Building DOM without HTML strings: text is always text, never markup.

/** h('button', {class: 'primary', onclick: fn}, 'label', child, [more]) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces an element's children; like `replaceChildren`, but skips null/false (conditions). */
export function replace(el, ...children) {
  clear(el);
  return append(el, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

let ids = 0;
/** A unique id for label/control pairs. */
export const uid = (p = 'f') => `${p}-${++ids}`;

/** A modal dialog (native <dialog>: focus trap and Escape for free). Resolves on close. */
export function dialog(title, body, actions) {
  const d = h('dialog', { 'aria-labelledby': uid('dlg') });
  const titleId = d.getAttribute('aria-labelledby');
  return new Promise((resolve) => {
    const buttons = actions.map(([label, value, cls]) =>
      h('button', { type: 'button', class: cls || '', onclick: () => { d.close(); resolve(value); } }, label));
    append(d, [h('h2', { id: titleId }, title), body, h('div', { class: 'actions' }, buttons)]);
    d.addEventListener('close', () => { d.remove(); resolve(null); });
    document.body.append(d);
    d.showModal();
  });
}
