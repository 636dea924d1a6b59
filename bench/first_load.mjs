// Drives Debian Chromium (playwright-core) through CDP network throttling; see first_load.sh.
import { chromium } from 'playwright-core';

const BASE = process.env.BASE;
const LINK = { latency: 40, downloadThroughput: (10e6 / 8), uploadThroughput: (5e6 / 8), offline: false };
const RUNS = Number(process.env.RUNS || 3);

async function visit(context, { compressed }) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', LINK);
  if (!compressed) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'identity' } });
  let bytes = 0;
  let cached = 0;
  cdp.on('Network.loadingFinished', (e) => { bytes += e.encodedDataLength; });
  cdp.on('Network.requestServedFromCache', () => { cached += 1; });
  const start = Date.now();
  await page.goto(`${BASE}/login`);
  await page.waitForSelector('body[data-hydrated="true"]', { timeout: 120000 });
  const ms = Date.now() - start;
  await page.close();
  return { ms, bytes, cached };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
for (const [label, compressed, warm] of [
  ['uncompressed, cold cache (before)', false, false],
  ['compressed, cold cache', true, false],
  ['compressed, repeat visit', true, true],
]) {
  const results = [];
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext();
    if (warm) await visit(context, { compressed });
    results.push(await visit(context, { compressed }));
    await context.close();
  }
  rows.push({ label, ms: median(results.map((r) => r.ms)), kb: median(results.map((r) => r.bytes)) / 1024, cached: results[0].cached });
}
await browser.close();
console.log('| first load of /login (10 Mbit/s, 40 ms RTT) | transferred | time to interactive |');
console.log('|---|---|---|');
for (const r of rows) console.log(`| ${r.label} | ${r.kb.toFixed(0)} KB | ${(r.ms / 1000).toFixed(2)} s |`);
