// The import story: upload a CSV, check and change the detected column types, import with a
// progress bar, open the new table in the SQL workbench; then a file with a bad row shows
// the row errors and creates nothing. No page reloads along the way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, launch, newPage, open, shot, signIn } from './helpers.mjs';

async function waitFor(page, selector, name, timeout = 20000) {
  try {
    return await page.waitForSelector(selector, { timeout });
  } catch (e) {
    await shot(page, `05-fail-${name}`);
    throw new Error(`${name}: ${selector} did not appear; problems: ${page.problems.join('; ')}`);
  }
}

test('import a CSV file into Uploads', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');

    await open(page, '/import');
    await page.evaluate(() => { window.__noReload = true; });
    let csv = 'id;amount;city;day\n';
    for (let i = 1; i <= 5000; i++) csv += `${i};${i}.5;City ${i % 7};2024-01-${String(i % 28 + 1).padStart(2, '0')}\n`;
    await page.setInputFiles('[data-test=import-file]', {
      name: 'Sales 2024.csv', mimeType: 'text/csv', buffer: Buffer.from(csv),
    });
    await waitFor(page, '[data-test=import-preview]', 'preview');
    assert.equal(await page.inputValue('[data-test=import-delimiter]'), ';');
    assert.equal(await page.inputValue('[data-test=import-table]'), 'sales_2024');
    const types = await page.$$eval('[data-test=column-type]', (s) => s.map((x) => x.value));
    assert.deepEqual(types, ['integer', 'real', 'text', 'date']);
    const names = await page.$$eval('[data-test=column-name]', (s) => s.map((x) => x.value));
    assert.deepEqual(names, ['id', 'amount', 'city', 'day']);
    await shot(page, '05-import-preview');

    // Rename a column and make `day` text, then import.
    await page.locator('[data-test=column-name]').nth(2).fill('town');
    await page.locator('[data-test=column-type]').nth(3).selectOption('text');
    await page.fill('[data-test=import-table]', 'sales_e2e');
    await page.click('[data-test=import-start]');
    const done = await waitFor(page, '[data-test=import-done]', 'import');
    assert.match(await done.textContent(), /Imported 5,000 rows/);
    await shot(page, '05-import-done');
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');

    // A bad row: row 3 has no number in `amount` once it is a number column.
    await page.setInputFiles('[data-test=import-file]', {
      name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from('id,amount\n1,2.5\n2,abc\n3,4\n'),
    });
    await waitFor(page, '[data-test=import-preview]', 'bad preview');
    await page.locator('[data-test=column-type]').nth(1).selectOption('real');
    await page.click('[data-test=import-start]');
    await waitFor(page, '[data-test=import-failed]', 'bad import');
    const errors = await page.$$eval('[data-test=import-errors] tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent)));
    assert.deepEqual(errors, [['3', 'amount', 'abc', "'abc' is not a number"]]);
    await shot(page, '05-import-errors');
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');

    // The first table opens in the workbench on the Uploads connection.
    await page.setInputFiles('[data-test=import-file]', {
      name: 'small.csv', mimeType: 'text/csv', buffer: Buffer.from('n\n1\n'),
    });
    await waitFor(page, '[data-test=import-preview]', 'small preview');
    await page.click('[data-test=import-start]');
    await waitFor(page, '[data-test=import-done]', 'small import');
    await page.click('[data-test=open-workbench]');
    await page.waitForURL(/\/workbench\?connection=\d+/);
    await page.waitForSelector('[data-test=connection-picker]');
    const picked = await page.$eval('[data-test=connection-picker]', (s) => s.options[s.selectedIndex].textContent);
    assert.match(picked, /^Uploads/);
    // The editor starts with a query of the new table.
    await page.waitForSelector('.cm-content');
    assert.match(await page.textContent('.cm-content'), /SELECT \* FROM/i);
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
