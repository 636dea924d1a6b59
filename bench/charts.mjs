// Browser benchmark of charts (run by bench/charts.sh): for 1k, 10k and 100k rows, the time
// from pressing Run to the chart drawn (and from the result being ready to the chart drawn),
// best of 3; then the JS + wasm bytes the insight page transferred, as sent (gzip).
import { chromium } from 'playwright-core';
const BASE = process.env.BASE;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
let transferred = {};
page.on('response', async (r) => {
  const url = r.url();
  if (!/\.(js|wasm)$/.test(new URL(url).pathname)) return;
  const sizes = await r.request().sizes().catch(() => null);
  if (sizes) transferred[new URL(url).pathname] = { body: sizes.responseBodySize, encoding: r.headers()['content-encoding'] || 'none' };
});
await page.goto(BASE + '/login'); await page.waitForSelector('body[data-hydrated="true"]');
await page.fill('input[name=email]', 'big@example.com'); await page.fill('input[name=password]', 'big password 12345');
await page.click('button[type=submit]'); await page.waitForURL(BASE + '/');
const api = (name, body) => page.evaluate(async ([name, body]) => {
  const r = await fetch('/api/' + name, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw new Error(name + ': ' + await r.text());
  return r.json();
}, [name, body]);
const conn = await page.evaluate(async () => {
  const body = new URLSearchParams({ 'form[name]': 'bench', 'form[kind]': 'postgres', 'form[host]': '127.0.0.1', 'form[port]': '5432', 'form[database]': 'test', 'form[user]': 'postgres' });
  return (await fetch('/api/save_connection', { method: 'POST', body })).json();
});
const results = [];
for (const rows of [1000, 10000, 100000]) {
  const insight = await api('save_insight', { id: null, base_version: null, draft: {
    name: `chart ${rows}`, description: '', connection_id: conn, params: [],
    sql: `select day, country, revenue from bench_chart where id <= ${rows} order by id`,
    view: { kind: 'chart', chart: { kind: 'line', x: 'day', y: ['revenue'], series: 'country' } },
  } });
  await page.goto(`${BASE}/insights/${insight.id}`); await page.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 60000 });
  let best = null;
  for (let i = 0; i < 3; i++) {
    const t = await page.evaluate(() => new Promise((resolve) => {
      const el = document.querySelector('[data-test=chart-canvas]');
      el.dataset.rendered = '0';
      performance.clearResourceTimings();
      const start = performance.now();
      const seen = new MutationObserver(() => {
        if (el.dataset.rendered !== '1') return;
        seen.disconnect();
        const drawn = performance.now();
        // The chart is asked for as soon as the result is ready: from that request to drawn.
        const ask = performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/get_chart')).pop();
        requestAnimationFrame(() => resolve({ total: drawn - start, afterResult: ask ? drawn - ask.startTime : NaN }));
      });
      seen.observe(el, { attributes: true });
      document.querySelector('[data-test=run-insight]').click();
    }));
    if (!best || t.total < best.total) best = t;
  }
  const note = await page.locator('[data-test=chart-note]').textContent().catch(() => '');
  results.push({ rows, ...best, note });
  console.log(`${String(rows).padStart(6)} rows: Run → chart drawn ${best.total.toFixed(0)} ms; result ready → chart drawn ${best.afterResult.toFixed(0)} ms${note ? ` (${note.trim()})` : ''}`);
}
// A fresh page load of the last insight: what JS and wasm cross the wire.
transferred = {};
const fresh = await (await browser.newContext({ storageState: await context.storageState() })).newPage();
fresh.on('response', async (r) => {
  const url = new URL(r.url());
  if (!/\.(js|wasm)$/.test(url.pathname)) return;
  const sizes = await r.request().sizes().catch(() => null);
  if (sizes) transferred[url.pathname] = { body: sizes.responseBodySize, encoding: r.headers()['content-encoding'] || 'none' };
});
await fresh.goto(page.url()); await fresh.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 60000 });
await fresh.waitForTimeout(500);
let total = 0;
for (const [path, s] of Object.entries(transferred)) { total += s.body; console.log(`  ${path}: ${s.body} B (${s.encoding})`); }
console.log(`insight page JS + wasm transferred: ${total} B (${(total / 1024).toFixed(0)} KB)`);
await browser.close();
