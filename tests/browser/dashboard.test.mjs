// The dashboard in headless Chromium against the real binary (issue 5): log in, Manage Keys
// (create, the show-once secret dialog, deactivate / reactivate / delete through the confirm
// pages, each checked with a real HTTP call), a wrong password, a cross-origin form refused, the
// secret on no page after the dialog, and a phone-width screen. One server for this file.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { ADMIN_EMAIL, Server, launchBrowser, logIn, pageHtml, redact, registerSecret, stopChecked, waitUntil } from './harness.mjs';

let server;
let browser;
let context; // the logged-in browser context, shared by the tests after the login
let page;
const secrets = []; // every secret read from the dialog
const visitedAfterDialog = []; // [url, HTML] of every page the browser showed after a dialog closed
const extraPages = []; // pages no link leads to any more (a deleted key's page)

const path = (p) => new URL(p.url()).pathname;

/** Fills and sends the create form on the Manage Keys page; returns the answer's status. */
async function createKey(p, { name, type = 'gateway', environment = 'dev', readOnly = false }) {
  await p.fill('#name', name);
  await p.selectOption('#type', type);
  await p.selectOption('#environment', environment);
  if (readOnly) await p.check('input[name="read_only"]');
  const [resp] = await Promise.all([
    p.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/keys')),
    p.getByRole('button', { name: 'Create key', exact: true }).click(),
  ]);
  await p.waitForLoadState('load');
  return resp.status();
}

/** Reads the secret from the show-once dialog (and checks the dialog says what it must). */
async function readSecretDialog(p) {
  const dialog = p.locator('section.secret[role="dialog"]');
  assert.equal(await dialog.count(), 1, 'one secret dialog after the create');
  assert.match(await dialog.locator('.warning').innerText(), /you will not see this key again/i);
  const copy = dialog.locator('button.copy[data-copy="new-secret"]');
  assert.equal(await copy.count(), 1, 'the copy button');
  assert.equal((await copy.innerText()).trim(), 'Copy');
  const secret = (await dialog.locator('#new-secret').innerText()).trim();
  registerSecret(secret);
  secrets.push(secret);
  return { dialog, copy, secret };
}

/** Leaves the dialog with its "I have copied it" link, back on the keys list. */
async function closeDialog(p) {
  await Promise.all([p.waitForURL(/\/projects\/[^/]+\/keys$/), p.getByRole('link', { name: 'I have copied it' }).click()]);
  assert.equal(await p.locator('section.secret').count(), 0, 'the dialog is gone');
}

function keyRow(p, name) {
  return p.locator('tbody tr', { has: p.locator('td:first-child', { hasText: new RegExp(`^${escapeRe(name)}$`) }) });
}

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Polls GET /api/health with the key until `want(status, body)`; returns the ms it took. */
async function healthBecomes(secret, what, want, timeoutMs = 3000) {
  const t0 = Date.now();
  let last;
  await waitUntil(
    `/api/health with the key to be ${what}`,
    async () => {
      last = await server.health(secret);
      return want(last.status, last.body);
    },
    { timeoutMs, intervalMs: 150 }, // under the 10 requests/s a development key gets on plan pro
  ).catch((e) => {
    throw new Error(redact(`${e.message}; last answer ${last?.status} ${JSON.stringify(last?.body)}`));
  });
  return Date.now() - t0;
}

const authenticated = (status, body) => status === 200 && body?.authenticated === true;
const refused = (status) => status === 401;

/** Runs a confirm-page action from the keys list: the row's link, the confirm page, its button. */
async function confirmAction(p, keyName, verb) {
  const row = keyRow(p, keyName);
  await Promise.all([p.waitForURL(new RegExp(`/keys/[^/]+/${verb.toLowerCase()}$`)), row.getByRole('link', { name: verb, exact: true }).click()]);
  const card = p.locator('main section.card');
  assert.match(await card.locator('h1').innerText(), new RegExp(`^${verb} key “${escapeRe(keyName)}”\\?$`));
  const text = await card.innerText();
  visitedAfterDialog.push([p.url(), await p.content()]);
  const button = card.getByRole('button', { name: `${verb} key`, exact: true });
  const cls = (await button.getAttribute('class')) ?? '';
  await Promise.all([p.waitForURL(/\/projects\/[^/]+\/keys$/), button.click()]);
  visitedAfterDialog.push([p.url(), await p.content()]);
  return { text, buttonClass: cls };
}

describe('dashboard in headless Chromium', () => {
  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    if (server) {
      const logs = await stopChecked(server);
      for (const s of secrets) assert.ok(!logs.includes(s), 'a secret reached the server log');
    }
  });

  test('a wrong password shows an error on the login page and sets no session cookie', async () => {
    const ctx = await browser.newContext();
    try {
      const p = await ctx.newPage();
      await p.goto(`${server.base}/login`);
      await p.fill('#email', ADMIN_EMAIL);
      await p.fill('#password', 'not-the-password-at-all');
      const [resp] = await Promise.all([
        p.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
        p.getByRole('button', { name: 'Log in', exact: true }).click(),
      ]);
      await p.waitForLoadState('load');
      assert.equal(resp.status(), 401);
      assert.equal(path(p), '/login');
      assert.equal((await p.locator('main .error[role="alert"]').innerText()).trim(), 'Wrong email or password.');
      assert.equal(await p.inputValue('#email'), ADMIN_EMAIL, 'the email is kept');
      assert.equal(await p.inputValue('#password'), '', 'the password is not sent back');
      const cookies = await ctx.cookies(server.base);
      assert.deepEqual(
        cookies.map((c) => c.name),
        [],
        'no cookie at all after a refused login',
      );
      // And the dashboard is still closed to this browser.
      await p.goto(`${server.base}/`);
      assert.equal(path(p), '/login');
    } finally {
      await ctx.close();
    }
  });

  test('log in, create a key, use it, deactivate, reactivate and delete it in the page', async (t) => {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.base });
    page = await context.newPage();

    // A page without a session goes to the login form.
    await page.goto(`${server.base}/projects/${server.projectId}/keys`);
    assert.equal(path(page), '/login');
    await logIn(page, server.base);
    const session = (await context.cookies(server.base)).find((c) => c.name === 'regpilot_session');
    assert.ok(session, 'the session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');

    // Projects → the project's AI Gateway → Overview → Manage Keys.
    assert.equal(path(page), '/');
    assert.equal(await page.locator('main h1').innerText(), 'Projects');
    assert.match(await page.locator('header.top').innerText(), new RegExp(escapeRe(ADMIN_EMAIL)));
    await Promise.all([page.waitForURL(`${server.base}/projects/${server.projectId}`), page.getByRole('link', { name: 'My App', exact: true }).click()]);
    assert.equal(await page.locator('main h1').innerText(), 'Overview');
    assert.match(await page.locator('.crumbs').innerText(), /Projects › My App › AI Gateway/);
    assert.equal(await page.locator('nav.tabs a[aria-current="page"]').innerText(), 'Overview');
    assert.equal(await page.locator('#active-keys').innerText(), '0');
    await Promise.all([
      page.waitForURL(`${server.base}/projects/${server.projectId}/keys`),
      page.locator('nav.tabs').getByRole('link', { name: 'Manage Keys', exact: true }).click(),
    ]);
    assert.equal(await page.locator('main h1').innerText(), 'Manage Keys');
    assert.match(await page.locator('main').innerText(), /No keys yet\./);

    // Create a gateway development key; the secret is in the show-once dialog.
    assert.equal(await createKey(page, { name: 'web', type: 'gateway', environment: 'dev' }), 201);
    const { copy, secret } = await readSecretDialog(page);
    assert.match(secret, /^sk_dev_[A-Za-z0-9]{30,}$/, redact(`a gateway development secret: ${secret}`));
    assert.match(await page.locator('#secret-title').innerText(), /Key “web” created/);
    // The row is already in the table, showing only the display prefix.
    const row = keyRow(page, 'web');
    assert.equal(await row.count(), 1);
    const prefix = (await row.locator('code').innerText()).trim();
    assert.ok(secret.startsWith(prefix.split('…')[0]) && secret.endsWith(prefix.split('…')[1]), redact(`prefix ${prefix}`));
    assert.equal((await row.locator('.status').innerText()).trim(), 'active');
    // The copy button puts the secret on the clipboard.
    await copy.click();
    await waitUntil('the copy button to say Copied', async () => (await copy.innerText()).trim() === 'Copied', { timeoutMs: 3000 });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret, 'the clipboard holds the secret');

    await closeDialog(page);
    visitedAfterDialog.push([page.url(), await page.content()]);

    // The key's own page (its name in the table links to it): what it is, never the secret.
    await Promise.all([page.waitForURL(/\/keys\/[^/]+$/), keyRow(page, 'web').getByRole('link', { name: 'web', exact: true }).click()]);
    const keyPageUrl = page.url();
    visitedAfterDialog.push([keyPageUrl, await page.content()]);
    assert.equal(await page.locator('main h1').innerText(), 'Key “web”');
    assert.equal(await page.locator('#key-status').innerText(), 'active');
    assert.match(await page.locator('#audit').innerText(), /user:admin@example\.com\s+key\.create/);
    await Promise.all([
      page.waitForURL(`${server.base}/projects/${server.projectId}/keys`),
      page.locator('nav.tabs').getByRole('link', { name: 'Manage Keys', exact: true }).click(),
    ]);

    // The key works at once…
    await healthBecomes(secret, 'authenticated', authenticated);
    const ok = await server.health(secret);
    assert.equal(ok.body.project_id, server.projectId, redact(JSON.stringify(ok)));
    assert.equal(ok.body.key_type, 'gateway');
    assert.equal(ok.body.environment, 'development');

    // …is refused within about a second of being deactivated in the page…
    const deactivate = await confirmAction(page, 'web', 'Deactivate');
    assert.match(deactivate.text, /refused \(401\) until it is reactivated/);
    const tOff = await healthBecomes(secret, 'refused (401)', refused);
    assert.ok(tOff <= 1500, `refused ${tOff} ms after the deactivation, not within about 1 s`);
    t.diagnostic(`refused ${tOff} ms after the deactivation page answered`);
    assert.equal((await keyRow(page, 'web').locator('.status').innerText()).trim(), 'inactive');
    assert.equal(await keyRow(page, 'web').getByRole('link', { name: 'Reactivate', exact: true }).count(), 1);

    // …accepted again once reactivated…
    const reactivate = await confirmAction(page, 'web', 'Reactivate');
    assert.match(reactivate.text, /accepted again/);
    await healthBecomes(secret, 'authenticated again', authenticated);
    assert.equal((await keyRow(page, 'web').locator('.status').innerText()).trim(), 'active');

    // …and refused for good once deleted (the confirm page says it cannot be undone).
    const del = await confirmAction(page, 'web', 'Delete');
    assert.match(del.text, /This cannot be undone/);
    assert.equal(del.buttonClass, 'danger');
    const tDel = await healthBecomes(secret, 'refused after the delete', refused);
    assert.ok(tDel <= 1500, `refused ${tDel} ms after the delete`);
    t.diagnostic(`refused ${tDel} ms after the delete page answered`);
    // A deleted key offers nothing to do: no Reactivate link brings it back.
    const deleted = keyRow(page, 'web');
    t.diagnostic(`the deleted key is ${(await deleted.count()) > 0 ? `listed: ${await deleted.innerText()}` : 'not listed'}`);
    if ((await deleted.count()) > 0) {
      assert.equal(
        await deleted.getByRole('link', { name: 'Reactivate', exact: true }).count(),
        0,
        'a deleted key is listed with a Reactivate link (nothing can bring it back)',
      );
    }
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await server.health(secret)).status, 401, 'still refused after the delete');

    // The deleted key's page stays, read-only, with the whole audit trail by this user.
    extraPages.push(new URL(keyPageUrl).pathname);
    await page.goto(keyPageUrl);
    visitedAfterDialog.push([keyPageUrl, await page.content()]);
    assert.equal(await page.locator('#key-status').innerText(), 'deleted');
    assert.equal(await page.locator('#tombstone').count(), 1);
    assert.equal(await page.locator('main').getByRole('link', { name: /^(Reactivate|Deactivate|Delete)$/ }).count(), 0);
    const trail = await page.locator('#audit tbody tr').allInnerTexts();
    for (const action of ['key.create', 'key.deactivate', 'key.reactivate', 'key.delete']) {
      assert.ok(
        trail.some((r) => r.includes('user:admin@example.com') && r.includes(action)),
        `the audit trail has ${action} by user:admin@example.com: ${trail.join(' | ')}`,
      );
    }
  });

  test('more keys through the form: a read-only one and a staging one', async () => {
    await page.goto(`${server.base}/projects/${server.projectId}/keys`);
    assert.equal(await createKey(page, { name: 'ci (read-only)', type: 'gateway', environment: 'dev', readOnly: true }), 201);
    const ci = await readSecretDialog(page);
    assert.match(ci.secret, /^sk_dev_/);
    await closeDialog(page);
    visitedAfterDialog.push([page.url(), await page.content()]);
    assert.match(await keyRow(page, 'ci (read-only)').innerText(), /read-only/);

    assert.equal(await createKey(page, { name: 'staging', type: 'project', environment: 'stg' }), 201);
    const stg = await readSecretDialog(page);
    assert.match(stg.secret, /^pk_stg_/);
    await closeDialog(page);
    visitedAfterDialog.push([page.url(), await page.content()]);

    await healthBecomes(ci.secret, 'authenticated', authenticated);
    await healthBecomes(stg.secret, 'authenticated', authenticated);
    // An empty name is refused next to its field and creates nothing.
    const before = await page.locator('tbody tr').count();
    await page.locator('#name').evaluate((el) => el.removeAttribute('required'));
    await page.fill('#name', '');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Create key', exact: true }).click(),
    ]);
    await page.waitForLoadState('load');
    assert.equal(resp.status(), 400);
    assert.ok((await page.locator('#name-error').innerText()).length > 0, 'the error is next to the name field');
    assert.equal(await page.locator('section.secret').count(), 0);
    assert.equal(await page.locator('tbody tr').count(), before);
  });

  test('the secret is on no page after the dialog closes', async (t) => {
    assert.ok(secrets.length >= 3, 'the earlier tests read the secrets');
    // The pages as the browser showed them…
    for (const [url, html] of visitedAfterDialog) {
      for (const s of secrets) assert.ok(!html.includes(s), redact(`${url} shows a secret`));
    }
    // …and every page reachable from the projects list, fetched again with the browser's
    // cookies (the key pages, confirm pages and any later page are found by their links).
    const base = server.base;
    const seen = new Set();
    const queue = ['/', `/projects/${server.projectId}`, `/projects/${server.projectId}/keys`, ...extraPages];
    let fetched = 0;
    while (queue.length > 0 && fetched < 200) {
      const p = queue.shift();
      if (seen.has(p)) continue;
      seen.add(p);
      const { status, text } = await pageHtml(context, base + p);
      fetched++;
      assert.ok([200, 404].includes(status), `GET ${p} answered ${status}`);
      assert.ok(!/session ended|log in/i.test(text.match(/<h1>([^<]*)<\/h1>/)?.[1] ?? ''), `GET ${p} is not logged in`);
      for (const s of secrets) {
        assert.ok(!text.includes(s), redact(`GET ${p} shows a secret`));
        const body = s.replace(/^(sk|pk)_(dev|stg|prod)_/, '');
        assert.ok(!text.includes(body), redact(`GET ${p} shows a secret's body`));
      }
      for (const m of text.matchAll(/href="([^"]+)"/g)) {
        const href = m[1].replace(/&amp;/g, '&');
        if (!href.startsWith('/') || href.startsWith('//') || href.startsWith('/assets/')) continue;
        if (!seen.has(href)) queue.push(href);
      }
    }
    assert.ok(fetched >= 5, `crawled ${fetched} pages`);
    t.diagnostic(`${secrets.length} secrets absent from ${visitedAfterDialog.length} pages as shown and ${fetched} pages fetched again: ${[...seen].join(' ')}`);
    // The audit and server logs are checked in after().
  });

  test('a form posted from another origin is refused (403) and creates nothing', async () => {
    const createUrl = `${server.base}/projects/${server.projectId}/keys`;
    await page.goto(createUrl);
    const token = await page.locator('form.create input[name="csrf"]').inputValue();
    assert.ok(token.length >= 16, 'the create form carries a CSRF token');
    const keysBefore = await page.locator('tbody tr').count();

    // A page on another origin (same host, another port: same site, so even the SameSite=Strict
    // cookie goes along) whose form posts itself to the dashboard. One attack without the token,
    // one with the real token (as if it had leaked): the Origin check alone must refuse it.
    const forms = {
      '/no-token': { name: 'evil-no-token' },
      '/with-token': { name: 'evil-with-token', csrf: token },
    };
    const evil = http.createServer((req, res) => {
      const fields = forms[req.url];
      if (!fields) {
        res.writeHead(404).end();
        return;
      }
      const inputs = Object.entries({ ...fields, type: 'gateway', environment: 'dev' })
        .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
        .join('');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(
        `<!doctype html><title>win a prize</title><form id="f" method="post" action="${createUrl}">${inputs}</form>` +
          `<script>document.getElementById('f').submit()</script>`,
      );
    });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
    const evilBase = `http://127.0.0.1:${evil.address().port}`;
    try {
      for (const [route, fields] of Object.entries(forms)) {
        const attack = await context.newPage();
        const posted = attack.waitForResponse((r) => r.url() === createUrl && r.request().method() === 'POST');
        await attack.goto(evilBase + route);
        const resp = await posted;
        const sentOrigin = await resp.request().headerValue('origin');
        assert.equal(sentOrigin, evilBase, 'the browser sent the other origin');
        const sentCookie = (await resp.request().headerValue('cookie')) ?? '';
        if (fields.csrf) assert.match(sentCookie, /regpilot_session=/, 'the session cookie went along (same site)');
        assert.equal(resp.status(), 403, `${route}: refused`);
        await attack.waitForLoadState('load');
        assert.equal(await attack.locator('main h1').innerText(), 'Request refused');
        assert.equal(await attack.locator('section.secret').count(), 0, 'no secret dialog');
        await attack.close();
      }
    } finally {
      await new Promise((r) => evil.close(r));
    }
    await page.reload();
    const names = await page.locator('tbody tr td:first-child').allInnerTexts();
    assert.ok(!names.some((n) => n.startsWith('evil')), `no key was created: ${names.join(', ')}`);
    assert.equal(await page.locator('tbody tr').count(), keysBefore);
    // The session is still good for this origin's own forms.
    assert.equal(await page.locator('main h1').innerText(), 'Manage Keys');
  });

  test('a 375×800 screen shows the pages without scrolling the whole page sideways', async () => {
    const narrow = await context.newPage();
    try {
      await narrow.setViewportSize({ width: 375, height: 800 });
      await narrow.goto(`${server.base}/projects/${server.projectId}/keys`);
      const keyPage = await keyRow(narrow, 'ci (read-only)').getByRole('link', { name: 'ci (read-only)', exact: true }).getAttribute('href');
      const pages = ['/', `/projects/${server.projectId}`, `/projects/${server.projectId}/keys`, keyPage, `/projects/${server.projectId}/alerts`];
      for (const p of pages) {
        await narrow.goto(server.base + p);
        assert.notEqual(path(narrow), '/login');
        const { scroll, inner } = await narrow.evaluate(() => ({
          scroll: document.scrollingElement.scrollWidth,
          inner: window.innerWidth,
        }));
        assert.ok(scroll <= inner + 1, `${p}: the page is ${scroll}px wide in a ${inner}px window`);
      }
      // The keys table scrolls inside its own box.
      await narrow.goto(`${server.base}/projects/${server.projectId}/keys`);
      const wrap = await narrow.evaluate(() => {
        const w = document.querySelector('.table-wrap');
        return w && { scroll: w.scrollWidth, client: w.clientWidth, overflow: getComputedStyle(w).overflowX };
      });
      assert.ok(wrap, 'the table is in a .table-wrap');
      assert.equal(wrap.overflow, 'auto');
      // The secret dialog fits too (the long secret wraps).
      assert.equal(await createKey(narrow, { name: 'phone', type: 'gateway', environment: 'dev' }), 201);
      const { secret } = await readSecretDialog(narrow);
      const scroll = await narrow.evaluate(() => document.scrollingElement.scrollWidth);
      assert.ok(scroll <= 376, `the dialog makes the page ${scroll}px wide`);
      const box = await narrow.locator('#new-secret').boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 376, `the secret is inside the screen: ${JSON.stringify(box)}`);
      await closeDialog(narrow);
      assert.ok(!(await narrow.content()).includes(secret));
      // Deactivate it again from the narrow screen, through the confirm page.
      await confirmAction(narrow, 'phone', 'Deactivate');
      await healthBecomes(secret, 'refused', refused);
    } finally {
      await narrow.close();
    }
  });
});
