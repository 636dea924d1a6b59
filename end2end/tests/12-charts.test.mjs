// The charts story: on the Demo database an editor turns "revenue by month" into a line
// chart grouped by country and saves it; a viewer opens the insight's URL with its parameter
// and sees that chart (series and a tooltip value checked, not only a canvas); a click on a
// bar of another chart opens its drill-down with the parameter filled; PNG and SVG
// downloads; a chart whose column the SQL no longer returns says which and what to do.
import fs from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

const spec = (name, kind, extra = {}) => ({ name, kind, required: false, multi: false, default: [], options: [], ...extra });

/** Waits until the chart on the page has drawn; returns what it draws. */
async function drawn(page, name) {
  try {
    await page.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 20000 });
  } catch (e) {
    await shot(page, `12-fail-${name}`);
    const note = await page.locator('[data-test=chart-panel]').textContent().catch(() => '');
    throw new Error(`${name}: no chart at ${page.url()}: ${note}; ${page.problems.join('; ')}`);
  }
  // The option is set in the same task that marks the element; read it back.
  return JSON.parse(await page.evaluate(() => window.SightlineCharts.describe(document.querySelector('[data-test=chart-canvas]'))));
}

test('charts: line by month and country, viewer URL, tooltip, drill-down click, downloads, bad column', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser, { acceptDownloads: true });
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const demo = (await api(page, 'list_connections', null)).find((c) => c.name === 'Demo').id;
    const save = (draft) => api(page, 'save_insight', { id: null, base_version: null, draft: { description: '', ...draft } });

    const revenue = await save({
      name: 'Revenue by month', connection_id: demo,
      sql: "select substr(o.ordered_at, 1, 7) as month, c.country, round(sum(o.total), 2) as revenue " +
        "from orders o join customers c on c.id = o.customer_id " +
        "where o.status = {{status}} and c.country in ('Germany', 'France', 'Spain') group by 1, 2 order by 1, 2",
      params: [spec('status', 'text', { required: true, default: ['delivered'] })],
    });

    // The editor opens the chart tab: a chart is proposed at once, then made a line.
    await open(page, `/insights/${revenue.id}?p_status=delivered`);
    await page.click('[data-test=view-chart]');
    await page.waitForURL(/view=chart/);
    const proposed = await drawn(page, 'proposed');
    assert.ok(proposed.series.length >= 1, 'a first chart is proposed');
    await page.click('[data-test=edit-chart]');
    const form = page.locator('[data-test=chart-form]');
    await form.locator('[data-test=chart-kind]').selectOption('line');
    await form.locator('[data-test=chart-x]').selectOption('month');
    await form.locator('[data-test=chart-series]').selectOption('country');
    for (const box of await form.locator('.chart-y input[type=checkbox]').all()) {
      if (await box.isChecked()) await box.uncheck();
    }
    await form.locator('[data-test=chart-y-revenue]').check();
    await form.locator('[data-test=chart-prefix]').fill('€');
    await form.locator('[data-test=chart-prefix]').dispatchEvent('change');
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-test=chart-canvas]');
      const d = el && window.SightlineCharts && JSON.parse(window.SightlineCharts.describe(el) || 'null');
      return d && d.series.length === 3 && d.series.every((s) => s.type === 'line');
    }, null, { timeout: 20000 });
    await shot(page, '12-chart-editor');
    await page.click('[data-test=save-chart]');
    await page.locator('[data-test=chart-settings]').waitFor({ state: 'detached' });
    const saved = await api(page, 'get_insight', { id: revenue.id });
    assert.equal(saved.draft.view.kind, 'chart');
    assert.equal(saved.draft.view.chart.kind, 'line');
    assert.equal(saved.version, 2, 'the chart is saved as a new version');
    // The version history names the chart change and the diff lists its settings.
    await page.click('[data-test=versions-toggle]');
    const v1 = page.locator('[data-test=version-item]').filter({ hasText: 'Version 1 ' });
    await v1.locator('[data-test=compare-version]').click();
    const diff = page.locator('[data-test=diff]');
    await diff.waitFor();
    assert.match(await diff.textContent(), /Chart.*opens as.*table.*chart.*kind.*line/s);
    assert.match(await page.locator('[data-test=version-item]').first().textContent(), /Chart/);
    await shot(page, '12-chart-version-diff');
    await page.click('[data-test=versions-toggle]');

    // A viewer opens the shared URL (no view=): the saved line chart.
    const viewer = await newPage(browser);
    await signIn(viewer, 'viewer@example.com', 'a viewer password');
    await viewer.waitForURL(BASE + '/');
    await open(viewer, `/insights/${revenue.id}?p_status=delivered`);
    const seen = await drawn(viewer, 'viewer');
    assert.deepEqual(seen.series.map((s) => s.name).sort(), ['France', 'Germany', 'Spain']);
    assert.ok(seen.series.every((s) => s.type === 'line'));
    assert.ok(seen.categories.length > 3 && /^\d{4}-\d{2}$/.test(seen.categories[0]), `months along x: ${seen.categories}`);
    assert.equal(await viewer.locator('[data-test=edit-chart]').count(), 0, 'viewers do not edit charts');
    // The tooltip of the first month shows the value formatted (prefix and separators).
    const first = seen.series[0].data.findIndex((v) => v !== null);
    const value = seen.series[0].data[first];
    await viewer.evaluate(([i]) => window.SightlineCharts.showTip(document.querySelector('[data-test=chart-canvas]'), 0, i), [first]);
    const expected = '€' + new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);
    await viewer.waitForFunction((text) => [...document.querySelectorAll('[data-test=chart-canvas] div')]
      .some((d) => d.textContent.includes(text)), expected, { timeout: 10000 });
    await shot(viewer, '12-viewer-line-chart');

    // Downloads: PNG and SVG named after the insight and its parameter.
    for (const kind of ['png', 'svg']) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(`[data-test=chart-${kind}]`)]);
      assert.equal(download.suggestedFilename(), `Revenue by month status=delivered.${kind}`);
      const file = await download.path();
      const head = fs.readFileSync(file).subarray(0, 8);
      if (kind === 'png') assert.deepEqual([...head.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG file');
      else assert.match(fs.readFileSync(file, 'utf8').slice(0, 200), /<svg/);
    }

    // A bar chart whose bars drill down to the orders of the clicked status.
    const ordersOf = await save({
      name: 'Orders of a status', connection_id: demo,
      sql: 'select id, ordered_at, total from orders where status = {{status}} order by id limit 20',
      params: [spec('status', 'text', { required: true })],
    });
    const byStatus = await save({
      name: 'Orders by status', connection_id: demo,
      sql: 'select status, count(*) as orders from orders group by status order by orders desc',
      params: [],
      view: { kind: 'chart', chart: { kind: 'bar', x: 'status', y: ['orders'] } },
      drill: [{ column: 'status', target: { kind: 'insight', insight_id: ordersOf.id, mapping: [['status', { from: 'column', value: 'status' }]] } }],
    });
    await open(viewer, `/insights/${byStatus.id}`);
    const bars = await drawn(viewer, 'bars');
    assert.equal(bars.series[0].type, 'bar');
    const at = JSON.parse(await viewer.evaluate(() => window.SightlineCharts.pixelOf(document.querySelector('[data-test=chart-canvas]'), 0, 0)));
    await viewer.mouse.click(at.x, at.y);
    await viewer.waitForURL(new RegExp(`/insights/${ordersOf.id}\\?p_status=${bars.categories[0]}$`), { timeout: 15000 });
    await viewer.waitForSelector('[data-test=run-status][data-state=done]', { timeout: 20000 });
    await shot(viewer, '12-drilled-from-bar');

    // The SQL changed under a saved chart: the chart says which column and what to do,
    // and the saved chart stays.
    const stale = await save({
      name: 'Stale chart', connection_id: demo,
      sql: 'select status, count(*) as n from orders group by status',
      params: [],
      view: { kind: 'chart', chart: { kind: 'bar', x: 'status', y: ['orders'] } },
    });
    await open(viewer, `/insights/${stale.id}`);
    const problem = viewer.locator('[data-test=chart-problem]');
    await problem.waitFor({ timeout: 20000 });
    assert.match(await problem.textContent(), /no column “orders”.*status, n/s);
    await shot(viewer, '12-chart-problem');
    assert.equal((await api(page, 'get_insight', { id: stale.id })).draft.view.chart.y[0], 'orders');

    // The table is one click away and the choice is in the URL.
    await viewer.click('[data-test=view-table]');
    await viewer.waitForURL(/view=table/);
    await viewer.waitForSelector('[data-test=run-status][data-state=done]');

    assert.deepEqual(page.problems, []);
    assert.deepEqual(viewer.problems, []);

    // Plugins (dropped into the data dir by end2end/run.sh): the example funnel draws in its
    // sandboxed frame, fed by a chosen column; everyone sees it among the chart kinds.
    const funnel = await save({
      name: 'Order funnel', connection_id: demo, params: [],
      sql: 'select status as stage, count(*) as n from orders group by status order by n desc',
      view: { kind: 'chart', chart: { plugin: 'funnel', plugin_columns: { value: 'n' } } },
    });
    await open(viewer, `/insights/${funnel.id}`);
    await viewer.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 20000 });
    assert.equal(await viewer.locator('iframe.plugin-frame').getAttribute('sandbox'), 'allow-scripts');
    const funnelBars = viewer.frameLocator('iframe.plugin-frame').locator('.funnel-bar');
    assert.ok(await funnelBars.count() >= 3, 'one funnel bar per status');
    assert.match(await funnelBars.first().textContent(), /\d.*100 %/);
    await shot(viewer, '12-plugin-funnel');
    const kinds = await api(viewer, 'list_plugins', {});
    assert.deepEqual(kinds.filter((p) => !p.error).map((p) => p.manifest.id).sort(), ['calendar-heatmap', 'funnel', 'probe', 'thrower']);

    // A plugin that throws: its message in place of the chart; the page works on.
    const thrown = await save({
      name: 'Broken plugin', connection_id: demo, params: [], sql: 'select 1 as value',
      view: { kind: 'chart', chart: { plugin: 'thrower' } },
    });
    await open(viewer, `/insights/${thrown.id}`);
    const failure = viewer.locator('[data-test=chart-plugin-error]');
    await failure.waitFor({ timeout: 20000 });
    assert.match(await failure.textContent(), /Thrower \(test\).*always fails/s);
    await shot(viewer, '12-plugin-error');
    await viewer.click('[data-test=view-table]');
    await viewer.waitForSelector('[data-test=run-status][data-state=done]');

    // The sandbox: a plugin reads no cookie, calls no server function, reaches no parent page.
    const probe = await save({
      name: 'Sandbox probe', connection_id: demo, params: [], sql: 'select 1 as value',
      view: { kind: 'chart', chart: { plugin: 'probe' } },
    });
    await open(viewer, `/insights/${probe.id}`);
    await viewer.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 20000 });
    const seenBy = await viewer.frameLocator('iframe.plugin-frame').locator('#probe').textContent();
    assert.match(seenBy, /cookie: (blocked|empty)/, seenBy);
    assert.match(seenBy, /fetch: (blocked|refused \d+)/, seenBy);
    assert.match(seenBy, /parent: blocked/, seenBy);
    assert.match(seenBy, /rows: 1/, seenBy);
  } finally {
    await browser.close();
  }
});
