// Browser benchmark of a 12-tile dashboard (run by bench/dashboards.sh): creates the tiles'
// insights and the board, then opens the board 4 times and reports the time to the first and
// to the last tile answered, cold (the first open) and warm (best of the other 3).
import { chromium } from 'playwright-core';
import { TILES } from './dashboard_tiles.mjs';
const BASE = process.env.BASE;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
const page = await (await browser.newContext({ viewport: { width: 1600, height: 1200 } })).newPage();
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
const kind = { name: 'kind', kind: 'text', required: true, multi: false, default: ['purchase'], options: [] };
const tiles = [];
for (const [i, t] of TILES.entries()) {
  const insight = await api('save_insight', { id: null, base_version: null, draft: { name: t.name, description: '', connection_id: conn, params: [kind], sql: t.sql } });
  tiles.push({ id: i + 1, x: (i % 3) * 4, y: Math.floor(i / 3) * 4, w: 4, h: 4, content: { type: 'insight', insight_id: insight.id } });
}
const board = await api('save_dashboard', { id: null, base_version: null, draft: { name: 'bench board', filters: [kind], tiles } });
// Open 1 is cold (an empty result cache: every tile runs); opens 2-4 are warm (tiles come
// from the cache).
const opens = [];
for (let i = 0; i < 4; i++) {
  const start = Date.now();
  await page.goto(`${BASE}/dashboards/${board.id}?f_kind=purchase`);
  const first = await page.waitForFunction(() => [...document.querySelectorAll('[data-test=tile-status]')].some((e) => /\brows?\b/.test(e.textContent)), null, { timeout: 120000, polling: 10 }).then(() => Date.now() - start);
  const all = await page.waitForFunction((n) => [...document.querySelectorAll('[data-test=tile-status]')].filter((e) => /\brows?\b/.test(e.textContent)).length === n, TILES.length, { timeout: 120000, polling: 10 }).then(() => Date.now() - start);
  console.log(`open ${i + 1} (${i === 0 ? 'cold' : 'warm'}): first tile ${first} ms, all ${TILES.length} tiles ${all} ms`);
  opens.push({ first, all });
}
const warm = opens.slice(1).sort((a, b) => a.all - b.all)[0];
console.log(`cold: first tile ${opens[0].first} ms, all ${TILES.length} tiles ${opens[0].all} ms; warm (best of 3): first tile ${warm.first} ms, all ${TILES.length} tiles ${warm.all} ms`);
// For the load run (bench/dashboard_load.mjs): the board and this signed-in session.
const cookies = await page.context().cookies();
if (process.env.OUT) {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(process.env.OUT, JSON.stringify({ board: board.id, cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') }));
}
await browser.close();
