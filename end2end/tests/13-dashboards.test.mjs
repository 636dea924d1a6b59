// The dashboards story: an editor builds a board from four Demo insights (two charts, a
// number, a table) and a text tile, moves and resizes tiles (buttons, keyboard, dragging
// the corner), adds a date range and a country filter, and saves; a viewer opens the
// board's URL with filters, every tile answers for them, changes a filter (the URL follows,
// every tile reloads), clicks a bar to cross-filter, reloads (same view), opens "New alert"
// from a tile; a bad filter value is shown next to the filter
// while the rest loads; the phone width stacks the tiles with no horizontal scroll; a viewer
// adds an insight to a board of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

const spec = (name, kind, extra = {}) => ({ name, kind, required: false, multi: false, default: [], options: [], ...extra });
const period = spec('period', 'date_range', { default: ['last_90_days'] });
const country = spec('country', 'text');
const from = 'from orders o join customers c on c.id = o.customer_id ' +
  'where date(o.ordered_at) between {{period.start}} and {{period.end}} [[ and c.country = {{country}} ]] ';

/** Waits until every insight tile on the page has finished and drawn what it shows. */
async function answered(page, tiles, what) {
  try {
    await page.waitForFunction((n) => {
      const done = [...document.querySelectorAll('[data-test=tile-status]')].filter((e) => /\brows?\b/.test(e.textContent));
      const charts = [...document.querySelectorAll('[data-test=tile] [data-test=chart-canvas]')];
      return done.length === n && charts.every((c) => c.dataset.rendered === '1' || c.classList.contains('hidden'));
    }, tiles, { timeout: 30000 });
  } catch (e) {
    await shot(page, `13-fail-${what}`);
    const text = await page.locator('[data-test=dash-grid]').textContent().catch(() => '');
    throw new Error(`${what}: tiles did not answer at ${page.url()}: ${text.slice(0, 600)}; ${page.problems.join('; ')}`);
  }
}

/** The text of the table tile's grid. */
const tableText = (page) => page.locator('[data-test=tile]').filter({ hasText: 'Latest orders' }).locator('[data-test=grid]').textContent();

test('dashboards: build, filters in the URL, viewer, reload, bad value, phone, add to dashboard', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const demo = (await api(page, 'list_connections', null)).find((c) => c.name === 'Demo').id;
    const save = (draft) => api(page, 'save_insight', { id: null, base_version: null, draft: { description: '', params: [period, country], ...draft } });
    const revenue = await save({
      name: 'Revenue by country', connection_id: demo, view: { kind: 'chart', chart: { kind: 'bar', x: 'country', y: ['revenue'] } },
      sql: `select c.country, round(sum(o.total), 2) as revenue ${from} group by 1 order by 2 desc`,
    });
    const monthly = await save({
      name: 'Orders by month', connection_id: demo, view: { kind: 'chart', chart: { kind: 'line', x: 'month', y: ['orders'] } },
      sql: `select substr(o.ordered_at, 1, 7) as month, count(*) as orders ${from} group by 1 order by 1`,
    });
    const count = await save({
      name: 'Order count', connection_id: demo, view: { kind: 'chart', chart: { kind: 'number', y: ['orders'] } },
      sql: `select count(*) as orders ${from}`,
    });
    const latest = await save({
      name: 'Latest orders', connection_id: demo, view: { kind: 'table' },
      sql: `select o.id, c.name, c.country, o.total ${from} order by o.id desc limit 20`,
    });

    // A new board from the list page, then its edit mode.
    await open(page, '/dashboards');
    await page.fill('[data-test=new-dashboard-name]', 'Sales board');
    await page.click('[data-test=create-dashboard]');
    await page.waitForURL(/\/dashboards\/\d+$/);
    const id = Number(page.url().split('/').pop());
    await page.waitForSelector('[data-test=empty-dashboard]');
    await page.click('[data-test=edit-dashboard]');
    for (const [n, insight] of [revenue, monthly, count, latest].entries()) {
      await page.selectOption('[data-test=add-insight-select]', String(insight.id));
      await page.click('[data-test=add-insight-tile]');
      await page.waitForFunction((k) => document.querySelectorAll('[data-test=tile]').length === k, n + 1);
    }
    await page.click('[data-test=add-text-tile]');
    // Tiles are in reading order, which moves change: find each by what it holds.
    const text = page.locator('[data-test=tile]').filter({ has: page.locator('[data-test=tile-markdown]') });
    await text.locator('[data-test=tile-markdown]').fill('## Notes\n\nFigures for **the chosen country** <script>x</script>');
    // Filters: a date range with a preset default, and a country.
    await page.click('[data-test=filters-toggle]');
    for (const [name, kind, def] of [['period', 'date_range', 'last_90_days'], ['country', 'text', '']]) {
      await page.fill('[data-test=new-filter-name]', name);
      await page.click('[data-test=add-filter]');
      const f = page.locator(`[data-test=spec-${name}]`);
      await f.locator('[data-test=spec-kind]').selectOption(kind);
      if (def) await f.locator('[data-test=spec-default]').fill(def);
    }
    // Cross-filtering: a click on a country in the revenue chart sets the country filter.
    const revenueTile = page.locator('[data-test=tile]').filter({ hasText: 'Revenue by country' });
    await revenueTile.locator('[data-test=tile-settings] summary').click();
    await revenueTile.locator('[data-test=tile-click-column]').fill('country');
    await revenueTile.locator('[data-test=tile-click-column]').dispatchEvent('change');
    await revenueTile.locator('[data-test=tile-click-filter]').selectOption('country');
    // Layout: the number tile up (button), the table wider (keyboard), the text tile resized
    // by dragging its corner.
    const spot = (t) => t.evaluate((el) => el.getAttribute('style'));
    const numberTile = page.locator('[data-test=tile]').filter({ hasText: 'Order count' });
    await answered(page, 4, 'editor preview');
    await numberTile.locator('[data-test=tile-move-up]').click();
    assert.match(await spot(numberTile), /grid-row: 1 \//, 'moved to the top row');
    const table = page.locator('[data-test=tile]').filter({ hasText: 'Latest orders' });
    await table.focus();
    await page.keyboard.press('Shift+ArrowRight');
    assert.match(await spot(table), /span 7; grid-row/, 'a column wider');
    await text.locator('[data-test=resize-handle]').scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 300);
    const before = await text.boundingBox();
    const corner = await text.locator('[data-test=resize-handle]').boundingBox();
    await page.mouse.move(corner.x + 5, corner.y + 5);
    await page.mouse.down();
    await page.mouse.move(corner.x + 5 - before.width / 3, corner.y + 5 + 200, { steps: 8 });
    await page.mouse.up();
    const after = await text.boundingBox();
    assert.ok(after.width < before.width - 50 && after.height > before.height + 100, `resized by dragging: ${JSON.stringify([before, after])}`);
    await shot(page, '13-editor');
    await page.click('[data-test=save-dashboard]');
    await page.locator('[data-test=dashboard-editor]').waitFor({ state: 'detached' });
    const saved = await api(page, 'get_dashboard', { id });
    assert.equal(saved.version, 2);
    assert.equal(saved.draft.tiles.length, 5);
    assert.deepEqual(saved.draft.filters.map((f) => [f.name, f.kind]), [['period', 'date_range'], ['country', 'text']]);
    const revenueSaved = saved.draft.tiles.find((t) => t.content.insight_id === revenue.id);
    assert.deepEqual(revenueSaved.content.click, { column: 'country', filter: 'country' });
    // The text tile is rendered Markdown, its script shown as text.
    await page.waitForSelector('[data-test=tile-text] strong');
    assert.match(await page.locator('[data-test=tile-text]').innerHTML(), /<h2>Notes<\/h2>.*&lt;script&gt;/s);
    // Versions: back to the empty board, then forward again (the tiles come back whole).
    await page.click('[data-test=versions-toggle]');
    const versions = page.locator('[data-test=dashboard-versions] [data-test=version-item]');
    await versions.filter({ hasText: 'Version 1 ' }).locator('[data-test=revert-version]').click();
    await page.waitForSelector('[data-test=empty-dashboard]');
    await versions.filter({ hasText: 'Version 2 ' }).locator('[data-test=revert-version]').click();
    await answered(page, 4, 'after reverting');
    await page.waitForSelector('[data-test=tile-text] strong');
    assert.equal((await api(page, 'get_dashboard', { id })).version, 4);
    await page.click('[data-test=versions-toggle]');

    // A viewer opens the board: a click on a bar sets the country filter (cross-filtering).
    const viewer = await newPage(browser);
    await signIn(viewer, 'viewer@example.com', 'a viewer password');
    await viewer.waitForURL(BASE + '/');
    await open(viewer, `/dashboards/${id}`);
    await answered(viewer, 4, 'viewer, all countries');
    const chartOf = (title) => `[...document.querySelectorAll('[data-test=tile]')].find((t) => t.textContent.includes('${title}')).querySelector('[data-test=chart-canvas]')`;
    const all = JSON.parse(await viewer.evaluate(`window.SightlineCharts.describe(${chartOf('Revenue by country')})`));
    assert.ok(all.categories.length > 3, 'every country at first');
    await viewer.locator('[data-test=tile]').filter({ hasText: 'Revenue by country' }).locator('[data-test=chart-canvas]').scrollIntoViewIfNeeded();
    const at = JSON.parse(await viewer.evaluate(`window.SightlineCharts.pixelOf(${chartOf('Revenue by country')}, 0, 0)`));
    await viewer.mouse.click(at.x, at.y);
    await viewer.waitForURL((u) => u.searchParams.get('f_country') === all.categories[0], { timeout: 15000 });
    await answered(viewer, 4, 'cross-filtered');
    await viewer.waitForFunction((c) => {
      const t = [...document.querySelectorAll('[data-test=tile]')].find((x) => x.textContent.includes('Latest orders'));
      const cells = [...(t?.querySelectorAll('[data-test=grid] .grid-row') ?? [])].map((r) => r.textContent);
      return cells.length > 0 && cells.every((r) => r.includes(c));
    }, all.categories[0], { timeout: 20000 });
    assert.equal(await viewer.locator('[data-test=filter-country] input').inputValue(), all.categories[0]);
    await shot(viewer, '13-cross-filtered');

    // The board's URL with filters: every tile answers for France.
    await open(viewer, `/dashboards/${id}?f_country=France&f_period=last_90_days`);
    await answered(viewer, 4, 'viewer France');
    assert.equal(await viewer.locator('[data-test=edit-dashboard]').count(), 0, 'viewers do not edit boards that are not theirs');
    const france = await tableText(viewer);
    assert.match(france, /France/);
    assert.doesNotMatch(france, /Germany|Spain/);
    const bars = JSON.parse(await viewer.evaluate(() => window.SightlineCharts.describe(
      [...document.querySelectorAll('[data-test=tile]')].find((t) => t.textContent.includes('Revenue by country')).querySelector('[data-test=chart-canvas]'))));
    assert.deepEqual(bars.categories, ['France'], JSON.stringify(bars).slice(0, 300));
    assert.match(await viewer.locator('[data-test=tile]').filter({ hasText: 'Order count' }).locator('[data-test=chart-number]').textContent(), /\d/);
    await shot(viewer, '13-viewer-france');
    // The whole board for these filters as one workbook.
    const excel = await viewer.locator('[data-test=export-dashboard]').getAttribute('href');
    assert.match(excel, new RegExp(`^/dashboards/${id}/export\\.xlsx\\?.*f_country=France`));
    const book = await viewer.request.get(BASE + excel);
    assert.equal(book.status(), 200);
    assert.match(book.headers()['content-type'], /spreadsheetml/);

    // The viewer changes the country: the URL follows and every tile reloads.
    const input = viewer.locator('[data-test=filter-country] input');
    await input.fill('Germany');
    await input.dispatchEvent('change');
    await viewer.waitForURL(/f_country=Germany/);
    await viewer.waitForFunction(() => {
      const t = [...document.querySelectorAll('[data-test=tile]')].find((x) => x.textContent.includes('Latest orders'));
      return t && /Germany/.test(t.textContent) && !/France/.test(t.querySelector('[data-test=grid]')?.textContent ?? 'France');
    }, null, { timeout: 30000 });
    await answered(viewer, 4, 'viewer Germany');
    // A reload shows the same view.
    await viewer.reload();
    await viewer.waitForSelector('body[data-hydrated="true"]');
    await answered(viewer, 4, 'after reload');
    assert.equal(await input.inputValue(), 'Germany');
    assert.match(await tableText(viewer), /Germany/);
    // The reload's tiles came from the result cache: each says when its rows were read.
    const statuses = await viewer.locator('[data-test=tile-status]').allTextContents();
    assert.equal(statuses.filter((s) => /updated (just now|\d+ min ago)/.test(s)).length, 4, statuses.join(' | '));
    await shot(viewer, '13-viewer-germany');

    // A filter value that does not parse: said next to the filter; the text tile still shows.
    await open(viewer, `/dashboards/${id}?f_period=not-a-date&f_country=Spain`);
    await viewer.waitForSelector('[data-test=filter-error]');
    await viewer.waitForSelector('[data-test=tile-text] strong');
    assert.ok(await viewer.locator('[data-test=tile-problem]').count() >= 1, 'the tiles that use it say why they do not run');

    // A phone: one column, in reading order, no horizontal scroll.
    const phone = await newPage(browser, { viewport: { width: 390, height: 844 } });
    await signIn(phone, 'viewer@example.com', 'a viewer password');
    await phone.waitForURL(BASE + '/');
    await open(phone, `/dashboards/${id}?f_country=France`);
    await answered(phone, 4, 'phone');
    const boxes = await phone.locator('[data-test=tile]').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => [r.left, r.top, r.width]));
    assert.ok(boxes.every(([left]) => Math.abs(left - boxes[0][0]) < 2), `one column: ${JSON.stringify(boxes)}`);
    assert.ok(boxes.every(([, top], i) => i === 0 || top > boxes[i - 1][1]), 'stacked in order');
    assert.ok(await phone.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), 'no horizontal scroll');
    await shot(phone, '13-phone');

    // "New alert" on a tile opens its insight's alerts with the board's values.
    await open(viewer, `/dashboards/${id}?f_country=France`);
    await answered(viewer, 4, 'before new alert');
    await viewer.locator('[data-test=tile]').filter({ hasText: 'Latest orders' }).locator('[data-test=tile-alert]').click();
    await viewer.waitForURL((u) => u.pathname === `/insights/${latest.id}` && u.searchParams.get('p_country') === 'France' && u.searchParams.get('alerts') === '1');
    await viewer.waitForSelector('[data-test=insight-alerts]');

    // A viewer adds an insight to a board of their own, from the insight page.
    await open(viewer, `/insights/${latest.id}`);
    await viewer.click('[data-test=to-dashboard-toggle]');
    await viewer.fill('[data-test=to-dashboard-name]', 'My orders');
    await viewer.click('[data-test=to-dashboard-add]');
    await viewer.waitForURL(/\/dashboards\/\d+$/);
    await answered(viewer, 1, 'viewer board');
    assert.equal(await viewer.locator('[data-test=edit-dashboard]').count(), 1, 'a viewer edits their own board');
    assert.match(await viewer.locator('[data-test=dashboard-name]').textContent(), /My orders/);

    assert.deepEqual(page.problems, []);
    assert.deepEqual(viewer.problems, []);
    assert.deepEqual(phone.problems, []);
  } finally {
    await browser.close();
  }
});
