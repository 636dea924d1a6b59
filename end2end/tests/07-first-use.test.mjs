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

  const wasmPath = page.match(/href="(\/pkg\/sightline\.[0-9a-f]{16}\.wasm)"/)?.[1];
  const jsPath = page.match(/href="(\/pkg\/sightline\.[0-9a-f]{16}\.js)"/)?.[1];
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
