// Browser scenarios for the admin UI, run by `tests/tests/admin_ui.rs` against a live server.
// Every screen visited is checked with axe-core (no serious or critical violation).

import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';

const BASE = process.env.BASE_URL;
const TENANT = process.env.TENANT;
const [ADMIN, EDITOR, EDITOR2, AUTHOR] = JSON.parse(process.env.USERS).map(([role, email, password]) => ({ role, email, password }));
const SHOTS = process.env.SCREENSHOTS;
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** An 8×8 PNG (zellige green), to upload. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR4nGPgjg3CihiGlgQAGhYugV22i3oAAAAASUVORK5CYII=';

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM, args: ['--no-sandbox'] });
const checked = new Set();

/** axe-core on the current screen: no serious or critical violation. */
async function axe(page, screen) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => ['serious', 'critical'].includes(v.impact));
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `axe on ${screen}`);
  checked.add(screen);
}

async function shot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function login(user, { locale = 'ar' } = {}) {
  const context = await browser.newContext({ locale: locale === 'ar' ? 'ar-MA' : 'fr-MA', viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.problems = problems;
  await page.goto(`${BASE}/admin`);
  await page.evaluate((l) => localStorage.setItem('zellige.locale', l), locale);
  await page.reload();
  try {
    await page.waitForSelector('form input[type=password]', { timeout: 10000 });
  } catch {
    throw new Error(`no login form at ${page.url()}: ${problems.join("; ")} ${await page.evaluate(() => document.getElementById("app").outerHTML.slice(0, 1500))}`);
  }
  await axe(page, 'login');
  await page.getByLabel(locale === 'ar' ? 'الغرفة' : 'Chambre').fill(TENANT);
  await page.locator('input[type=email]').fill(user.email);
  await page.locator('input[type=password]').fill(user.password);
  await page.locator('form button[type=submit]').click();
  try {
    await page.waitForSelector('nav', { timeout: 10000 });
  } catch (e) {
    throw new Error(`login of ${user.email} did not reach the dashboard: ${await page.locator('main').innerText().catch(() => '?')}`);
  }
  return { context, page };
}

async function screen(page, hash, ready) {
  await page.goto(`${BASE}/admin#${hash}`);
  await page.waitForSelector(ready);
}

async function api(page, method, path, body) {
  return page.evaluate(async ([method, path, body]) => {
    const me = await (await fetch('/admin/api/v1/auth/me')).json();
    const r = await fetch(`/admin/api/v1${path}`, {
      method, headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, [method, path, body]);
}

const scenarios = {
  async securityHeadersCookieAndCsrf() {
    for (const path of ['/admin', '/admin/']) {
      const r = await fetch(`${BASE}${path}`);
      const csp = r.headers.get('content-security-policy') || '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'/, path);
      assert.doesNotMatch(csp, /unsafe-inline/, path);
      const html = await r.text();
      assert.doesNotMatch(html, /<script>(?!<)/, 'no inline script');
      const asset = html.match(/src="([^"]+app\.js)"/)[1];
      const a = await fetch(`${BASE}${asset}`, { headers: { 'accept-encoding': 'gzip' } });
      assert.equal(a.status, 200);
      assert.match(a.headers.get('cache-control'), /immutable/);
      assert.match(a.headers.get('content-security-policy'), /frame-ancestors 'none'/);
    }
    const { context, page } = await login(EDITOR);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'zellige_session');
    assert.ok(session, 'session cookie set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie.includes('zellige_session')), false, 'cookie readable from script');
    assert.equal(await page.evaluate(() => localStorage.length && Object.values(localStorage).some((v) => v.startsWith('zls_'))), false, 'no token in localStorage');
    // Same origin but without the CSRF header: refused.
    const bare = await page.evaluate(async () => (await fetch('/admin/api/v1/entries/article', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ data: { title: { ar: 'بدون رمز' } } }) })).status);
    assert.equal(bare, 403);
    // A cross-site form post from another site: refused, nothing created.
    const before = (await api(page, 'GET', '/entries/article?first=1')).body.totalCount;
    const evil = await context.newPage();
    await evil.route('http://evil.example/**', (route) => route.fulfill({
      contentType: 'text/html',
      body: `<form method="POST" action="${BASE}/admin/api/v1/entries/article" enctype="text/plain"><input name='{"data":{"title":{"ar":"x"}},"x":"' value='"}'></form><script>document.forms[0].submit()</script>`,
    }));
    const [response] = await Promise.all([
      evil.waitForResponse((r) => r.url().includes('/admin/api/v1/entries/article')),
      evil.goto('http://evil.example/attack'),
    ]);
    assert.ok([401, 403].includes(response.status()), `cross-site post answered ${response.status()}`);
    assert.equal((await api(page, 'GET', '/entries/article?first=1')).body.totalCount, before);
    // Logout ends the session on the server: the cookie no longer works.
    await page.getByRole('button', { name: 'تسجيل الخروج' }).click();
    await page.waitForSelector('input[type=password]');
    const after = await page.evaluate(async () => (await fetch('/admin/api/v1/auth/me')).status);
    assert.equal(after, 401);
    await context.close();
  },

  async editorPublishesAnArabicArticle() {
    const { context, page } = await login(EDITOR);
    assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
    await axe(page, 'dashboard');
    await screen(page, '/entries/article', 'table');
    await axe(page, 'list');
    await shot(page, 'list-ar');
    await screen(page, '/entries/article/new', 'form.editor');
    await axe(page, 'editor');
    // The French title only: the Arabic one (the default locale) is required.
    await page.getByLabel('title (الفرنسية)', { exact: false }).or(page.getByLabel('العنوان (الفرنسية)')).first().fill('Journée portes ouvertes de l’artisanat');
    await page.getByRole('button', { name: 'حفظ المسودة' }).click();
    const err = page.locator('fieldset[data-field=title] .field-error');
    await err.waitFor({ state: 'visible' });
    assert.match(await err.textContent(), /مطلوب|required/);
    assert.equal(await page.locator('fieldset[data-field=title] [aria-invalid=true]').count(), 1);
    await axe(page, 'editor with errors');
    await page.getByLabel('العنوان (العربية)').fill('الأبواب المفتوحة للصناعة التقليدية بمراكش');
    const body = page.locator('fieldset[data-field=body] .richtext').first();
    {
      await body.click();
      await page.keyboard.type('تنظم غرفة الصناعة التقليدية أياما مفتوحة.');
      await page.keyboard.press('Enter');
      await page.keyboard.type('Des journées portes ouvertes.');
    }
    // Keyboard only: Tab from the body text reaches the save button, which shows its focus.
    let reached = false;
    for (let i = 0; i < 80 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'حفظ المسودة');
    }
    assert.ok(reached, 'the save button is reachable with Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'visible focus');
    await page.keyboard.press('Enter');
    await page.waitForSelector('text=حُفظت المسودة');
    await shot(page, 'editor-ar');
    await page.getByRole('button', { name: 'حفظ ونشر' }).click();
    await page.waitForSelector('text=نُشر المدخل');
    const id = page.url().split('/').pop();
    // Mixed Arabic and French paragraphs, each with its own direction, kept by the sanitizer.
    const saved = (await api(page, 'GET', `/entries/article/${id}`)).body;
    const html = saved.data.body?.ar || '';
    assert.match(html, /<p dir="auto">تنظم غرفة الصناعة التقليدية أياما مفتوحة\.<\/p>/, html);
    assert.match(html, /<p dir="auto">Des journées portes ouvertes\.<\/p>/, html);
    // A frontend reads it with a public token.
    const r = await fetch(`${BASE}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.PUBLIC_TOKEN}` },
      body: JSON.stringify({ query: 'query($id: ID!) { article(id: $id) { title } }', variables: { id } }),
    });
    const got = await r.json();
    assert.equal(got.data?.article?.title, 'الأبواب المفتوحة للصناعة التقليدية بمراكش', JSON.stringify(got));
    // Scheduling: an unpublish time tomorrow, in Casablanca time.
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    await page.getByLabel('موعد إلغاء النشر').fill(`${tomorrow}T09:00`);
    await page.getByRole('button', { name: 'حفظ الموعد' }).click();
    await page.waitForSelector('text=حُفظ الموعد');
    const sched = (await api(page, 'GET', `/entries/article/${id}/schedule`)).body;
    assert.match(sched.unpublishAt, new RegExp(`^${tomorrow}T0[89]:00`), JSON.stringify(sched));
    // Search in the list: the published seed article, found as a reader types it (the index
    // catches up with the outbox within moments).
    let found = 0;
    for (let i = 0; i < 40 && !found; i += 1) {
      await screen(page, '/entries/article?q=' + encodeURIComponent('التعاونيات'), 'h1');
      found = await page.locator('ol.results li').count();
      if (!found) await page.waitForTimeout(250);
    }
    assert.ok(found > 0, 'search finds the seed article');
    assert.match(await page.locator('ol.results').textContent(), /للتعاونيات/);
    await axe(page, 'search results');
    await screen(page, `/entries/article/${id}`, 'form.editor');
    // The version history, with a diff of two versions.
    await page.getByRole('button', { name: 'قارن' }).click();
    await page.waitForSelector('.diff table, .diff p');
    await axe(page, 'versions');
    // Restoring version 1 makes it the new draft (history kept).
    await page.locator('.versions li').last().getByRole('button', { name: 'استرجاع' }).click();
    await page.waitForSelector('text=استُرجعت النسخة 1');
    // French flips the interface to left-to-right.
    await page.selectOption('#pref-locale', 'fr');
    await page.waitForFunction(() => document.documentElement.dir === 'ltr');
    await screen(page, `/entries/article/${id}`, 'form.editor');
    await page.waitForSelector('text=Historique des versions');
    await axe(page, 'editor (fr)');
    await shot(page, 'editor-fr');
    await screen(page, '/entries/article', 'table');
    await axe(page, 'list (fr)');
    await shot(page, 'list-fr');
    await context.close();
  },

  async authorCannotPublish() {
    const { context, page } = await login(AUTHOR);
    await screen(page, '/entries/article/new', 'form.editor');
    assert.equal(await page.getByRole('button', { name: 'حفظ ونشر' }).count(), 0, 'no publish button');
    await page.getByLabel('العنوان (العربية)').fill('مقال الكاتب');
    await page.getByRole('button', { name: 'حفظ المسودة' }).click();
    await page.waitForSelector('text=حُفظت المسودة');
    assert.equal(await page.getByRole('button', { name: 'حفظ ونشر' }).count(), 0);
    const id = page.url().split('/').pop();
    const forced = await api(page, 'POST', `/entries/article/${id}/publish`);
    assert.equal(forced.status, 403);
    const inOne = await api(page, 'POST', '/entries/article', { data: { title: { ar: 'نشر خفي' } }, publish: true });
    assert.equal(inOne.status, 403);
    await context.close();
  },

  async twoEditorsConflict() {
    const a = await login(EDITOR);
    const b = await login(EDITOR2);
    const created = await api(a.page, 'POST', '/entries/article', { data: { title: { ar: 'معرض الخزف بآسفي' } } });
    const id = created.body.id;
    await screen(a.page, `/entries/article/${id}`, 'form.editor');
    await screen(b.page, `/entries/article/${id}`, 'form.editor');
    await a.page.getByLabel('العنوان (العربية)').fill('معرض الخزف والفخار بآسفي');
    await a.page.getByRole('button', { name: 'حفظ المسودة' }).click();
    await a.page.waitForSelector('text=حُفظت المسودة');
    const mine = 'معرض آسفي للخزف: الدورة الثانية';
    await b.page.getByLabel('العنوان (العربية)').fill(mine);
    await b.page.getByRole('button', { name: 'حفظ المسودة' }).click();
    await b.page.waitForSelector('.conflict');
    await axe(b.page, 'conflict');
    await b.page.getByRole('button', { name: 'إعادة التحميل' }).click();
    await b.page.waitForSelector('.mine');
    assert.equal(await b.page.getByLabel('العنوان (العربية)').inputValue(), 'معرض الخزف والفخار بآسفي');
    assert.equal(await b.page.locator('.mine-text').first().textContent(), mine, 'the second editor keeps their text');
    await b.page.getByRole('button', { name: 'استعمل نصي' }).click();
    await b.page.getByRole('button', { name: 'حفظ المسودة' }).click();
    await b.page.waitForSelector('text=حُفظت المسودة');
    await a.context.close();
    await b.context.close();
  },

  async typeChangeAsksBeforeDroppingData() {
    const { context, page } = await login(ADMIN);
    await screen(page, '/types', 'h1');
    await axe(page, 'content types');
    await screen(page, '/types/workshop', 'tbody tr');
    await axe(page, 'content-type builder');
    // Remove `seats`, which holds data: the server's dataLoss refusal asks for confirmation.
    await page.locator('tbody tr').nth(1).getByRole('button', { name: 'حذف' }).click();
    await page.getByRole('button', { name: 'حفظ النوع' }).click();
    const dlg = page.locator('dialog[open]');
    await dlg.waitFor();
    assert.match(await dlg.textContent(), /seats/);
    assert.match(await dlg.textContent(), /1/);
    await axe(page, 'data-loss confirmation');
    await dlg.getByRole('button', { name: 'إلغاء' }).click();
    await page.waitForSelector('text=لم يُطبّق التغيير');
    let def = (await api(page, 'GET', '/content-types/workshop')).body;
    assert.ok(def.fields.some((f) => f.name === 'seats'), 'cancel keeps the field');
    await page.getByRole('button', { name: 'حفظ النوع' }).click();
    await page.locator('dialog[open]').getByRole('button', { name: 'طبّق واحذف هذه القيم' }).click();
    await page.waitForSelector('text=حُفظ النوع');
    def = (await api(page, 'GET', '/content-types/workshop')).body;
    assert.ok(!def.fields.some((f) => f.name === 'seats'), 'confirmed removal applied');
    await context.close();
  },

  async adminCreatesATokenAndSeesItOnce() {
    const { context, page } = await login(ADMIN);
    await screen(page, '/tokens', 'table');
    await axe(page, 'tokens');
    await page.getByLabel('الاسم').fill('موقع الغرفة');
    await page.getByRole('button', { name: 'إنشاء المفتاح' }).click();
    const secret = page.locator('dialog[open] code.secret');
    await secret.waitFor();
    const value = await secret.textContent();
    assert.match(value, /^zlg_/);
    await axe(page, 'token secret');
    await page.locator('dialog[open]').getByRole('button', { name: 'تم' }).click();
    await page.waitForSelector('text=موقع الغرفة');
    assert.equal((await page.content()).includes(value), false, 'the secret is not shown again');
    await page.reload();
    await page.waitForSelector('table');
    assert.equal((await page.content()).includes(value), false);
    // Plugins: enable one with its generated configuration form.
    await screen(page, '/plugins', 'form.card');
    await axe(page, 'plugins');
    const plugin = page.locator('form.card').filter({ hasText: 'social-links' });
    await plugin.getByLabel('مفعلة لهذه الغرفة').setChecked(true);
    await plugin.getByRole('button', { name: 'حفظ', exact: true }).click();
    await plugin.locator('text=حُفظت إعدادات الإضافة').waitFor();
    // The live preview renders the widget with the saved configuration.
    await plugin.getByRole('button', { name: 'معاينة links' }).click();
    await plugin.locator('.widget-preview .widget a').first().waitFor();
    await axe(page, 'plugin preview');
    // The media library: upload a picture, give it an Arabic alternative text.
    await screen(page, '/media', 'form.card');
    await page.locator('input[type=file]').setInputFiles({ name: 'zellige.png', mimeType: 'image/png', buffer: Buffer.from(PNG, 'base64') });
    await page.getByRole('button', { name: 'رفع' }).click();
    await page.waitForSelector('.media-grid li');
    await axe(page, 'media library');
    const item = page.locator('.media-grid li').filter({ hasText: 'zellige.png' }).first();
    await item.getByLabel('النص البديل (العربية)').fill('زليج فاسي أخضر');
    await item.getByRole('button', { name: 'حفظ' }).click();
    await item.locator('text=حُفظ.').waitFor();
    // Settings: add a locale, and narrow the author role on articles with the matrix.
    await screen(page, '/settings', 'form');
    await axe(page, 'settings');
    await page.getByLabel('إضافة لغة').fill('en');
    await page.getByLabel('كاتب · مقالات · حذف').uncheck();
    await page.getByRole('button', { name: 'حفظ الإعدادات' }).click();
    await page.waitForSelector('text=حُفظت الإعدادات');
    const settings = (await api(page, 'GET', '/settings')).body;
    assert.ok(settings.locales.includes('en'), JSON.stringify(settings));
    assert.ok(!settings.permissions.author.article.includes('delete'), JSON.stringify(settings.permissions));
    assert.ok(settings.permissions.author.article.includes('create'), JSON.stringify(settings.permissions));
    for (const [hash, ready, name] of [['/users', 'table', 'users'], ['/audit', 'table', 'audit log'], ['/', 'h1', 'dashboard (admin)']]) {
      await screen(page, hash, ready);
      await axe(page, name);
    }
    await context.close();
  },
};

scenarios.graphiqlFromTheBinary = async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const foreign = [];
  const problems = [];
  page.on('request', (r) => { if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) foreign.push(r.url()); });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  const response = await page.goto(`${BASE}/graphql?tenant=${TENANT}`);
  assert.match(response.headers()['content-security-policy'], /script-src 'self';/);
  await page.waitForSelector('.graphiql-container');
  await page.locator('.graphiql-execute-button').click();
  await page.waitForFunction(() => document.querySelector('.result-window')?.textContent.includes('"ar"'));
  assert.deepEqual(foreign, [], 'no third-party request');
  assert.deepEqual(problems, [], 'no script or policy errors');
  await context.close();
};

let failed = 0;
const only = process.env.ONLY ? process.env.ONLY.split(',') : null;
for (const [name, run] of Object.entries(scenarios).filter(([n]) => !only || only.includes(n))) {
  try {
    await run();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}
await browser.close();
console.log(`axe checked: ${[...checked].join(', ')}`);
if (failed) {
  console.log(`${failed} scenario(s) failed`);
  process.exit(1);
}
console.log('all scenarios passed');
