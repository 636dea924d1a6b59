// SECURITY case 28: a page on another origin auto-submits POST and GET forms to our server
// functions while an admin is signed in. Nothing may change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADMIN, BASE, launch, newPage, signIn, shot } from './helpers.mjs';

let browser, evil, evilUrl;
before(async () => {
  browser = await launch();
  // The attacker's page: same host, another port (another origin, the same site).
  evil = http.createServer((req, res) => {
    const target = `${BASE}/api/create_user`;
    res.setHeader('content-type', 'text/html');
    res.end(`<!doctype html><body>
      <form id="post" method="POST" action="${target}">
        <input name="input[email]" value="csrf-post@example.com">
        <input name="input[role]" value="admin">
        <input name="input[password]" value="attacker password 123">
      </form>
      <form id="get" method="GET" action="${target}" target="frame2">
        <input name="input[email]" value="csrf-get@example.com">
        <input name="input[role]" value="admin">
        <input name="input[password]" value="attacker password 123">
      </form>
      <iframe name="frame2"></iframe>
      <script>document.getElementById('get').submit(); setTimeout(() => document.getElementById('post').submit(), 300);</script>
    </body>`);
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://127.0.0.1:${evil.address().port}/`;
});
after(async () => { await browser?.close(); evil?.close(); });

test('cross-site form posts and gets to server functions change nothing', async () => {
  const page = await newPage(browser);
  await signIn(page, ADMIN.email, ADMIN.password);
  await page.waitForURL(BASE + '/');

  const attack = await page.context().newPage();
  const answers = [];
  attack.on('response', (r) => { if (r.url().includes('/api/create_user')) answers.push(r.status()); });
  await attack.goto(evilUrl);
  await attack.waitForTimeout(2000);
  await shot(attack, '08-cross-site-attempt');
  assert.ok(answers.length >= 1, 'the attack reached the server');
  assert.ok(answers.every((s) => s === 403 || s === 405), `refused: ${answers}`);

  // The admin's own view: no account was created.
  const list = await page.request.post(`${BASE}/api/list_users`, { headers: { origin: BASE } });
  assert.equal(list.status(), 200);
  const users = await list.json();
  assert.ok(!users.some((u) => u.email.startsWith('csrf-')), JSON.stringify(users));
});
