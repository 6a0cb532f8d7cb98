// The dashboard's admin pages in headless Chromium against the real binary (issue 15): roll a
// key from its page with the grace choice (the successor's secret once; both keys work during
// the grace; grace 0 refuses the old one), the Admin tokens page (a token once, used on the
// admin API, revoked behind a confirmation), the Users page (role, deactivate, reset password
// behind confirmations), the admin API from the session (reads, and writes only with the CSRF
// header), and the new pages at 375 px. One server for this file.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Server, launchBrowser, logIn, redact, registerSecret, stopChecked, waitUntil } from './harness.mjs';

let server;
let browser;
let context;
let page;
const secrets = [];

const path = (p) => new URL(p.url()).pathname;

/** The secret (key, token or password) in the page's show-once dialog. */
async function readDialog(p, warning) {
  const dialog = p.locator('section.secret[role="dialog"]');
  assert.equal(await dialog.count(), 1, 'one dialog');
  assert.match(await dialog.locator('.warning').innerText(), warning);
  assert.equal(await dialog.locator('button.copy[data-copy="new-secret"]').count(), 1, 'a copy button');
  const secret = (await dialog.locator('#new-secret').innerText()).trim();
  registerSecret(secret);
  secrets.push(secret);
  return secret;
}

async function healthIs(secret, want, timeoutMs = 3000) {
  let last;
  await waitUntil(
    `/api/health to answer ${want}`,
    async () => {
      last = await server.health(secret);
      return last.status === want;
    },
    { timeoutMs, intervalMs: 150 },
  ).catch((e) => {
    throw new Error(redact(`${e.message}; last ${last?.status}`));
  });
}

/** Follows a link, then presses the confirmation page's button. */
async function confirmVia(p, link, button) {
  await Promise.all([p.waitForLoadState('load'), link.click()]);
  const card = p.locator('main section.card');
  const text = await card.innerText();
  await Promise.all([p.waitForLoadState('load'), card.getByRole('button', { name: button }).click()]);
  await p.waitForLoadState('load');
  return text;
}

describe('admin pages in headless Chromium', () => {
  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    await logIn(page, server.base);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    if (server) {
      const logs = await stopChecked(server);
      for (const s of secrets) assert.ok(!logs.includes(s), 'a secret reached the server log');
    }
  });

  test('a key is rolled from its page: the grace choice, the successor once, both keys during the grace', async () => {
    const old = server.cliJson(['key', 'create', '--project', server.projectId, '--type', 'gateway', '--env', 'dev', '--name', 'web']);
    registerSecret(old.secret);
    await healthIs(old.secret, 200);
    await page.goto(`${server.base}/projects/${server.projectId}/keys/${old.id}`);
    await Promise.all([page.waitForURL(/\/roll$/), page.getByRole('link', { name: 'Roll', exact: true }).click()]);
    const card = page.locator('main section.card');
    assert.match(await card.locator('h1').innerText(), /^Roll key “web”\?$/);
    assert.equal(await page.inputValue('#grace'), '24h', '24 hours by default');
    await page.selectOption('#grace', '1h');
    const [resp] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/roll')),
      card.getByRole('button', { name: 'Roll key', exact: true }).click(),
    ]);
    await page.waitForLoadState('load');
    assert.equal(resp.status(), 201);
    const fresh = await readDialog(page, /you will not see this key again/i);
    assert.match(fresh, /^sk_dev_/);
    assert.match(await page.locator('#roll-note').innerText(), /keeps working until/);
    await healthIs(fresh, 200);
    await healthIs(old.secret, 200);
    // The old key's page links the successor and counts the uses since the roll.
    await page.goto(`${server.base}/projects/${server.projectId}/keys/${old.id}`);
    assert.match(await page.locator('#rolled-to').innerText(), /^key_/);
    assert.match(await page.locator('#uses-since-roll').innerText(), /^\d+/);
    assert.equal(await page.getByRole('link', { name: 'Roll', exact: true }).count(), 0, 'rolled once only');
    assert.ok(!(await page.content()).includes(fresh), 'the secret is on no page after the answer');
    // Roll the successor with no grace: the key it replaced is refused at once.
    const successorPage = await page.locator('#rolled-to a').getAttribute('href');
    await page.goto(server.base + successorPage);
    await Promise.all([page.waitForURL(/\/roll$/), page.getByRole('link', { name: 'Roll', exact: true }).click()]);
    await page.selectOption('#grace', '0');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Roll key', exact: true }).click()]);
    const third = await readDialog(page, /you will not see this key again/i);
    assert.match(await page.locator('#roll-note').innerText(), /has expired/);
    await healthIs(fresh, 401);
    await healthIs(third, 200);
  });

  test('an admin token is made on the Admin tokens page, shown once, used, and revoked', async () => {
    await page.goto(`${server.base}/`);
    await Promise.all([page.waitForURL(/\/account\/tokens$/), page.getByRole('link', { name: 'Admin tokens' }).click()]);
    await page.fill('#name', 'ci');
    await page.fill('#expires_in_days', '30');
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create token', exact: true }).click()]);
    const token = await readDialog(page, /you will not see this token again/i);
    assert.match(token, /^rpa_[0-9A-Za-z]{38}$/);
    const api = (t) => fetch(`${server.base}/api/admin/projects`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal((await api(token)).status, 200);
    await page.getByRole('link', { name: 'I have copied it' }).click();
    await page.waitForURL(/\/account\/tokens$/);
    assert.ok(!(await page.content()).includes(token), 'the list never shows the token');
    const row = page.locator('#tokens tbody tr', { hasText: 'ci' });
    assert.match(await row.innerText(), /active/);
    const text = await confirmVia(page, row.getByRole('link', { name: 'Revoke' }), 'Revoke token');
    assert.match(text, /cannot be undone/);
    assert.equal(path(page), '/account/tokens');
    assert.match(await page.locator('#tokens tbody tr', { hasText: 'ci' }).innerText(), /revoked/);
    assert.equal((await api(token)).status, 401);
  });

  test('users: a role changed, a user deactivated and a password reset from the Users page', async () => {
    server.cli(['user', 'create', '--email', 'viewer@example.com', '--role', 'viewer'], { input: 'viewer-password-123\n' });
    await page.goto(`${server.base}/`);
    await Promise.all([page.waitForURL(/\/users$/), page.getByRole('link', { name: 'Users', exact: true }).click()]);
    const row = () => page.locator('#users tbody tr', { hasText: 'viewer@example.com' });
    await row().locator('select').selectOption('admin');
    await Promise.all([page.waitForLoadState('load'), row().getByRole('button', { name: 'Set role' }).click()]);
    assert.equal(await row().locator('select').inputValue(), 'admin');
    await row().locator('select').selectOption('viewer');
    await Promise.all([page.waitForLoadState('load'), row().getByRole('button', { name: 'Set role' }).click()]);
    assert.equal(await row().locator('select').inputValue(), 'viewer');

    const text = await confirmVia(page, row().getByRole('link', { name: 'Deactivate' }), /^Deactivate/);
    assert.match(text, /stop working at once/);
    assert.match(await row().innerText(), /inactive/);
    await confirmVia(page, row().getByRole('link', { name: 'Reactivate' }), /^Reactivate/);
    assert.match(await row().innerText(), /\bactive\b/);

    await confirmVia(page, row().getByRole('link', { name: 'Reset password' }), /^Reset the password/);
    const pw = await readDialog(page, /not shown again/i);
    assert.equal(pw.length, 20);
    // The user logs in with it and must choose a new one first.
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(`${server.base}/login`);
      await p.fill('#email', 'viewer@example.com');
      await p.fill('#password', pw);
      await Promise.all([p.waitForLoadState('load'), p.getByRole('button', { name: 'Log in', exact: true }).click()]);
      await p.waitForLoadState('load');
      assert.equal(path(p), '/account/password');
    } finally {
      await other.close();
    }
  });

  test('the session calls the admin API: reads, and writes only with its CSRF header', async () => {
    // The pages' Content-Security-Policy lets no script of theirs fetch; the browser's own
    // request context sends the session cookie the same way a same-origin client would.
    await page.goto(`${server.base}/`);
    const csrf = await page.locator('input[name="csrf"]').first().inputValue();
    const read = await context.request.get(`${server.base}/api/admin/projects`);
    assert.equal(read.status(), 200);
    assert.equal((await read.json()).projects.length, 1);
    const post = (headers) => context.request.post(`${server.base}/api/admin/projects`, { headers, data: { name: 'From the session' } });
    const without = await post({});
    assert.equal(without.status(), 403);
    assert.equal((await without.json()).code, 'CSRF_REJECTED');
    const withToken = await post({ 'x-csrf-token': csrf });
    assert.equal(withToken.status(), 201);
    // Logged out, the same call is a 401.
    const anonymous = await browser.newContext();
    try {
      const r = await anonymous.request.get(`${server.base}/api/admin/projects`);
      assert.equal(r.status(), 401);
      assert.equal((await r.json()).code, 'MISSING_ADMIN_TOKEN');
    } finally {
      await anonymous.close();
    }
  });

  test('the admin pages fit a 375 px screen', async () => {
    const narrow = await context.newPage();
    try {
      await narrow.setViewportSize({ width: 375, height: 800 });
      for (const p of ['/users', '/account/tokens']) {
        await narrow.goto(server.base + p);
        assert.equal(path(narrow), p);
        const { scroll, inner } = await narrow.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth }));
        assert.ok(scroll <= inner + 1, `${p}: the page is ${scroll}px wide in a ${inner}px window`);
      }
    } finally {
      await narrow.close();
    }
  });
});
