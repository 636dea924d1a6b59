// Phone width (issue 20, item 8): at 390 x 844 every page fits without sideways scrolling,
// and the top menu folds behind one button a thumb can reach.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, api, launch, newPage, open, shot, signIn } from './helpers.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

/** How far the page reaches sideways, and the widest elements that stick out. */
async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > width + 1) {
        out.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} right=${Math.round(r.right)}`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, width, out: out.slice(0, 8) };
  });
}

test('every page fits a 390 px phone and the menu folds into a button', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser, PHONE);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    const demo = (await api(page, 'list_connections', null)).find((c) => c.name === 'Demo').id;
    const insight = await api(page, 'save_insight', {
      id: null, base_version: null,
      draft: {
        name: 'Orders by status, a name long enough to need more than one line on a phone',
        description: 'How many orders each status has, for the phone layout story',
        connection_id: demo, sql: 'select status, count(*) as orders, sum(total) as revenue from orders group by status order by 2 desc',
      },
    });
    const channel = await api(page, 'create_channel', {
      draft: { kind: 'webhook', name: 'Phone story hook', url: 'http://127.0.0.1:9/phone', secret: '' },
    });
    const alert = await api(page, 'save_alert', {
      id: null,
      draft: {
        insight_id: insight.id, name: 'Any orders at all, checked every five minutes on weekdays',
        rule: { kind: 'any_rows' }, cron: '*/5 * * * 1-5', timezone: 'UTC', channels: [channel.id],
      },
    });
    const alertId = typeof alert === 'object' ? alert.id : alert;

    // The menu: one button; Connections and Users are behind it, and reachable.
    await open(page, '/');
    const toggle = page.locator('[data-test=menu-toggle]');
    assert.ok(await toggle.isVisible(), 'the menu button shows on a phone');
    const size = await toggle.boundingBox();
    assert.ok(size.height >= 44 && size.width >= 44, `the menu button is thumb-sized (${size.width}x${size.height})`);
    const connectionsLink = page.locator('.mainnav a[href="/connections"]');
    assert.ok(!(await connectionsLink.isVisible()), 'the menu starts folded');
    await toggle.click();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok(await connectionsLink.isVisible());
    assert.ok(await page.locator('.mainnav a[href="/admin/users"]').isVisible());
    const linkBox = await connectionsLink.boundingBox();
    assert.ok(linkBox.height >= 44, `menu entries are thumb-sized (${linkBox.height}px)`);
    assert.ok(linkBox.x + linkBox.width <= 390, 'menu entries are on screen');
    await shot(page, '09-phone-menu-open');
    await connectionsLink.click();
    await page.waitForURL(BASE + '/connections');
    await page.waitForSelector('[data-test=connection-card]');
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false', 'the menu folds after choosing a page');

    const pages = [
      ['home', '/'],
      ['insights', '/insights'],
      ['insight', `/insights/${insight.id}`],
      ['alerts', '/alerts'],
      ['alert', `/alerts/${alertId}`],
      ['connections', '/connections'],
      ['workbench', `/workbench?connection=${demo}`],
      ['users', '/admin/users'],
    ];
    const wide = [];
    for (const [name, url] of pages) {
      await open(page, url);
      if (name === 'workbench') {
        await page.waitForSelector('.wb-editor[data-editor=ready]', { timeout: 15000 });
        await page.click('.cm-content');
        await page.keyboard.insertText('select o.id, o.status, o.total, o.ordered_at, c.name, c.city, c.country from orders o join customers c on c.id = o.customer_id');
        await page.click('[data-test=run]');
        await page.waitForSelector('[data-test=run-status][data-state=done]', { timeout: 20000 });
      } else if (name === 'alert') {
        await page.waitForSelector('[data-test=alert-name]');
      } else if (name === 'insight') {
        await page.waitForSelector('[data-test=run-status][data-state=done]', { timeout: 20000 });
      } else {
        await page.waitForLoadState('networkidle');
      }
      const o = await overflow(page);
      await shot(page, `09-phone-${name}`);
      if (o.scrollWidth > 390) wide.push(`${url}: ${o.scrollWidth}px wide: ${o.out.join(', ')}`);
    }
    assert.deepEqual(wide, [], 'pages wider than the phone');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
