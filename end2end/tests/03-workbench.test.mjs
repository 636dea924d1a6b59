// The workbench story of the connections and workbench issue: create a PostgreSQL connection,
// test it, run a query, sort, scroll past the first page, cancel a long query, recover from an
// error without reloading, reset the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, launch, newPage, open, shot, signIn } from './helpers.mjs';

const SECRET = 'unused-Secret-4821';

async function typeSql(page, sql) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

async function runAndWait(page, state, timeout = 15000) {
  await page.keyboard.press('Control+Enter');
  await page.waitForSelector(`[data-test=run-status][data-state=${state}]`, { timeout });
}

test('connections and the SQL workbench', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');

    // The generated demo database is there from the first start.
    await open(page, '/connections');
    await page.waitForSelector('[data-test=connection-card][data-name="Demo"]');

    // Create a PostgreSQL connection and test it.
    await page.click('[data-test=new-connection]');
    const ed = page.locator('[data-test=connection-editor]');
    await ed.locator('input[name=name]').fill('Local PG');
    await ed.locator('select[name=kind]').selectOption('postgres');
    await ed.locator('input[name=host]').fill('127.0.0.1');
    await ed.locator('input[name=port]').fill('5432');
    await ed.locator('input[name=database]').fill('test');
    await ed.locator('input[name=user]').fill('postgres');
    await ed.locator('input[name=password]').fill(SECRET);
    await page.click('[data-test=test-connection]');
    const ok = await page.waitForSelector('[data-test=test-ok]');
    assert.match(await ok.textContent(), /PostgreSQL \d+/);
    // postgres is a superuser: the form says so.
    assert.match(await page.textContent('[data-test=test-warning]'), /superuser/);
    await shot(page, '03-connection-tested');
    await page.click('[data-test=save-connection]');
    const card = page.locator('[data-test=connection-card][data-name="Local PG"]');
    await card.waitFor();
    assert.ok(!(await page.content()).includes(SECRET), 'the password never reaches the page');
    await shot(page, '03-connections');

    // Query it from the workbench.
    await card.locator('text=Query').click();
    await page.waitForURL(/\/workbench\?connection=\d+/);
    await page.waitForSelector('.wb-editor[data-editor=ready]', { timeout: 15000 });
    await page.evaluate(() => { window.__noReload = true; });
    await typeSql(page, 'select g as n, md5(g::text) as h, case when g % 10 = 0 then null else g end as maybe from generate_series(1, 5000) g');
    await runAndWait(page, 'done');
    assert.equal(await page.getAttribute('[data-test=run-status]', 'data-rows'), '5000');
    const cell = (row, col) => page.locator(`.grid-row[data-row="${row}"] .gc:nth-child(${col + 2})`);
    assert.equal(await cell(0, 0).textContent(), '1');
    assert.equal(await cell(9, 2).textContent(), 'NULL', 'NULL is shown as NULL');

    // Sort on the server: descending by n.
    const header = page.locator('[data-test=col-header]').first();
    await header.click();
    await header.click();
    await page.waitForFunction(() => document.querySelector('.grid-row[data-row="0"] .gc:nth-child(2)')?.textContent === '5,000');

    // Scroll past the first page (200 rows): rows come from the server as needed.
    await page.locator('[data-test=grid]').evaluate((el) => { el.scrollTop = 28 * 600; });
    await page.waitForFunction(() => document.querySelector('.grid-row[data-row="610"] .gc:nth-child(2)')?.textContent === '4,390');
    await cell(610, 1).click();
    assert.match(await page.textContent('[data-test=cell-bar]'), /Row 611, h/);
    await shot(page, '03-result-sorted-scrolled');

    // Cancel a long query: the database stops it.
    await typeSql(page, 'select pg_sleep(30)');
    await page.keyboard.press('Control+Enter');
    await page.waitForSelector('[data-test=cancel]');
    await page.waitForTimeout(1000);
    const t0 = Date.now();
    await page.click('[data-test=cancel]');
    await page.waitForSelector('[data-test=run-status][data-state=cancelled]', { timeout: 5000 });
    assert.ok(Date.now() - t0 < 5000);
    await shot(page, '03-cancelled');

    // A bad query shows the database's error in place; the next run works without a reload.
    await typeSql(page, 'select * from no_such_table_xyz');
    await runAndWait(page, 'failed');
    assert.match(await page.textContent('[data-test=run-error]'), /no_such_table_xyz/);
    await shot(page, '03-error');
    await typeSql(page, 'select 42 as answer');
    await runAndWait(page, 'done');
    assert.equal(await cell(0, 0).textContent(), '42');

    // History lists what ran.
    await page.click('[data-test=history-toggle]');
    await page.waitForSelector('[data-test=history] .history-item');
    assert.match(await page.textContent('[data-test=history]'), /pg_sleep/);

    // Reset session (after confirming it): results and editor are cleared.
    await page.click('[data-test=reset-session]');
    await page.click('[data-test=reset-confirm-yes]');
    await page.waitForFunction(() => !document.querySelector('[data-test=run-status]'));
    assert.equal(await page.evaluate(() => document.querySelector('[data-test=sql]').value), '');
    // An empty editor shows its placeholder.
    await page.waitForSelector('.cm-content .cm-placeholder');
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload happened');
    await shot(page, '03-reset');

    // Loading the workbench directly (not through the app's links) hydrates too.
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]');
    await page.waitForSelector('.wb-editor[data-editor=ready]', { timeout: 15000 });
    assert.match(await page.textContent('[data-test=connection-picker]'), /Local PG/);

    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
