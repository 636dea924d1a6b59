// Connections as a first-time admin meets them: a pasted connection string fills the fields,
// editing shows the stored SSL mode, each card has Test; a viewer sees no Query buttons and
// no import form that would only lead to a refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, launch, newPage, open, shot, signIn } from './helpers.mjs';

test('a pasted connection string fills the form; cards test themselves', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, ADMIN.email, ADMIN.password);
    await page.waitForURL(BASE + '/');
    await open(page, '/connections');
    await page.evaluate(() => { window.__noReload = true; });
    await page.click('[data-test=new-connection]');
    const ed = page.locator('[data-test=connection-editor]');
    await ed.locator('input[name=name]').fill('Pasted PG');
    // A paste, as the browser reports one.
    await ed.locator('input[name=url]').evaluate((el) => {
      el.value = 'postgresql://postgres:pw-from-url@127.0.0.1:5432/test?sslmode=disable';
      el.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
    });
    await page.waitForSelector('[data-test=url-filled]');
    assert.equal(await ed.locator('select[name=kind]').inputValue(), 'postgres');
    assert.equal(await ed.locator('input[name=host]').inputValue(), '127.0.0.1');
    assert.equal(await ed.locator('input[name=port]').inputValue(), '5432');
    assert.equal(await ed.locator('input[name=database]').inputValue(), 'test');
    assert.equal(await ed.locator('input[name=user]').inputValue(), 'postgres');
    assert.equal(await ed.locator('input[name=password]').inputValue(), 'pw-from-url');
    assert.equal(await ed.locator('select[name=ssl_mode]').inputValue(), 'disable');
    assert.equal(await ed.locator('input[name=url]').inputValue(), '', 'the string went into the fields');
    await shot(page, '10-connection-pasted');

    // A string typed by hand fills them when the field is left; a bad one says why.
    await ed.locator('input[name=url]').fill('postgres://nobody@db.invalid:5432/x?timeout=3');
    await ed.locator('input[name=url]').press('Tab');
    await ed.locator('.field-error', { hasText: "'timeout' is not supported" }).waitFor();
    assert.equal(await ed.locator('input[name=host]').inputValue(), '127.0.0.1', 'the fields stay');
    await ed.locator('input[name=url]').fill('');
    await ed.locator('input[name=url]').press('Tab');

    await page.click('[data-test=save-connection]');
    const card = page.locator('[data-test=connection-card][data-name="Pasted PG"]');
    await card.waitFor();

    // Edit shows the stored SSL mode, not a blank.
    await card.locator('button', { hasText: 'Edit' }).click();
    await ed.waitFor();
    await page.waitForFunction(() => document.querySelector('[data-test=connection-editor] input[name=name]')?.value === 'Pasted PG');
    assert.equal(await ed.locator('select[name=ssl_mode]').inputValue(), 'disable');
    await ed.locator('button', { hasText: 'Cancel' }).click();

    // Test on the card: the server's version and the round trip.
    await card.locator('[data-test=card-test]').click();
    const ok = card.locator('[data-test=card-test-ok]');
    await ok.waitFor();
    assert.match(await ok.textContent(), /Connected in \d+ ms: PostgreSQL \d+/);
    await shot(page, '10-card-tested');
    assert.equal(await page.evaluate(() => window.__noReload), true, 'no page reload');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});

test('viewers see what they may use, not buttons that are refused', async () => {
  const browser = await launch();
  try {
    const page = await newPage(browser);
    await signIn(page, 'viewer@example.com', 'a viewer password');
    await page.waitForURL(BASE + '/');
    await open(page, '/connections');
    await page.waitForSelector('[data-test=connection-card][data-name="Demo"]');
    assert.equal(await page.locator('[data-test=connection-card] a', { hasText: 'Query' }).count(), 0);
    assert.equal(await page.locator('[data-test=card-test]').count(), 0);
    await open(page, '/import');
    await page.waitForSelector('[data-test=import-editors-only]');
    assert.equal(await page.locator('[data-test=import-file]').count(), 0);
    await open(page, '/admin/users');
    await page.waitForSelector('[data-test=users-admin-only]');
    assert.equal(await page.locator('[data-test=users-table]').count(), 0);
    await shot(page, '10-viewer-users');
    assert.deepEqual(page.problems, []);
  } finally {
    await browser.close();
  }
});
