// The first version's acceptance, signed in as a viewer: open a saved insight with
// parameters from its URL, see its chart and its table, set an alert to a Slack channel and
// an email channel (a local Slack-style receiver and a local SMTP server) and see both
// delivered, then add the insight to a dashboard of their own and see it answer there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

/** A Slack-style incoming-webhook receiver on loopback. */
function slack() {
  const hits = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { hits.push(JSON.parse(body || 'null')); res.writeHead(200); res.end('ok'); });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, hits, port: server.address().port })));
}

/** A minimal SMTP server on loopback that keeps every message it is given. */
function smtp() {
  const messages = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let data = null;
    const say = (line) => socket.write(line + '\r\n');
    say('220 localhost ESMTP test');
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      for (;;) {
        if (data !== null) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          messages.push(data + buffer.slice(0, end));
          buffer = buffer.slice(end + 5);
          data = null;
          say('250 2.0.0 queued');
          continue;
        }
        const nl = buffer.indexOf('\r\n');
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') { say('250-localhost'); say('250 8BITMIME'); }
        else if (verb === 'HELO' || verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP') say('250 OK');
        else if (verb === 'DATA') { data = ''; say('354 go ahead'); }
        else if (verb === 'QUIT') { say('221 bye'); socket.end(); return; }
        else say('502 not implemented');
      }
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, messages, port: server.address().port })));
}

test('acceptance as a viewer: insight from its URL, chart and table, alert to Slack and email, add to dashboard', async () => {
  const hook = await slack();
  const mail = await smtp();
  const browser = await launch();
  try {
    // The admin's part: the mail server, two channels everyone may use, a saved insight.
    const admin = await newPage(browser);
    await signIn(admin, ADMIN.email, ADMIN.password);
    await admin.waitForURL(BASE + '/');
    await api(admin, 'save_smtp', { form: { host: '127.0.0.1', port: mail.port, tls: 'none', username: '', password: null, from: 'Sightline <alerts@example.com>' } });
    await api(admin, 'create_channel', { draft: { kind: 'slack', name: 'Ops Slack (acceptance)', url: `http://127.0.0.1:${hook.port}/services/T0/B0/x`, for_everyone: true } });
    await api(admin, 'create_channel', { draft: { kind: 'email', name: 'Ops mail (acceptance)', to: 'ops@example.com', subject: '', for_everyone: true } });
    const demo = (await api(admin, 'list_connections', null)).find((c) => c.name === 'Demo').id;
    const insight = await api(admin, 'save_insight', { id: null, base_version: null, draft: {
      name: 'Orders per country (acceptance)', description: '', connection_id: demo,
      sql: 'select c.country, count(*) as n from orders o join customers c on c.id = o.customer_id where o.status = {{status}} group by 1 order by 2 desc',
      params: [{ name: 'status', kind: 'text', required: true, multi: false, default: ['delivered'], options: [] }],
      view: { kind: 'chart', chart: { kind: 'bar', x: 'country', y: ['n'] } },
    } });

    // The viewer opens the insight from its URL: the chart, then the table.
    const page = await newPage(browser);
    await signIn(page, 'viewer@example.com', 'a viewer password');
    await page.waitForURL(BASE + '/');
    await open(page, `/insights/${insight.id}?p_status=shipped`);
    await page.waitForSelector('[data-test=chart-canvas][data-rendered="1"]', { timeout: 20000 });
    const drawn = JSON.parse(await page.evaluate(() => window.SightlineCharts.describe(document.querySelector('[data-test=chart-canvas]'))));
    assert.equal(drawn.series[0].type, 'bar');
    assert.ok(drawn.categories.length > 1, 'a bar per country');
    await shot(page, '14-viewer-chart');
    await page.click('[data-test=view-table]');
    await page.waitForURL(/view=table/);
    await page.waitForSelector('[data-test=run-status][data-state=done]');
    assert.match(await page.locator('[data-test=grid]').textContent(), /\d/);
    assert.match(page.url(), /p_status=shipped/);

    // An alert on it, to both channels; evaluated now, delivered to both.
    await page.click('[data-test=alerts-toggle]');
    await page.click('[data-test=new-alert]');
    await page.waitForSelector('[data-test=alert-form]');
    await page.fill('[data-test=alert-name-input]', 'Shipped orders (acceptance)');
    await page.selectOption('[data-test=rule-kind]', 'threshold');
    await page.waitForFunction(() => [...document.querySelectorAll('[data-test=alert-column-list] option')].some((o) => o.value === 'n'));
    await page.fill('[data-test=rule-column]', 'n');
    await page.selectOption('[data-test=rule-op]', '>');
    await page.fill('[data-test=rule-value]', '0');
    await page.selectOption('[data-test=schedule-preset]', '0 9 * * *');
    for (const name of ['Ops Slack (acceptance)', 'Ops mail (acceptance)']) {
      await page.waitForSelector(`[data-test=alert-channel][data-name="${name}"]`);
      await page.check(`[data-test=alert-channel][data-name="${name}"]`);
    }
    await page.click('[data-test=save-alert]');
    await page.waitForURL(/\/alerts\/\d+$/);
    await page.click('[data-test=evaluate-now]');
    try {
      await page.waitForFunction(() => document.querySelectorAll('[data-test=delivery][data-status=sent]').length === 2, null, { timeout: 30000 });
    } catch (e) {
      await shot(page, '14-fail-deliveries');
      throw new Error(`deliveries: ${await page.locator('[data-test=history]').textContent()}; ${page.problems.join('; ')}`);
    }
    assert.match(await page.textContent('[data-test=alert-state]'), /Firing/);
    const slackHit = hook.hits.find((h) => JSON.stringify(h).includes('Shipped orders (acceptance)'));
    assert.ok(slackHit, `the Slack receiver got the alert: ${JSON.stringify(hook.hits).slice(0, 300)}`);
    const message = mail.messages.find((m) => m.includes('Shipped orders (acceptance)'));
    assert.ok(message, `the SMTP server got the alert: ${mail.messages.length} messages`);
    assert.match(message, /ops@example\.com/);
    await shot(page, '14-viewer-alert-delivered');

    // Add to a dashboard of their own: it opens there and answers.
    await open(page, `/insights/${insight.id}?p_status=shipped`);
    await page.click('[data-test=to-dashboard-toggle]');
    await page.fill('[data-test=to-dashboard-name]', 'My acceptance board');
    await page.click('[data-test=to-dashboard-add]');
    await page.waitForURL(/\/dashboards\/\d+$/);
    await page.waitForFunction(() => /\brows?\b/.test(document.querySelector('[data-test=tile-status]')?.textContent ?? ''), null, { timeout: 30000 });
    await page.waitForSelector('[data-test=tile] [data-test=chart-canvas][data-rendered="1"]', { timeout: 20000 });
    assert.equal(await page.locator('[data-test=edit-dashboard]').count(), 1, 'their own board: they may edit it');
    await shot(page, '14-viewer-board');

    assert.deepEqual(page.problems, []);
    assert.deepEqual(admin.problems, []);
  } finally {
    await browser.close();
    hook.server.close();
    mail.server.close();
  }
});
