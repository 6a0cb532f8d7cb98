// The first start of an empty store (the bootstrap admin with a generated one-time password) in
// headless Chromium: the login leads to Change password, no other page opens until the password
// is changed, and afterwards only the new password logs in. One server for this file.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Server, launchBrowser, stopChecked } from './harness.mjs';

let server;
let browser;

const pathOf = (p) => new URL(p.url()).pathname;

async function submitLogin(page, email, password) {
  await page.goto(`${server.base}/login`);
  await page.fill('#email', email);
  await page.fill('#password', password);
  const [resp] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
    page.getByRole('button', { name: 'Log in', exact: true }).click(),
  ]);
  await page.waitForLoadState('load');
  return resp.status();
}

describe('first login of the bootstrap admin', () => {
  before(async () => {
    server = await Server.start({ bootstrap: true });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    if (server) {
      await stopChecked(server);
      // The one-time password is printed once on stdout, and never through the logger.
      assert.ok(!server.stderr.includes(server.adminPassword), 'the one-time password is in the server log');
    }
  });

  test('the one-time password must be changed before anything else, then only the new one works', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const newPassword = 'my-own-admin-password-42';
    try {
      assert.equal(await submitLogin(page, server.adminEmail, server.adminPassword), 303);
      assert.equal(pathOf(page), '/account/password', 'the login leads to Change password');
      assert.equal(await page.locator('main h1').innerText(), 'Change password');
      assert.match(await page.locator('main .notice').innerText(), /generated password/);

      // Every other page sends the user back here.
      for (const p of ['/', `/projects/${server.projectId}`, `/projects/${server.projectId}/keys`]) {
        await page.goto(server.base + p);
        assert.equal(pathOf(page), '/account/password', `${p} is closed until the password changes`);
      }

      // Two different new passwords: refused next to the confirmation field.
      await page.fill('#current_password', server.adminPassword);
      await page.fill('#new_password', newPassword);
      await page.fill('#confirm_password', `${newPassword}-typo`);
      await page.getByRole('button', { name: 'Change password', exact: true }).click();
      await page.waitForLoadState('load');
      assert.match(await page.locator('#confirm_password-error').innerText(), /differ/);

      // A wrong current password: refused.
      await page.fill('#current_password', 'not-the-current-one');
      await page.fill('#new_password', newPassword);
      await page.fill('#confirm_password', newPassword);
      await page.getByRole('button', { name: 'Change password', exact: true }).click();
      await page.waitForLoadState('load');
      assert.equal(pathOf(page), '/account/password');
      assert.ok((await page.locator('main .error[role="alert"]').count()) > 0, 'an error is shown');

      // The real change opens the dashboard.
      await page.fill('#current_password', server.adminPassword);
      await page.fill('#new_password', newPassword);
      await page.fill('#confirm_password', newPassword);
      await Promise.all([page.waitForURL(`${server.base}/`), page.getByRole('button', { name: 'Change password', exact: true }).click()]);
      assert.equal(await page.locator('main h1').innerText(), 'Projects');
      assert.equal(await page.getByRole('link', { name: 'Default', exact: true }).count(), 1, 'the bootstrap project is listed');
      await page.goto(`${server.base}/projects/${server.projectId}/keys`);
      assert.equal(await page.locator('main h1').innerText(), 'Manage Keys');

      // Log out; the one-time password no longer works, the new one does.
      await Promise.all([page.waitForURL(`${server.base}/login`), page.getByRole('button', { name: 'Log out', exact: true }).click()]);
      assert.equal(await submitLogin(page, server.adminEmail, server.adminPassword), 401);
      assert.equal(pathOf(page), '/login');
      assert.equal(await submitLogin(page, server.adminEmail, newPassword), 303);
      assert.equal(pathOf(page), '/', 'no second detour through Change password');
    } finally {
      await context.close();
    }
  });
});
