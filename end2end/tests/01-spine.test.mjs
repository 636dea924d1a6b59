// The spine, as a person uses it: first-run setup, sign in, the shell, users admin, sign out,
// a refused sign-in; then the same sign-in with JavaScript off, and the phone layout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, BASE, SETUP_URL, launch, newPage, open, shot, signIn } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('first-run setup, sign in, users admin, sign out, wrong password', async () => {
  assert.ok(SETUP_URL, 'the server printed a setup URL');
  const page = await newPage(browser);

  await open(page, SETUP_URL);
  await page.getByRole('heading', { name: 'Create the first admin' }).waitFor();
  await shot(page, '01-setup');
  // A too-short password is refused in place, with the reason next to the field.
  await page.fill('input[name="email"]', ADMIN.email);
  await page.fill('input[name="password"]', 'short');
  await page.evaluate(() => document.querySelector('input[name="password"]').removeAttribute('minlength'));
  await page.click('button[type="submit"]');
  await page.getByText('Use at least 12 characters').waitFor();
  await page.fill('input[name="password"]', ADMIN.password);
  await page.click('button[type="submit"]');
  // Signed in at once: no second typing of what was just chosen.
  await page.waitForURL(BASE + '/');
  await shot(page, '02-home-after-setup');

  // The setup link is gone.
  const again = await page.request.get(SETUP_URL);
  assert.equal(again.status(), 404);

  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.locator('[data-test="me-email"]', { hasText: ADMIN.email }).waitFor();
  await page.getByRole('cell', { name: 'Signed in' }).first().waitFor();
  await shot(page, '03-overview');

  // Users admin, reached through the navigation (client-side, no reload).
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).click();
  await page.waitForURL('**/admin/users');
  await page.locator('[data-test="users-table"]', { hasText: ADMIN.email }).waitFor();
  await page.fill('input[name="input[email]"]', 'viewer@example.com');
  await page.selectOption('select[name="input[role]"]', 'viewer');
  await page.fill('input[name="input[password]"]', 'a viewer password');
  await page.getByRole('button', { name: 'Add user' }).click();
  await page.locator('[data-test="users-table"]', { hasText: 'viewer@example.com' }).waitFor();
  await page.getByText('Created viewer@example.com.').waitFor();
  await shot(page, '04-users');

  await page.click('[data-test="sign-out"]');
  await page.waitForURL('**/login');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  // Signed-in pages now send us back to sign in.
  await open(page, '/admin/users');
  await page.waitForURL('**/login?next=/admin/users');

  await page.fill('input[name="email"]', ADMIN.email);
  await page.fill('input[name="password"]', 'not the password');
  await page.click('button[type="submit"]');
  await page.getByRole('alert').filter({ hasText: 'The email or password is incorrect.' }).waitFor();
  assert.match(page.url(), /\/login/);
  await shot(page, '05-wrong-password');

  // The viewer signs in and lands where they wanted to go; no Users link for them.
  await signIn(page, 'viewer@example.com', 'a viewer password');
  await page.waitForURL(BASE + '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).count(), 0);
  assert.deepEqual(page.problems, []);
});

test('sign-in works with JavaScript off', async () => {
  const page = await newPage(browser, { javaScriptEnabled: false });
  await page.goto(BASE + '/login');
  await page.fill('input[name="email"]', ADMIN.email);
  await page.fill('input[name="password"]', ADMIN.password);
  await page.click('button[type="submit"]');
  await page.waitForURL(BASE + '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await shot(page, '06-no-js-overview');
});

test('phone-width layout keeps navigation and sign-out reachable', async () => {
  const page = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(BASE + '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  // The menu folds behind one button; sign-out is inside it.
  await page.click('[data-test="menu-toggle"]');
  assert.ok(await page.locator('[data-test="sign-out"]').isVisible());
  await shot(page, '07-phone');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  assert.equal(overflow, false, 'no horizontal scrolling at phone width');
});
