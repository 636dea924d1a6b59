// Shared browser-test helpers: one headless Debian Chromium, pages that wait for hydration.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const BASE = process.env.SIGHTLINE_E2E_URL;
export const SETUP_URL = process.env.SIGHTLINE_E2E_SETUP_URL;
export const ARTIFACTS = process.env.SIGHTLINE_E2E_ARTIFACTS || 'end2end/artifacts';
export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery staple' };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A new page that records console errors and failed requests (both fail the test). */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.problems = [];
  // Chromium logs every 4xx answer as a console error; 400 (invalid input, shown next to the
  // field), 401 (not signed in, wrong password) and 429 are answers the app expects and
  // shows, so only other errors count.
  const expected = /Failed to load resource: the server responded with a status of (400|401|429)/;
  page.on('console', (m) => {
    if (m.type() === 'error' && !expected.test(m.text())) {
      page.problems.push(`console: ${m.text()}`);
      if (process.env.SIGHTLINE_E2E_TRACE) console.error(`[problem at ${page.url()}] ${m.text().slice(0, 200)}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  // Requests that got no answer: not failures by themselves (leaving a page aborts its
  // requests), printed with the problems when a story fails, to tell why it waited in vain.
  page.on('requestfailed', (r) => traces.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('console', (m) => { if (m.type() === 'error') traces.push(`console at ${page.url()}: ${m.text().slice(0, 300)}`); });
  page.on('pageerror', (e) => traces.push(`page error at ${page.url()}: ${e.message}`));
  // A page whose script died (e.g. a hydration mismatch): its HTML as the server sent it is
  // kept in the artifacts, to compare with what the browser expected.
  let doc = null;
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) doc = r;
  });
  page.on('pageerror', async () => {
    const r = doc;
    const html = await r?.text().catch(() => null);
    if (html) {
      const file = path.join(ARTIFACTS, `page-error-${Date.now()}.html`);
      fs.writeFileSync(file, `<!-- ${r.url()} -->\n${html}`);
      traces.push(`the page's HTML as sent: ${file}`);
    }
  });
  return page;
}

const traces = [];
process.on('exit', (code) => {
  if (code !== 0 && traces.length) {
    console.error(`browser trace of the failed story (last 40):\n  ${traces.slice(-40).join('\n  ')}`);
  }
});

/** Navigates and waits until the app has hydrated (clicks before that would be lost). */
export async function open(page, url) {
  await page.goto(url.startsWith('http') ? url : BASE + url);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 15000 });
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export async function signIn(page, email, password) {
  await open(page, '/login');
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await page.click('button[type="submit"]');
}

/** Calls a server function from the signed-in page: JSON `body`, or none when `body` is null. */
export async function api(page, name, body) {
  return page.evaluate(async ([name, body]) => {
    const r = await fetch('/api/' + name, {
      method: 'POST',
      headers: body === null ? { 'content-type': 'application/x-www-form-urlencoded' } : { 'content-type': 'application/json' },
      body: body === null ? '' : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${name}: ${r.status} ${text}`);
    return JSON.parse(text);
  }, [name, body]);
}
