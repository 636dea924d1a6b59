// The insights story: a folder and an insight with a date range and a cascading dropdown
// (country → city), inputs that live in the URL (change, reload, open as a viewer), a
// drill-down to a detail insight, moving into a folder, versions with diff and revert, and
// CSV/Excel downloads.
import fs from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

const spec = (name, kind, extra = {}) => ({ name, kind, required: false, multi: false, default: [], options: [], ...extra });

/** Waits for the URL, with a screenshot and the URL seen when it does not come. */
async function waitUrl(page, re, name) {
  try {
    await page.waitForURL(re, { timeout: 15000 });
  } catch (e) {
    await shot(page, `04-fail-${name}`);
    throw new Error(`${name}: expected ${re}, at ${page.url()}; problems: ${page.problems.join('; ')}`);
  }
}

async function waitDone(page) {
  try {
    await page.waitForSelector('[data-test=run-status][data-state=done]', { timeout: 20000 });
  } catch (e) {
    await shot(page, '04-fail-run');
    const status = await page.locator('[data-test=run-status]').textContent().catch(() => 'no status');
    const error = await page.locator('.note.error').allTextContents().catch(() => []);
    throw new Error(`no finished run at ${page.url()}: ${status}; ${error.join(' ')}; ${page.problems.join('; ')}`);
  }
  return Number(await page.getAttribute('[data-test=run-status]', 'data-rows'));
}

test('insights: folders, URL parameters, cascading lists, drill-down, versions, exports', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const demo = (await api(page, 'list_connections', null)).find((c) => c.name === 'Demo').id;

    // Supporting insights: the country list, the cities of a country, one customer's orders.
    const save = (draft) => api(page, 'save_insight', { id: null, base_version: null, draft: { description: '', ...draft } });
    const countries = await save({ name: 'Countries', connection_id: demo, sql: 'select distinct country from customers order by 1', params: [] });
    const cities = await save({
      name: 'Cities', connection_id: demo,
      sql: 'select distinct city from customers where country = {{country}} and city is not null order by 1',
      params: [spec('country', 'text', { required: true })],
    });
    const detail = await save({
      name: 'Customer orders', connection_id: demo,
      sql: 'select id, ordered_at, status, total from orders where customer_id = {{customer_id}} order by id',
      params: [spec('customer_id', 'integer', { required: true, label: 'Customer' })],
    });

    // A folder, through the UI.
    await open(page, '/insights');
    await page.fill('[data-test=new-folder-name]', 'Sales');
    await page.click('[data-test=create-folder]');
    await page.locator('[data-test=folder-card]', { hasText: 'Sales' }).waitFor();

    // The insight, saved from the workbench.
    await open(page, `/workbench?connection=${demo}`);
    await page.waitForSelector('.wb-editor[data-editor=ready]', { timeout: 15000 });
    await page.click('.cm-content');
    await page.keyboard.insertText(
      'select c.id as customer_id, c.name, c.city, count(o.id) as orders from customers c join orders o on o.customer_id = c.id ' +
      'where date(o.ordered_at) between {{period.start}} and {{period.end}} and c.country = {{country}} [[ and c.city = {{city}} ]] ' +
      'group by c.id, c.name, c.city order by orders desc, c.id limit 50');
    await page.click('[data-test=save-as-insight]');
    await page.fill('[data-test=insight-name-input]', 'Top customers');
    await page.click('[data-test=save-insight-submit]');
    await page.waitForURL(/\/insights\/\d+\?edit=1/);
    const id = Number(new URL(page.url()).pathname.split('/').pop());

    // Set the parameters up: the range is detected from {{period.start}}; country and city
    // are lists from the other insights, the city list following the country.
    const ed = page.locator('[data-test=insight-editor]');
    await ed.waitFor();
    assert.equal(await ed.locator('[data-test=spec-period] [data-test=spec-kind]').inputValue(), 'date_range');
    await ed.locator('[data-test=spec-country] [data-test=spec-kind]').selectOption('query');
    // Lists from other insights are picked by name; the city list's own parameter is fed
    // from our country.
    await ed.locator('[data-test=spec-country] select[data-test=spec-source]').selectOption(String(countries.id));
    await ed.locator('[data-test=spec-city] [data-test=spec-kind]').selectOption('query');
    await ed.locator('[data-test=spec-city] select[data-test=spec-source]').selectOption(String(cities.id));
    await ed.locator('[data-test=spec-city] [data-test=spec-depends-country] select').selectOption('country');
    await shot(page, '04-insight-editor');
    await page.click('[data-test=save-insight]');
    await ed.waitFor({ state: 'detached' });

    // Fill the inputs: every change goes to the URL.
    await page.selectOption('[data-test=param-period] select', 'custom');
    await page.fill('[data-test=range-start]', '2000-01-01');
    await page.locator('[data-test=range-start]').dispatchEvent('change');
    await page.fill('[data-test=range-end]', '2099-12-31');
    await page.locator('[data-test=range-end]').dispatchEvent('change');
    await waitUrl(page, /p_period=2000-01-01~2099-12-31/, 'range');
    const countrySelect = page.locator('[data-test=param-country] select');
    await countrySelect.locator('option').nth(1).waitFor({ state: 'attached' });
    const country = await countrySelect.locator('option').nth(1).getAttribute('value');
    await countrySelect.selectOption(country);
    await waitUrl(page, new RegExp(`p_country=${encodeURIComponent(country)}`), 'country');
    const citySelect = page.locator('[data-test=param-city] select');
    await citySelect.locator('option').nth(1).waitFor({ state: 'attached' });
    const city = await citySelect.locator('option').nth(1).getAttribute('value');
    await citySelect.selectOption(city);
    await waitUrl(page, /p_city=/, 'city');
    const rows = await waitDone(page);
    assert.ok(rows > 0, 'the insight finds customers');
    await shot(page, '04-insight-run');
    const url = page.url();

    // A drill-down chosen from lists: the name opens the customer's orders, their parameter
    // fed from the row's customer_id (proposed because the names match).
    await page.click('[data-test=edit-insight]');
    await ed.waitFor();
    await ed.locator('[data-test=add-drill]').click();
    const drillRow = ed.locator('[data-test=drill-row]').last();
    await drillRow.locator('[data-test=drill-column]').selectOption('name');
    await drillRow.locator('[data-test=drill-insight]').selectOption(String(detail.id));
    await page.waitForFunction(() => document.querySelector('[data-test=drill-map-customer_id] select')?.value === 'column:customer_id',
      null, { timeout: 10000 });
    await shot(page, '04-drill-picker');
    await page.click('[data-test=save-insight]');
    await ed.waitFor({ state: 'detached' });
    assert.equal(await waitDone(page), rows);
    const stored = await api(page, 'get_insight', { id });
    assert.deepEqual(stored.draft.drill, [{ column: 'name', target: { kind: 'insight', insight_id: detail.id, mapping: [['customer_id', { from: 'column', value: 'customer_id' }]] } }]);
    assert.deepEqual(stored.draft.params.find((p) => p.name === 'city').source, { insight_id: cities.id, depends_on: [['country', 'country']] });

    // Reload: the same inputs and result.
    await page.reload();
    await page.waitForSelector('body[data-hydrated="true"]');
    assert.equal(await waitDone(page), rows);
    assert.equal(await page.locator('[data-test=param-country] select').inputValue(), country);
    assert.equal(await page.locator('[data-test=param-city] select').inputValue(), city);

    // An invalid value in the URL is explained next to its input.
    await open(page, url.replace(/p_period=[^&]*/, 'p_period=not-a-range'));
    try {
      await page.locator('[data-test=param-period] [data-test=param-error]').waitFor({ timeout: 15000 });
    } catch (e) {
      await shot(page, '04-fail-invalid-url');
      throw new Error(`no message for an invalid URL value at ${page.url()}: ${page.problems.join('; ')}`);
    }

    // The same URL in a fresh session, signed in as a viewer: the same view.
    const viewer = await newPage(browser);
    await signIn(viewer, 'viewer@example.com', 'a viewer password');
    await viewer.waitForURL(BASE + '/');
    await open(viewer, url);
    assert.equal(await waitDone(viewer), rows);
    assert.equal(await viewer.locator('[data-test=param-city] select').inputValue(), city);
    assert.equal(await viewer.locator('[data-test=edit-insight]').count(), 0, 'viewers cannot edit');

    // Drill-down: the customer's name opens their orders, filled.
    const link = viewer.locator('[data-test=drill-link]').first();
    await link.waitFor();
    await link.click();
    await viewer.waitForURL(new RegExp(`/insights/${detail.id}\\?p_customer_id=\\d+`));
    assert.ok((await waitDone(viewer)) > 0);
    await shot(viewer, '04-drill-down');
    assert.deepEqual(viewer.problems, []);
    await viewer.context().close();

    // Move it into the folder by its menu; a direct load inside the folder shows the path.
    await open(page, '/insights');
    const row = page.locator('[data-test=insight-row]', { hasText: 'Top customers' });
    await row.locator('[data-test=move-insight]').selectOption({ label: 'Sales' });
    await page.locator('[data-test=insight-row]', { hasText: 'Top customers' }).waitFor({ state: 'detached' });
    await page.locator('[data-test=folder-card]', { hasText: 'Sales' }).locator('[data-test=folder-link]').click();
    await page.locator('[data-test=insight-row]', { hasText: 'Top customers' }).waitFor();
    await open(page, url);
    assert.equal(await waitDone(page), rows);
    assert.match(await page.locator('[data-test=breadcrumb]').textContent(), /Sales/);

    // Downloads: CSV and Excel of this run, with the URL's parameters.
    for (const [test, ext] of [['export-csv', 'csv'], ['export-xlsx', 'xlsx']]) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-test=${test}]`)]);
      const file = await download.path();
      const bytes = fs.readFileSync(file);
      assert.ok(download.suggestedFilename().endsWith('.' + ext), download.suggestedFilename());
      if (ext === 'csv') {
        const lines = bytes.toString('utf8').trim().split('\n');
        assert.equal(lines[0], 'customer_id,name,city,orders');
        assert.equal(lines.length - 1, rows, 'the CSV has the rows on screen');
      } else {
        assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'an xlsx is a zip');
      }
      // The page followed the download to its end (rows and size), with no reload.
      const label = ext === 'csv' ? 'CSV' : 'Excel';
      const note = page.locator('[data-test=export-progress]');
      await note.filter({ hasText: `${label} export finished` }).waitFor();
      assert.match(await note.textContent(), new RegExp(`${rows} rows`));
    }
    await shot(page, '04-export-finished');
    await page.click('[data-test=export-dismiss]');
    await page.locator('[data-test=export-progress]').waitFor({ state: 'detached' });

    // Versions: compare the first with the current one, then revert to it (a new version).
    await page.click('[data-test=versions-toggle]');
    const versions = page.locator('[data-test=version-item]');
    await versions.nth(1).waitFor();
    const before = await versions.count();
    const first = versions.filter({ hasText: 'Version 1 ' });
    await first.locator('[data-test=compare-version]').click();
    await page.locator('[data-test=diff]').waitFor();
    assert.match(await page.locator('[data-test=diff]').textContent(), /query|country/);
    await shot(page, '04-versions-diff');
    await first.locator('[data-test=revert-version]').click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-test=version-item]').length === n + 1, before);
    assert.match(await versions.first().textContent(), new RegExp(`Version ${before + 1}`));
    // Version 1 had plain text inputs for country and city.
    await page.locator('[data-test=param-country] input').waitFor();

    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
