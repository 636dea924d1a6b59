// The workbench keeps work (issue 20, items 10 and 12): the SQL of every query tab survives a
// reload, kept per connection; the connection is in the URL; Reset session asks first; the
// schema panel inserts names at the cursor; the database's error position is marked in the
// editor; `{{name}}` parameters run with typed inputs before saving; the grid reads like a
// spreadsheet (numbers right-aligned with separators, "1 row", no tall empty box).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

/** Calls a form-encoded server function whose one argument is `form`. */
async function formApi(page, name, fields) {
  return page.evaluate(async ([name, fields]) => {
    const body = new URLSearchParams();
    for (const [k, v] of Object.entries(fields)) body.append(`form[${k}]`, v);
    const r = await fetch('/api/' + name, { method: 'POST', body });
    const text = await r.text();
    if (!r.ok) throw new Error(`${name}: ${r.status} ${text}`);
    return JSON.parse(text);
  }, [name, fields]);
}

async function typeSql(page, sql) {
  await page.click('.cm-content');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(sql);
}

async function runAndWait(page, state, timeout = 20000) {
  await page.click('[data-test=run]');
  await page.waitForSelector(`[data-test=run-status][data-state=${state}]`, { timeout });
}

const sqlText = (page) => page.evaluate(() => document.querySelector('[data-test=sql]').value);
const editorReady = (page) => page.waitForSelector('.wb-editor[data-editor=ready]', { timeout: 15000 });
const tabNames = (page) => page.locator('[data-test=tab] [role=tab]').allTextContents();
const cell = (page, row, col) => page.locator(`.grid-row[data-row="${row}"] .gc:nth-child(${col + 2})`);

test('the workbench keeps work and reads like a spreadsheet', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const pg = await formApi(page, 'save_connection', {
      name: 'Keeps work PG', kind: 'postgres', host: '127.0.0.1', port: '5432',
      database: 'test', user: 'postgres', ssl_mode: 'disable',
    });
    const demo = (await api(page, 'list_connections', null)).find((c) => c.name === 'Demo').id;

    // Two tabs on the PostgreSQL connection, one of them run.
    await open(page, `/workbench?connection=${pg}`);
    await editorReady(page);
    await typeSql(page, 'select 1 as one');
    await page.click('[data-test=add-tab]');
    await page.waitForFunction(() => document.querySelectorAll('[data-test=tab]').length === 2);
    assert.equal(await sqlText(page), '', 'a new tab starts empty');
    await typeSql(page, "select 'second' as s");
    await runAndWait(page, 'done');
    assert.match(await page.textContent('[data-test=run-status]'), /^1 row in /, '"1 row", not "1 rows"');

    // A reload loses nothing: both tabs, the active one, each tab's SQL.
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]');
    await editorReady(page);
    assert.deepEqual(await tabNames(page), ['select 1 as one', "select 'second' as s"]);
    await page.waitForFunction(() => document.querySelector('[data-test=sql]').value === "select 'second' as s");
    assert.match(await page.textContent('.cm-content'), /second/);
    await page.locator('[data-test=tab] [role=tab]').first().click();
    assert.equal(await sqlText(page), 'select 1 as one');
    assert.match(await page.textContent('.cm-content'), /select 1 as one/);
    await shot(page, '08-tabs-after-reload');

    // Another connection: the URL follows, its own (empty) draft; the schema panel inserts
    // table and column names at the cursor.
    await page.selectOption('[data-test=connection-picker]', String(demo));
    await page.waitForURL(new RegExp(`/workbench\\?connection=${demo}$`));
    await page.waitForFunction(() => document.querySelectorAll('[data-test=tab]').length === 1);
    assert.equal(await sqlText(page), '');
    const orders = page.locator('[data-test=schema-table][data-name="orders"]');
    await orders.waitFor();
    await typeSql(page, 'select  from ');
    await page.keyboard.press('End');
    await orders.locator('[data-test=schema-insert-table]').click();
    assert.equal(await sqlText(page), 'select  from orders');
    // Put the cursor after "select " and insert a column from the expanded table.
    await page.click('.cm-content');
    await page.keyboard.press('Control+Home');
    for (let i = 0; i < 7; i++) await page.keyboard.press('ArrowRight');
    await orders.locator('.wb-schema-toggle').click();
    await orders.locator('[data-test=schema-insert-column]', { hasText: /^total$/ }).click();
    assert.equal(await sqlText(page), 'select total from orders');
    await runAndWait(page, 'done');
    await shot(page, '08-schema-insert');

    // Back to PostgreSQL: its tabs are there again.
    await page.selectOption('[data-test=connection-picker]', String(pg));
    await page.waitForURL(new RegExp(`/workbench\\?connection=${pg}$`));
    await page.waitForFunction(() => document.querySelectorAll('[data-test=tab]').length === 2);
    assert.deepEqual(await tabNames(page), ['select 1 as one', "select 'second' as s"]);
    // And the Demo draft kept its text too.
    const kept = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('sightline.workbench.')).length);
    assert.equal(kept, 2, 'one draft set per connection');

    // The database's error position is marked in the editor.
    await typeSql(page, 'select id,\n  name\nfrom no_such_table_xyz');
    await runAndWait(page, 'failed');
    assert.match(await page.textContent('[data-test=run-error]'), /line 3, column 6/);
    const mark = page.locator('.cm-sl-error');
    await mark.waitFor();
    assert.equal(await mark.textContent(), 'no_such_table_xyz');
    await shot(page, '08-error-marked');
    // The mark goes with the next edit.
    await page.click('.cm-content');
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' ');
    await page.waitForSelector('.cm-sl-error', { state: 'detached' });

    // `{{name}}` parameters run from the workbench with typed inputs, bound by the server.
    await typeSql(page, 'select {{n}} * 2 as doubled, {{day}} as day, {{who}} as who');
    await page.waitForSelector('[data-test=named-params]');
    assert.equal(await page.inputValue('[data-test=named-kind-day]'), 'date', 'a "day" is taken for a date');
    await page.selectOption('[data-test=named-kind-n]', 'integer');
    assert.equal(await page.getAttribute('[data-test=named-n]', 'type'), 'number');
    await page.fill('[data-test=named-n]', '21');
    await page.fill('[data-test=named-day]', '2024-02-29');
    await page.fill('[data-test=named-who]', "O'Brien");
    await shot(page, '08-named-params');
    await runAndWait(page, 'done');
    assert.equal(await cell(page, 0, 0).textContent(), '42');
    assert.equal(await cell(page, 0, 1).textContent(), '2024-02-29');
    assert.equal(await cell(page, 0, 2).textContent(), "O'Brien");
    // The values are kept with the draft.
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]');
    await editorReady(page);
    await page.waitForSelector('[data-test=named-params]');
    assert.equal(await page.inputValue('[data-test=named-n]'), '21');
    assert.equal(await page.inputValue('[data-test=named-kind-n]'), 'integer');

    // The grid reads like a spreadsheet: numbers right-aligned with thousands separators,
    // identifiers and text as they are, counts with separators, no tall empty box.
    await typeSql(page, "select g as id, g * 1234567 as amount, 'x' || g as label from generate_series(1, 3) g");
    await runAndWait(page, 'done');
    assert.match(await page.textContent('[data-test=run-status]'), /^3 rows in /);
    assert.equal(await cell(page, 0, 1).textContent(), '1,234,567');
    assert.equal(await cell(page, 2, 1).textContent(), '3,703,701');
    assert.equal(await cell(page, 2, 0).textContent(), '3', 'an id column keeps its plain digits');
    const align = async (row, col) => cell(page, row, col).evaluate((el) => getComputedStyle(el).textAlign);
    assert.equal(await align(0, 1), 'right');
    assert.notEqual(await align(0, 2), 'right', 'text stays left-aligned');
    const box = await page.locator('[data-test=grid]').boundingBox();
    assert.ok(box.height < 200, `a 3-row result sits in a short box (${box.height}px)`);
    await cell(page, 0, 1).click();
    assert.match(await page.textContent('[data-test=cell-bar]'), /1234567/, 'the cell bar shows the exact value');
    await shot(page, '08-grid-numbers');
    await typeSql(page, 'select g from generate_series(1, 100000) g');
    await runAndWait(page, 'done', 60000);
    assert.match(await page.textContent('[data-test=run-status]'), /^100,000 rows in /);

    // History lines count rows the same way.
    await page.click('[data-test=history-toggle]');
    await page.waitForSelector('[data-test=history] .history-item');
    const lines = await page.locator('[data-test=history-line]').allTextContents();
    assert.ok(lines.some((l) => / · 1 row · /.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => / · 100,000 rows · /.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /\b1 rows\b/.test(l)), lines.join('\n'));

    // Reset session asks first; "Keep my work" keeps it.
    const before = await sqlText(page);
    await page.click('[data-test=reset-session]');
    await page.waitForSelector('[data-test=reset-confirm]');
    assert.match(await page.textContent('[data-test=reset-confirm]'), /Keeps work PG/);
    await shot(page, '08-reset-confirm');
    await page.click('[data-test=reset-confirm-no]');
    await page.waitForSelector('[data-test=reset-confirm]', { state: 'detached' });
    assert.equal(await sqlText(page), before);
    await page.click('[data-test=reset-session]');
    await page.click('[data-test=reset-confirm-yes]');
    await page.waitForFunction(() => document.querySelector('[data-test=sql]').value === '');
    assert.equal(await page.locator('[data-test=run-status]').count(), 0);

    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
