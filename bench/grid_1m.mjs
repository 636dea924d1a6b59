// Browser benchmark: the workbench grid on a 1M-row result (time to the first row on screen,
// jumps deep into the result, a server-side sort of all rows). Run by bench/grid_1m.sh.
import { chromium } from 'playwright-core';
const BASE = process.env.BASE;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless','--no-sandbox','--disable-gpu','--disable-background-networking','--disable-component-update','--disable-sync'] });
const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
await page.goto(BASE + '/login'); await page.waitForSelector('body[data-hydrated="true"]');
await page.fill('input[name=email]', 'big@example.com'); await page.fill('input[name=password]', 'big password 12345');
await page.click('button[type=submit]'); await page.waitForURL(BASE + '/');
const id = await page.evaluate(async (base) => {
  const body = new URLSearchParams({ 'form[name]': 'bench', 'form[kind]': 'postgres', 'form[host]': '127.0.0.1', 'form[port]': '5432', 'form[database]': 'test', 'form[user]': 'postgres' });
  const r = await fetch(base + '/api/save_connection', { method: 'POST', body }); return r.json();
}, BASE);
await page.goto(BASE + '/workbench?connection=' + id); await page.waitForSelector('body[data-hydrated="true"]'); await page.waitForSelector('.wb-editor[data-editor=ready]');
await page.click('.cm-content'); await page.keyboard.insertText('select * from bench_events');
let t = Date.now(); await page.keyboard.press('Control+Enter');
await page.waitForFunction(() => /^\d/.test(document.querySelector('.grid-row[data-row="0"] .gc:nth-child(2)')?.textContent || ''));
console.log('first row on screen after', Date.now() - t, 'ms');
await page.waitForSelector('[data-test=run-status][data-state=done]', { timeout: 60000 });
console.log('done after', Date.now() - t, 'ms');
const grid = page.locator('[data-test=grid]');
for (const row of [500000, 999000, 123456]) {
  t = Date.now();
  await grid.evaluate((el, r) => { el.scrollTop = r * 28; }, row);
  await page.waitForFunction((r) => /^\d/.test(document.querySelector(`.grid-row[data-row="${r}"] .gc:nth-child(2)`)?.textContent || ''), row + 5);
  console.log('jump to row', row, 'rendered in', Date.now() - t, 'ms');
}
// sort the 1M rows descending by id
t = Date.now();
const h = page.locator('[data-test=col-header]').first(); await h.click(); await h.click();
await page.waitForFunction(() => document.querySelector('.grid-row[data-row="123461"] .gc:nth-child(2)')?.textContent === String(1000000 - 123461));
console.log('sort 1M desc + page at row 123461 in', Date.now() - t, 'ms');
await page.screenshot({ path: process.env.SHOT || 'bench-grid-1m.png' });
await browser.close();
