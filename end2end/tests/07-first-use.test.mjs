// What a first-time visitor meets: a shared deep link survives sign-in exactly, and the
// browser bundle arrives compressed under hashed names that browsers keep, while pages are
// never cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

const spec = (name, kind, extra = {}) => ({ name, kind, required: false, multi: false, default: [], options: [], ...extra });

test('a deep link with parameters survives sign-in', async () => {
  const browser = await launch();
  try {
    // An insight with parameters, made by the admin.
    const admin = await newPage(browser);
    await signIn(admin, ADMIN.email, ADMIN.password);
    await admin.waitForURL(BASE + '/');
    const demo = (await api(admin, 'list_connections', null)).find((c) => c.name === 'Demo').id;
    const insight = await api(admin, 'save_insight', {
      id: null, base_version: null,
      draft: {
        name: 'Orders by status (deep link)', description: '', connection_id: demo,
        sql: "select status, count(*) as n from orders where status = {{kind}} and ordered_at >= {{period.start}} and ordered_at < {{period.end}} group by status",
        params: [spec('kind', 'text'), spec('period', 'date_range')],
      },
    });

    for (const deep of [
      `/insights/${insight.id}?p_kind=refund&p_period=2024-02-01~2024-03-01`,
      `/insights/${insight.id}?p_kind=a%26b%20c&p_period=last_90_days`,
      `/workbench?connection=${demo}`,
    ]) {
      const page = await newPage(browser); // a fresh context: signed out
      await page.goto(BASE + deep);
      await page.waitForURL(/\/login\?next=/);
      const next = new URL(page.url()).searchParams.get('next');
      assert.equal(next, deep, 'the sign-in page keeps the whole address');
      await page.waitForSelector('body[data-hydrated="true"]');
      await page.fill('input[name="email"]', ADMIN.email);
      await page.fill('input[name="password"]', ADMIN.password);
      await page.click('button[type="submit"]');
      await page.waitForURL(BASE + deep, { timeout: 15000 });
      if (deep.startsWith('/insights/')) {
        await page.waitForSelector('h1:has-text("Orders by status (deep link)")', { timeout: 15000 });
        assert.equal(await page.locator('[data-test=insight-error]').count(), 0);
        await shot(page, '07-deep-link-after-sign-in');
      }
      assert.deepEqual(page.problems, []);
      await page.context().close();
    }

    // A next that leaves the site lands on the home page instead.
    const page = await newPage(browser);
    await open(page, '/login?next=' + encodeURIComponent('//evil.example/x'));
    await page.fill('input[name="email"]', ADMIN.email);
    await page.fill('input[name="password"]', ADMIN.password);
    await page.click('button[type="submit"]');
    await page.waitForURL(BASE + '/', { timeout: 15000 });
  } finally {
    await browser.close();
  }
});

test('the bundle is compressed and cached by hashed name; pages are not cached', async () => {
  const html = await fetch(BASE + '/login', { headers: { 'accept-encoding': 'br, gzip' } });
  assert.equal(html.status, 200);
  const page = await html.text();
  const cacheHtml = html.headers.get('cache-control') || '';
  assert.ok(!/immutable|max-age=[1-9]/.test(cacheHtml), `HTML must not be cached: ${cacheHtml}`);
  assert.match(cacheHtml, /no-store/);

  const wasmPath = page.match(/href="(\/pkg\/[0-9a-f]{16}\/sightline\.wasm)"/)?.[1];
  const jsPath = page.match(/href="(\/pkg\/[0-9a-f]{16}\/sightline\.js)"/)?.[1];
  const cssPath = page.match(/href="(\/pkg\/sightline\.[0-9a-f]{16}\.css)"/)?.[1];
  const editorPath = page.match(/content="(\/vendor\/sightline-editor\.[0-9a-f]{16}\.js)"/)?.[1];
  assert.ok(wasmPath && jsPath && cssPath && editorPath, 'the page links hashed assets');

  const plain = await fetch(BASE + wasmPath, { headers: { 'accept-encoding': 'identity' } });
  const size = (await plain.arrayBuffer()).byteLength;
  for (const [encoding, name] of [['br', 'br'], ['gzip', 'gzip']]) {
    // Node's fetch decodes bodies itself: count the bytes on the wire from content-length.
    const r = await fetch(BASE + wasmPath, { headers: { 'accept-encoding': encoding } });
    assert.equal(r.headers.get('content-encoding'), name);
    const wire = Number(r.headers.get('content-length'));
    assert.ok(wire > 0 && wire <= 0.4 * size, `${name}: ${wire} bytes on the wire for ${size} (≤ 40 %)`);
    await r.arrayBuffer();
  }
  for (const asset of [wasmPath, jsPath, cssPath, editorPath]) {
    const r = await fetch(BASE + asset);
    assert.equal(r.status, 200, asset);
    assert.match(r.headers.get('cache-control') || '', /immutable/, asset);
    assert.match(r.headers.get('cache-control') || '', /max-age=31536000/, asset);
    await r.arrayBuffer();
  }
  assert.equal(plain.headers.get('content-type'), 'application/wasm');
});

test('the home page shows the first steps, then recent and starred insights', async () => {
  const browser = await launch();
  try {
    // A new editor, added by the admin.
    const admin = await newPage(browser);
    await signIn(admin, ADMIN.email, ADMIN.password);
    await admin.waitForURL(BASE + '/');
    const email = `starter-${Date.now()}@example.com`;
    await admin.evaluate(async (email) => {
      const body = new URLSearchParams({ 'input[email]': email, 'input[role]': 'editor', 'input[password]': 'a starter password' });
      const r = await fetch('/api/create_user', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      if (!r.ok) throw new Error(await r.text());
    }, email);

    const page = await newPage(browser);
    await signIn(page, email, 'a starter password');
    await page.waitForURL(BASE + '/');
    const steps = page.locator('[data-test=checklist] [data-test=step]');
    await steps.first().waitFor();
    assert.deepEqual(await steps.evaluateAll((els) => els.map((e) => e.dataset.key)), ['demo', 'connect', 'query', 'insight', 'alert']);
    // Their own steps are all open ("Connect a database" is the instance's: other stories
    // running beside this one may have added a connection).
    const doneKeys = async () => page.locator('[data-test=step][data-done=true]').evaluateAll((els) => els.map((e) => e.dataset.key));
    assert.deepEqual((await doneKeys()).filter((k) => k !== 'connect'), []);
    assert.match(await page.textContent('[data-test=recent]'), /Insights you open appear here/);
    await shot(page, '07-home-checklist');

    // The first step leads to the workbench on the Demo; a run there ticks it off.
    await page.click('[data-test=step][data-key=demo] a');
    await page.waitForURL(/\/workbench\?connection=\d+/);
    const demo = Number(new URL(page.url()).searchParams.get('connection'));
    await api(page, 'run_sql', { request: { connection_id: demo, sql: 'select count(*) from orders', params: [], page_size: 10 } });
    const insight = await api(page, 'save_insight', {
      id: null, base_version: null,
      draft: { name: 'Starter orders', description: '', connection_id: demo, sql: 'select status, count(*) as n from orders group by status' },
    });

    // Opened and starred, it is on the home page, reached without a reload.
    await open(page, `/insights/${insight.id}`);
    await page.evaluate(() => { window.__noReload = true; });
    await page.click('[data-test=favorite]');
    await page.waitForSelector('[data-test=favorite][aria-pressed=true]');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
    await page.waitForURL(BASE + '/');
    await page.locator('[data-test=favorites] [data-test=insight-link]', { hasText: 'Starter orders' }).waitFor();
    await page.locator('[data-test=recent] [data-test=insight-link]', { hasText: 'Starter orders' }).waitFor();
    assert.deepEqual((await doneKeys()).filter((k) => k !== 'connect'), ['demo', 'insight']);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');
    await shot(page, '07-home-started');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
