// The alert story: add a signed webhook channel (rename it, and send it a test), create an alert on an
// insight from the insight page, evaluate it now, and see the delivery in the history and
// at the receiver (a local HTTP server, allow-listed by run.sh). No page reloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { ADMIN, BASE, launch, newPage, open, shot, signIn } from './helpers.mjs';

async function waitFor(page, selector, name, timeout = 20000) {
  try {
    return await page.waitForSelector(selector, { timeout });
  } catch (e) {
    await shot(page, `06-fail-${name}`);
    throw new Error(`${name}: ${selector} did not appear; problems: ${page.problems.join('; ')}`);
  }
}

function receiver() {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      hits.push({ headers: req.headers, body: JSON.parse(body || 'null') , raw: body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, hits, port: server.address().port })));
}

async function api(page, name, body, json = true) {
  return page.evaluate(async ([name, body, json]) => {
    const r = await fetch(`/api/${name}`, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: json ? JSON.stringify(body) : '',
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${name}: ${r.status} ${text}`);
    return JSON.parse(text);
  }, [name, body, json]);
}

test('alert on an insight: webhook channel, evaluate now, history and receiver', async () => {
  const { server, hits, port } = await receiver();
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const conns = await api(page, 'list_connections', null, false);
    const demo = conns.find((c) => c.name === 'Demo');
    assert.ok(demo, 'the Demo connection exists');
    const insight = await api(page, 'save_insight', {
      id: null, base_version: null,
      draft: { name: 'Failed orders (e2e)', connection_id: demo.id, sql: 'select 73 as n' },
    });

    // A channel, and a test message through it.
    await open(page, '/alerts');
    await page.evaluate(() => { window.__noReload = true; });
    await page.selectOption('[data-test=channel-kind]', 'webhook');
    await page.fill('[data-test=channel-name]', 'e2e first name');
    await page.fill('[data-test=channel-url]', `http://127.0.0.1:${port}/hook`);
    await page.fill('[data-test=channel-secret]', 'e2e-secret');
    await page.click('[data-test=create-channel]');
    await waitFor(page, '[data-test=channel-row]:has-text("e2e first name")', 'channel');
    // Renamed in place: the URL and secret left empty stay as stored (the signature below
    // still uses the secret).
    await page.click('[data-test=channel-row]:has-text("e2e first name") [data-test=edit-channel]');
    assert.equal(await page.inputValue('[data-test=channel-name]'), 'e2e first name');
    assert.equal(await page.inputValue('[data-test=channel-url]'), '');
    await page.fill('[data-test=channel-name]', 'e2e hook');
    await page.click('[data-test=create-channel]');
    await waitFor(page, '[data-test=channel-row]:has-text("e2e hook")', 'renamed channel');
    assert.equal(await page.locator('[data-test=channel-row]:has-text("e2e first name")').count(), 0);
    assert.doesNotMatch(await page.textContent('[data-test=channels]'), /e2e-secret/);
    await page.click('[data-test=channel-row]:has-text("e2e hook") [data-test=test-channel]');
    const report = await waitFor(page, '[data-test=channel-report]:has-text("Sent a test")', 'test message');
    assert.match(await report.textContent(), /Sent a test message/);
    assert.equal(hits.length, 1);
    // A test says it is one: the receiver does not take it for a firing alert.
    assert.equal(hits[0].body.state, 'test');
    assert.equal(hits[0].headers['x-sightline-event'], 'test');
    await shot(page, '06-channels');

    // The alert, from the insight page.
    await open(page, `/insights/${insight.id}`);
    await page.evaluate(() => { window.__noReload = true; });
    await page.click('[data-test=alerts-toggle]');
    await page.click('[data-test=new-alert]');
    await waitFor(page, '[data-test=alert-form]', 'alert form');
    await page.fill('[data-test=alert-name-input]', 'Too many failed orders');
    await page.selectOption('[data-test=rule-kind]', 'threshold');
    // The column is picked from the insight's own columns; one it does not return is refused
    // at save, with the ones it does.
    await page.waitForFunction(() => [...document.querySelectorAll('[data-test=alert-column-list] option')].some((o) => o.value === 'n'));
    await page.fill('[data-test=rule-column]', 'failures');
    await page.selectOption('[data-test=rule-op]', '>');
    await page.fill('[data-test=rule-value]', '50');
    await page.selectOption('[data-test=schedule-preset]', '0 9 * * *');
    await waitFor(page, '[data-test=alert-channel][data-name="e2e hook"]', 'channel choice');
    await page.check('[data-test=alert-channel][data-name="e2e hook"]');
    await page.click('[data-test=save-alert]');
    const refused = await waitFor(page, '[data-test=alert-form] .field-error:has-text("returns no column")', 'unknown column refused');
    assert.match(await refused.textContent(), /"failures"; choose one of: .*\bn\b/);
    await page.fill('[data-test=rule-column]', 'n');
    await shot(page, '06-alert-form');
    await page.click('[data-test=save-alert]');
    await page.waitForURL(/\/alerts\/\d+$/);
    await waitFor(page, '[data-test=alert-name]:has-text("Too many failed orders")', 'alert page');
    assert.match(await page.textContent('[data-test=next-run]'), /09:00 UTC/);
    // Before its first run it claims no state, and the page says what it watches.
    assert.equal(await page.textContent('[data-test=alert-state]'), 'Not evaluated yet');
    assert.equal(await page.textContent('[data-test=alert-condition]'), 'first row of n > 50');

    // Evaluate now: the run appears, goes done, and the delivery is sent.
    await page.click('[data-test=evaluate-now]');
    await waitFor(page, '[data-test=delivery][data-status=sent]', 'delivery', 30000);
    assert.match(await page.textContent('[data-test=alert-state]'), /Firing/);
    assert.match(await page.textContent('[data-test=history]'), /n = 73/);
    await shot(page, '06-alert-history');
    // (The channel's test message came first, under the channel's name.)
    const firing = hits.filter((h) => h.body && h.body.alert === 'Too many failed orders');
    assert.equal(firing.length, 1, 'one notification of the alert at the receiver');
    assert.equal(firing[0].body.state, 'firing');
    const ts = firing[0].headers['x-sightline-timestamp'];
    const mac = crypto.createHmac('sha256', 'e2e-secret').update(`${ts}.${firing[0].raw}`).digest('hex');
    assert.equal(firing[0].headers['x-sightline-signature'], `sha256=${mac}`);

    // The list shows it Firing.
    await page.click('a[href="/alerts"]');
    await waitFor(page, '[data-test=alert-row]:has-text("Too many failed orders")', 'list');
    assert.match(await page.textContent('[data-test=alert-row]:has-text("Too many failed orders")'), /Firing/);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
    server.close();
  }
});
