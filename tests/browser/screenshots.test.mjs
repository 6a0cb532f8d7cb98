// The screenshots in docs/screenshots/ (shown in the README), taken on a server of their own so
// that the data is the same every run: the project "My App", three keys made through the form
// ("web", "ci (read-only)", "staging"), and some traffic; then the roll confirmation, the Admin
// tokens page and the Users page. The pages are always rendered and checked; the PNGs (1280×800
// viewport, full page) are written only with SCREENSHOTS=1.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';

import { SCREENSHOTS, SCREENSHOT_DIR, Server, launchBrowser, logIn, registerSecret, screenshot, sleep, stopChecked, waitUntil } from './harness.mjs';

let server;
let browser;

describe('dashboard screenshots', () => {
  before(async () => {
    server = await Server.start();
    browser = await launchBrowser();
    if (SCREENSHOTS) await mkdir(SCREENSHOT_DIR, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    if (server) await stopChecked(server);
  });

  test('overview, Manage Keys and the key page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    try {
      await logIn(page, server.base);
      const keysUrl = `${server.base}/projects/${server.projectId}/keys`;
      await page.goto(keysUrl);
      const keys = [
        { name: 'web', type: 'gateway', environment: 'prod', readOnly: false },
        { name: 'ci (read-only)', type: 'gateway', environment: 'dev', readOnly: true },
        { name: 'staging', type: 'gateway', environment: 'stg', readOnly: false },
      ];
      const secrets = {};
      for (const k of keys) {
        await page.fill('#name', k.name);
        await page.selectOption('#type', k.type);
        await page.selectOption('#environment', k.environment);
        if (k.readOnly) await page.check('input[name="read_only"]');
        await Promise.all([page.waitForURL(keysUrl), page.getByRole('button', { name: 'Create key', exact: true }).click()]);
        const secret = (await page.locator('#new-secret').innerText()).trim();
        registerSecret(secret);
        secrets[k.name] = secret;
        await Promise.all([page.waitForURL(keysUrl), page.getByRole('link', { name: 'I have copied it' }).click()]);
      }

      // Some traffic, so that the overview has numbers and a bar: health checks with each key,
      // and a few calls a gateway key may not make (403, counted as errors).
      const calls = { web: 24, 'ci (read-only)': 9, staging: 5 };
      for (const [name, n] of Object.entries(calls)) {
        await waitUntil(`key ${name} known`, async () => (await server.health(secrets[name])).status === 200);
        for (let i = 1; i < n; i++) await server.health(secrets[name]);
      }
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${server.base}/api/compliance/violations`, { headers: { 'X-API-Key': secrets.staging } });
        assert.equal(r.status, 403, 'a gateway key may not read compliance data');
      }
      // The usage recorder flushes every second; wait until the overview counts the requests.
      const overviewUrl = `${server.base}/projects/${server.projectId}`;
      await waitUntil(
        'the overview to count the requests',
        async () => {
          await page.goto(overviewUrl);
          const n = Number((await page.locator('#requests-today').innerText()).replace(/,/g, ''));
          return n >= 40;
        },
        { timeoutMs: 15_000, intervalMs: 500 },
      );
      assert.equal(await page.locator('#active-keys').innerText(), '3');
      assert.equal(await page.locator('#error-rate').innerText(), '5.0%', '2 refusals (403) in 40 requests');
      await sleep(200);
      await screenshot(page, 'overview.png');

      await page.goto(keysUrl);
      assert.equal(await page.locator('section.secret').count(), 0, 'the dialog is closed');
      assert.equal(await page.locator('tbody tr').count(), 3);
      await screenshot(page, 'manage-keys.png');

      // The page per key, when the dashboard has one: a link from the key's row to
      // /projects/{id}/keys/{key_id}.
      const href = await page
        .locator('tbody tr', { has: page.locator('td:first-child', { hasText: /^web$/ }) })
        .locator('a[href]')
        .evaluateAll((as) => as.map((a) => a.getAttribute('href')).find((h) => /\/keys\/[^/]+$/.test(h)) ?? null);
      if (href) {
        await page.goto(server.base + href);
        assert.ok(!(await page.content()).includes(secrets.web), 'the key page shows no secret');
        await screenshot(page, 'key.png');
      } else {
        console.log('# no page per key yet: docs/screenshots/key.png not taken');
      }
    } finally {
      await context.close();
    }
  });

  test('the roll confirmation, Admin tokens and Users', async () => {
    server.cli(['user', 'create', '--email', 'viewer@example.com', '--role', 'viewer'], { input: 'viewer-password-123\n' });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    try {
      await logIn(page, server.base);
      await page.goto(`${server.base}/projects/${server.projectId}/keys`);
      const row = page.locator('tbody tr', { has: page.locator('td:first-child', { hasText: /^web$/ }) });
      await Promise.all([page.waitForURL(/\/roll$/), row.getByRole('link', { name: 'Roll', exact: true }).click()]);
      assert.equal(await page.inputValue('#grace'), '24h');
      await screenshot(page, 'roll.png');

      await page.goto(`${server.base}/account/tokens`);
      for (const [name, readOnly] of [['laptop', false], ['ci', true]]) {
        await page.fill('#name', name);
        if (readOnly) await page.check('input[name="read_only"]');
        await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Create token', exact: true }).click()]);
        registerSecret((await page.locator('#new-secret').innerText()).trim());
        await Promise.all([page.waitForURL(/\/account\/tokens$/), page.getByRole('link', { name: 'I have copied it' }).click()]);
      }
      assert.equal(await page.locator('#tokens tbody tr').count(), 2);
      await screenshot(page, 'tokens.png');

      await page.goto(`${server.base}/users`);
      assert.equal(await page.locator('#users tbody tr').count(), 2);
      await screenshot(page, 'users.png');
    } finally {
      await context.close();
    }
  });
});
