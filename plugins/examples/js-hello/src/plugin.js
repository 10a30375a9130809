// `js-hello`: the greeting widget of plugins/template, written in JavaScript against the WIT
// world `plugin` of `zellige:plugin@0.1.0` and componentized with `jco componentize`.
//
// How jco maps the contract: interface exports are objects named after the interface
// (`widget`, `hooks`) with camelCase functions and record fields (`ctx.configJson`,
// `draft.dataJson`); a `result` is returned on success and thrown on error (the thrown
// value is the error variant, `{ tag, val }`); enums are their case names as strings.

import { log } from 'zellige:plugin/log@0.1.0';

const GREETINGS = {
  ar: { named: (n) => `مرحبا، ${n}!`, everyone: 'مرحبا بالجميع!', dir: 'rtl' },
  fr: { named: (n) => `Bonjour ${n} !`, everyone: 'Bonjour à toutes et à tous !', dir: 'ltr' },
};

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and quoted attribute values. */
function htmlEscape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A `plugin-error.bad-props`, thrown so that jco returns it as the `err` of the result. */
function badProps(message) {
  return { tag: 'bad-props', val: message };
}

function parseProps(propsJson) {
  let props;
  try {
    props = JSON.parse(propsJson);
  } catch (e) {
    throw badProps(`props: not JSON (${e.message})`);
  }
  if (props === null || typeof props !== 'object' || Array.isArray(props)) {
    throw badProps('props: must be an object');
  }
  for (const key of Object.keys(props)) {
    if (key !== 'name' && key !== 'locale') throw badProps(`${key}: unknown prop`);
  }
  let name = props.name;
  if (name !== undefined && name !== null) {
    if (typeof name !== 'string') throw badProps('name: must be a string');
    name = name.trim();
    const length = [...name].length;
    if (length === 0 || length > 100) throw badProps('name: must be 1 to 100 characters');
  } else {
    name = null;
  }
  return { name };
}

function greeting(ctx, propsJson) {
  const { name } = parseProps(propsJson);
  // Every widget renders Arabic unless the reader's locale is French.
  const lang = String(ctx.locale).startsWith('fr') ? 'fr' : 'ar';
  const g = GREETINGS[lang];
  // `text` is the plain greeting (for `data`); the HTML isolates the escaped name in `<bdi>`
  // so that a Latin name keeps its direction inside an Arabic sentence.
  const text = name === null ? g.everyone : g.named(name);
  const inner = name === null ? g.everyone : g.named(`<bdi>${htmlEscape(name)}</bdi>`);
  const html = `<p class="zjs-greeting" dir="${g.dir}" lang="${lang}">${inner}</p>`;
  log('info', `greeting rendered in ${lang} for tenant ${ctx.tenant}`);
  return {
    html,
    dataJson: JSON.stringify({ greeting: text, language: 'javascript' }),
    cacheSeconds: 60,
  };
}

export const widget = {
  render(ctx, name, propsJson) {
    if (name === 'greeting') return greeting(ctx, propsJson);
    throw { tag: 'unknown-widget', val: name };
  },
};

export const hooks = {
  /** Saves the draft as it is. */
  beforeSave(_ctx, draft) {
    return draft.dataJson;
  },
  /** Nothing to do after a publication (and doing nothing is idempotent). */
  afterPublish(_ctx, _entry) {},
};
