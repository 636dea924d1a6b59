// Load benchmark of a dashboard (run by bench/dashboards.sh after the browser opens): N
// viewers load the board over and over for a while, each as a browser does (the board, then
// its tiles' runs six at a time), and the tiles are answered by the result cache. Reports
// requests per second and the p50/p99 of a tile request. Usage (env): BASE, BOARD (id),
// COOKIE (a signed-in session), VIEWERS (100), SECONDS (30), THINK_MS (mean pause between
// two loads of one viewer, uniform in [0, 2 × THINK_MS]; viewers also arrive spread over
// that time; 0: no pause, all at once).
import http from 'node:http';

const BASE = process.env.BASE;
const BOARD = Number(process.env.BOARD);
const COOKIE = process.env.COOKIE;
const VIEWERS = Number(process.env.VIEWERS || 100);
const SECONDS = Number(process.env.SECONDS || 30);
const THINK_MS = Number(process.env.THINK_MS || 0);
// Kept-alive connections, as many as the viewers' browsers would open (six each).
const agent = new http.Agent({ keepAlive: true, maxSockets: VIEWERS * 6 });

const call = (name, body) => new Promise((resolve, reject) => {
  const data = JSON.stringify(body);
  const req = http.request(`${BASE}/api/${name}`, {
    method: 'POST',
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), cookie: COOKIE, origin: BASE },
  }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      if (res.statusCode !== 200) reject(new Error(`${name}: ${res.statusCode} ${text.slice(0, 200)}`));
      else resolve(JSON.parse(text));
    });
  });
  req.on('error', reject);
  req.end(data);
});

const board = await call('get_dashboard', { id: BOARD });
const tiles = board.draft.tiles.filter((t) => t.content.type === 'insight');
const values = { kind: ['purchase'] };
const tileTimes = [];
let requests = 0;
let errors = 0;
let running = 0;
const until = Date.now() + SECONDS * 1000;

async function tile(t) {
  const start = performance.now();
  const v = await call('run_insight', { id: t.content.insight_id, values, page_size: 100, cache: { use: 'board', dashboard: BOARD } });
  if (v.state !== 'done') running++;
  tileTimes.push(performance.now() - start);
  requests++;
}

async function viewer() {
  // Viewers arrive over the first pause rather than all in the same millisecond.
  if (THINK_MS) await new Promise((r) => setTimeout(r, Math.random() * 2 * THINK_MS));
  while (Date.now() < until) {
    try {
      await call('get_dashboard', { id: BOARD });
      requests++;
      const queue = [...tiles];
      await Promise.all(Array.from({ length: 6 }, async () => {
        while (queue.length) await tile(queue.shift());
      }));
    } catch (e) {
      errors++;
      if (errors < 5) console.error(String(e));
    }
    if (THINK_MS) await new Promise((r) => setTimeout(r, Math.random() * 2 * THINK_MS));
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: VIEWERS }, viewer));
const secs = (performance.now() - t0) / 1000;
tileTimes.sort((a, b) => a - b);
const pct = (p) => tileTimes[Math.min(tileTimes.length - 1, Math.floor((p / 100) * tileTimes.length))].toFixed(1);
console.log(JSON.stringify({
  viewers: VIEWERS,
  seconds: Number(secs.toFixed(1)),
  think_ms: THINK_MS,
  requests,
  requests_per_second: Math.round(requests / secs),
  tile_requests: tileTimes.length,
  tile_p50_ms: Number(pct(50)),
  tile_p99_ms: Number(pct(99)),
  tile_answers_still_running: running,
  errors,
}));
