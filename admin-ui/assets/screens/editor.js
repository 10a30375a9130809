// The entry editor, generated from the content type: a widget per field (localized fields side
// by side per locale), server errors on the field they name, conflicts shown as "changed by
// someone else" with the user's edits kept beside the reloaded entry, publishing for those who
// may, and the version history with a diff of two versions and restore.

import { h, uid, dialog, replace } from '../dom.js';
import { api, ApiError } from '../api.js';
import { t, formatDate, localToUtc, utcToLocal } from '../i18n.js';
import { state, can, go, typeLabel } from '../app.js';
import { widget, fieldLabel, entryTitle } from '../fields.js';

const same = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const plainText = (v) => {
  if (v == null) return '';
  if (typeof v === 'string') return new DOMParser().parseFromString(v, 'text/html').body.textContent;
  return JSON.stringify(v);
};

export async function render(typeName, id) {
  const ct = state.types.find((x) => x.name === typeName);
  if (!ct) return h('h1', {}, t('error.notFound'));
  const locales = state.me.locales || ['ar'];
  let entry = id ? await api('GET', `/entries/${typeName}/${id}`) : null;

  // Widgets: field name → locale ('' for plain fields) → widget; one error slot per field.
  const widgets = {};
  const slots = {};
  const fieldsets = ct.fields.map((f) => {
    const errId = uid('err');
    slots[f.name] = h('div', { id: errId, class: 'field-error', role: 'alert' });
    const own = {};
    const inner = f.localized
      ? h('div', { class: 'locales' }, locales.map((l) => {
        own[l] = widget(f, { lang: l, label: `${fieldLabel(f)} (${t(`locale.${l}`)})`, types: state.types });
        return h('div', { class: 'locale', lang: l, dir: l === 'ar' ? 'rtl' : 'ltr' }, own[l].el);
      }))
      : (own[''] = widget(f, { label: fieldLabel(f), types: state.types })).el;
    widgets[f.name] = own;
    for (const w of Object.values(own)) w.focusable?.setAttribute('aria-describedby', errId);
    return h('fieldset', { class: 'field', 'data-field': f.name },
      h('legend', {}, fieldLabel(f), f.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, ' *') : null),
      inner, slots[f.name]);
  });

  const collect = () => {
    const data = {};
    for (const f of ct.fields) {
      const own = widgets[f.name];
      if (f.localized) {
        const v = {};
        for (const l of locales) { const x = own[l].get(); if (x !== null) v[l] = x; }
        data[f.name] = Object.keys(v).length ? v : null;
      } else data[f.name] = own[''].get();
    }
    return data;
  };
  const fill = async (data) => {
    for (const f of ct.fields) {
      const v = data?.[f.name];
      if (f.localized) for (const l of locales) await widgets[f.name][l].set(v?.[l] ?? null);
      else await widgets[f.name][''].set(v ?? null);
    }
  };
  if (entry) await fill(entry.data);

  const banner = h('div', { class: 'banner', role: 'status' });
  const summary = h('div', { class: 'error', role: 'alert', hidden: true });
  const clearErrors = () => {
    summary.hidden = true;
    for (const s of Object.values(slots)) replace(s);
    for (const own of Object.values(widgets)) for (const w of Object.values(own)) w.focusable?.removeAttribute('aria-invalid');
  };
  const showErrors = (err) => {
    summary.textContent = `${t('editor.invalid')} ${err.fields.length ? '' : err.message}`;
    summary.hidden = false;
    let first = null;
    for (const fe of err.fields) {
      const [name, rest] = fe.path.split(/\.(.+)/);
      const field = name.replace(/\[\d+\]$/, '');
      const slot = slots[field];
      if (!slot) { summary.append(h('p', {}, `${fe.path}: ${fe.message}`)); continue; }
      const w = widgets[field][rest && widgets[field][rest] ? rest : ''] || Object.values(widgets[field])[0];
      w.focusable?.setAttribute('aria-invalid', 'true');
      first ||= w.focusable;
      slot.append(h('p', {}, rest ? `${t(`locale.${rest}`)}: ` : '', t(`rule.${fe.rule}`, { message: fe.message }) === `rule.${fe.rule}` ? fe.message : t(`rule.${fe.rule}`), ` (${fe.message})`));
    }
    first?.focus();
  };

  const reloadKeepingMine = async () => {
    const mine = collect();
    entry = await api('GET', `/entries/${typeName}/${entry.id}`);
    await fill(entry.data);
    replace(banner, h('p', {}, t('editor.reloaded', { version: entry.version })));
    for (const f of ct.fields) {
      const keys = f.localized ? locales : [''];
      for (const l of keys) {
        const m = f.localized ? mine[f.name]?.[l] : mine[f.name];
        const theirs = f.localized ? entry.data[f.name]?.[l] : entry.data[f.name];
        if (same(m, theirs) || m == null) continue;
        const w = widgets[f.name][l];
        slots[f.name].append(h('div', { class: 'mine' },
          h('strong', {}, t('editor.yourVersion'), l ? ` (${t(`locale.${l}`)})` : '', ': '),
          h('bdi', { class: 'mine-text' }, plainText(m)),
          h('button', { type: 'button', onclick: (e) => { w.set(m); e.target.closest('.mine').remove(); } }, t('editor.useMine'))));
      }
    }
  };

  const save = async (publish) => {
    clearErrors();
    replace(banner);
    const data = collect();
    try {
      if (!entry) {
        for (const k of Object.keys(data)) if (data[k] === null) delete data[k];
        entry = await api('POST', `/entries/${typeName}`, { data, publish: publish || undefined });
        history.replaceState(null, '', `#/entries/${typeName}/${entry.id}`);
      } else {
        entry = await api('PATCH', `/entries/${typeName}/${entry.id}`, { data, expectedVersion: entry.version, publish: publish || undefined });
      }
      await fill(entry.data);
      replace(banner, h('p', {}, t(publish ? 'editor.published' : 'editor.saved', { version: entry.version })));
      drawActions();
      drawVersions();
      drawSchedule();
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'CONFLICT' && err.fields.some((f) => f.path === 'expectedVersion')) {
        replace(banner, h('div', { class: 'conflict', role: 'alert' },
          h('p', {}, t('editor.conflict')),
          h('button', { type: 'button', class: 'primary', onclick: reloadKeepingMine }, t('editor.reload'))));
      } else if (err.code === 'BAD_USER_INPUT' || err.code === 'CONFLICT') showErrors(err);
      else replace(banner, h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  const transition = (action) => async () => {
    try {
      entry = await api('POST', `/entries/${typeName}/${entry.id}/${action}`);
      replace(banner, h('p', {}, t(`editor.${action}ed`, { version: entry.version })));
      drawActions();
      drawVersions();
      drawSchedule();
    } catch (err) { replace(banner, h('p', { class: 'error', role: 'alert' }, err.message)); }
  };
  const remove = async () => {
    const ok = await dialog(t('editor.deleteTitle'), h('p', {}, t('editor.deleteConfirm')), [[t('cancel'), false], [t('editor.delete'), true, 'danger']]);
    if (!ok) return;
    await api('DELETE', `/entries/${typeName}/${entry.id}`);
    go(`/entries/${typeName}`);
  };

  const actions = h('div', { class: 'actions' });
  const status = h('p', { class: 'status' });
  const drawActions = () => {
    const publisher = can(typeName, 'publish');
    replace(status, entry ? `${t(`status.${entry.status}`)} · ${t('editor.version', { version: entry.version })} · ${formatDate(entry.updatedAt)}` : t('editor.new'));
    replace(actions, 
      h('button', { type: 'submit', class: 'primary' }, t('editor.save')),
      publisher && h('button', { type: 'button', onclick: () => save(true) }, t('editor.saveAndPublish')),
      publisher && entry && entry.status === 'PUBLISHED' && h('button', { type: 'button', onclick: transition('unpublish') }, t('editor.unpublish')),
      entry && can(typeName, 'delete') && h('button', { type: 'button', class: 'danger', onclick: remove }, t('editor.delete')));
  };
  drawActions();

  const versions = h('section', { class: 'versions', 'aria-labelledby': 'versions-h' });
  const drawVersions = async () => {
    if (!entry) return;
    const list = await api('GET', `/entries/${typeName}/${entry.id}/versions`).catch(() => []);
    const fromId = uid(); const toId = uid();
    const opts = (sel) => list.map((v) => h('option', { value: v.version, selected: v.version === sel }, `${v.version} · ${t(`action.${v.action}`)}`));
    const from = h('select', { id: fromId }, opts(list[1]?.version));
    const to = h('select', { id: toId }, opts(list[0]?.version));
    const diff = h('div', { class: 'diff', 'aria-live': 'polite' });
    const compare = () => {
      const a = list.find((v) => v.version === Number(from.value));
      const b = list.find((v) => v.version === Number(to.value));
      const rows = ct.fields.filter((f) => !same(a?.data[f.name], b?.data[f.name])).map((f) => h('tr', {},
        h('th', { scope: 'row' }, fieldLabel(f)), h('td', { class: 'old' }, h('bdi', {}, plainText(a?.data[f.name]))), h('td', { class: 'new' }, h('bdi', {}, plainText(b?.data[f.name])))));
      replace(diff, rows.length
        ? h('table', {}, h('caption', {}, t('versions.diffCaption', { a: from.value, b: to.value })), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('versions.field')), h('th', { scope: 'col' }, from.value), h('th', { scope: 'col' }, to.value))), h('tbody', {}, rows))
        : h('p', {}, t('versions.same')));
    };
    const restore = (v) => async () => {
      try {
        entry = await api('POST', `/entries/${typeName}/${entry.id}/versions/${v}/restore`, { expectedVersion: entry.version });
        await fill(entry.data);
        replace(banner, h('p', {}, t('versions.restored', { version: v })));
        drawActions(); drawVersions();
      } catch (err) { replace(banner, h('p', { class: 'error', role: 'alert' }, err.message)); }
    };
    replace(versions, 
      h('h2', { id: 'versions-h' }, t('versions.title')),
      h('ol', { class: 'plain' }, list.map((v) => h('li', {},
        `${t('editor.version', { version: v.version })} · ${t(`action.${v.action}`)} · ${formatDate(v.createdAt)} `,
        h('button', { type: 'button', class: 'link', onclick: restore(v.version) }, t('versions.restore'))))),
      list.length > 1 && h('div', { class: 'compare' },
        h('label', { for: fromId }, t('versions.from')), from,
        h('label', { for: toId }, t('versions.to')), to,
        h('button', { type: 'button', onclick: compare }, t('versions.compare'))),
      diff);
  };
  drawVersions();

  // Scheduled publishing (Casablanca wall time in, UTC stored), for those who may publish.
  const schedule = h('section', { class: 'schedule', 'aria-labelledby': 'schedule-h' });
  const drawSchedule = async () => {
    if (!entry || !can(typeName, 'publish')) return;
    const current = await api('GET', `/entries/${typeName}/${entry.id}/schedule`).catch(() => null);
    const pubId = uid(); const unpubId = uid();
    const pub = h('input', { id: pubId, type: 'datetime-local', dir: 'ltr', value: utcToLocal(current?.publishAt) });
    const unpub = h('input', { id: unpubId, type: 'datetime-local', dir: 'ltr', value: utcToLocal(current?.unpublishAt) });
    const note = h('div', { role: 'status' });
    const submit = async () => {
      try {
        const s = await api('PUT', `/entries/${typeName}/${entry.id}/schedule`, { publishAt: localToUtc(pub.value), unpublishAt: localToUtc(unpub.value) });
        replace(note, h('p', {}, t('schedule.saved', { at: s.publishAt ? formatDate(s.publishAt) : '—' })));
      } catch (err) {
        replace(note, h('div', { class: 'error', role: 'alert' }, err.fields.length ? err.fields.map((f) => h('p', {}, `${t(`system.${f.path}`)}: ${f.message}`)) : err.message));
      }
    };
    replace(schedule,
      h('h2', { id: 'schedule-h' }, t('schedule.title')),
      h('p', { class: 'hint' }, t('schedule.hint')),
      h('div', { class: 'compare' },
        h('label', { for: pubId }, t('system.publishAt')), pub,
        h('label', { for: unpubId }, t('system.unpublishAt')), unpub,
        h('button', { type: 'button', onclick: submit }, t('schedule.save'))),
      note);
  };
  drawSchedule();

  const form = h('form', { class: 'editor', novalidate: true, onsubmit: (e) => { e.preventDefault(); save(false); } },
    summary, fieldsets, actions);
  return h('div', { class: 'editor-page' },
    h('p', { class: 'crumbs' }, h('a', { href: `#/entries/${typeName}` }, typeLabel(ct))),
    h('h1', {}, entry ? h('bdi', {}, entryTitle(ct, entry)) : t('editor.newOf', { type: typeLabel(ct) })),
    status, banner, form, schedule, versions);
}

