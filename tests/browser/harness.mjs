// Starts the real `regpilot` binary for the browser tests, drives its CLI, and launches
// headless Chromium (the system's /usr/bin/chromium, through playwright-core).
//
// Nothing here builds anything: the binary must already be in target/debug (scripts/
// test-browser.sh builds it), in $CARGO_TARGET_DIR/debug, or in the folder named by
// REGPILOT_BIN_DIR.
//
// Secrets: every key secret read from a page is registered with `registerSecret`, and
// `redact` cuts them (and anything shaped like one) out of assertion messages and logs.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN_DIR =
  process.env.REGPILOT_BIN_DIR ||
  path.join(process.env.CARGO_TARGET_DIR ? path.resolve(REPO, process.env.CARGO_TARGET_DIR) : path.join(REPO, 'target'), 'debug');
export const REGPILOT = path.join(BIN_DIR, 'regpilot');
export const CHROMIUM = process.env.REGPILOT_CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO, 'docs', 'screenshots');
export const SCREENSHOTS = process.env.SCREENSHOTS === '1';

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'browser-test-password-1';
// What the login helper sets when the dashboard asks for a new password at first login.
export const CHANGED_PASSWORD = 'browser-test-password-2';

const secrets = new Set();

export function registerSecret(secret) {
  if (secret) secrets.add(secret);
}

const SECRET_SHAPE = /\b((?:sk|pk)_(?:dev|stg|prod)_)[A-Za-z0-9_-]{8,}/g;

/** `text` with every registered secret, and anything shaped like one, cut to its prefix. */
export function redact(text) {
  let out = String(text);
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted secret]');
  return out.replace(SECRET_SHAPE, '$1…[redacted]');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Calls `check` until it returns something truthy; throws after `timeoutMs`. */
export async function waitUntil(what, check, { timeoutMs = 10_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(redact(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`));
    await sleep(intervalMs);
  }
}

/** The environment for the binary: ours, without any REGPILOT_* setting of the caller's. */
function childEnv(dataDir) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGPILOT_')) env[k] = v;
  env.REGPILOT_DATA_DIR = dataDir;
  env.RUST_LOG = env.RUST_LOG || 'info';
  env.NO_COLOR = '1';
  return env;
}

export class Server {
  /**
   * A fresh data directory; a project "My App" (plan pro: a development key may make 10
   * requests a second, enough for the polling here) and the admin user made with the CLI (so the
   * first start bootstraps nothing and the data is the same every run); then `regpilot serve
   * --listen 127.0.0.1:0`, waiting for its `listening on http://…` line.
   */
  static async start({ projectName = 'My App', plan = 'pro', bootstrap = false } = {}) {
    if (!existsSync(REGPILOT)) {
      throw new Error(`${REGPILOT} is missing: build it first (cargo build -p regpilot --bins), or set REGPILOT_BIN_DIR`);
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'regpilot-browser-'));
    const server = new Server(dir);
    if (bootstrap) {
      // An empty store: the first start makes the project "Default" and the admin, and prints
      // them (`--json`: {"bootstrap":{"project_id","admin_email","admin_password"}}).
      await server.#spawn(['--json']);
      const line = await waitUntil('the bootstrap line on stdout', () =>
        server.stdout.split('\n').find((l) => l.includes('"bootstrap"') && l.trim().endsWith('}')),
      );
      const b = JSON.parse(line).bootstrap;
      registerSecret(b.admin_password);
      Object.assign(server, { projectId: b.project_id, adminEmail: b.admin_email, adminPassword: b.admin_password });
      return server;
    }
    const project = server.cliJson(['project', 'create', '--name', projectName, '--plan', plan]);
    server.projectId = project.id;
    server.cli(['user', 'create', '--email', ADMIN_EMAIL], { input: `${ADMIN_PASSWORD}\n` });
    await server.#spawn();
    return server;
  }

  constructor(dir) {
    this.dir = dir;
    this.env = childEnv(path.join(dir, 'data'));
    this.base = '';
    this.projectId = '';
    this.adminEmail = ADMIN_EMAIL;
    this.adminPassword = ADMIN_PASSWORD;
    this.proc = null;
    this.stderr = '';
    this.stdout = '';
  }

  /** Runs the CLI; throws with its output when it fails. */
  cli(args, { input } = {}) {
    const r = spawnSync(REGPILOT, args, { cwd: this.dir, env: this.env, input: input ?? '', encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      throw new Error(redact(`regpilot ${args.join(' ')} exited with ${r.status ?? r.signal}:\n${r.stdout}\n${r.stderr}`));
    }
    return r.stdout;
  }

  cliJson(args, opts) {
    const out = this.cli(['--json', ...args], opts);
    return JSON.parse(out.trim().split('\n').pop());
  }

  async #spawn(global = []) {
    this.proc = spawn(REGPILOT, [...global, 'serve', '--listen', '127.0.0.1:0'], {
      cwd: this.dir,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc.stdout.setEncoding('utf8').on('data', (d) => (this.stdout += d));
    this.proc.stderr.setEncoding('utf8').on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let exit = null;
    this.exited.then((e) => (exit = e));
    this.base = await waitUntil(
      "the server's 'listening on' line",
      () => {
        if (exit) throw new Error(`regpilot serve exited (${JSON.stringify(exit)}):\n${redact(this.logs())}`);
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(this.stderr);
        return m && m[1];
      },
      { timeoutMs: 60_000 },
    );
  }

  logs() {
    return `${this.stdout}\n${this.stderr}`;
  }

  /** SIGTERM, then the exit; SIGKILL after 20 s. Returns { code, signal }. */
  async stop() {
    if (!this.proc) return { code: 0, signal: null };
    const proc = this.proc;
    this.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  async cleanup() {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** GET /api/health with `secret` in X-API-Key: { status, body }. */
  async health(secret) {
    const r = await fetch(`${this.base}/api/health`, { headers: { 'X-API-Key': secret } });
    const text = await r.text();
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: r.status, body };
  }
}

/** Stops `server` (SIGTERM), removes its folder, checks it exited 0; returns its logs. */
export async function stopChecked(server) {
  const exit = await server.stop();
  const logs = server.logs();
  await server.cleanup();
  assert.deepEqual(exit, { code: 0, signal: null }, `regpilot serve stopped badly:\n${redact(logs)}`);
  return logs;
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package 'chromium'`);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/**
 * Logs in through the form at /login. When the dashboard asks for a new password first
 * (/account/password, for users that must change theirs), fills current / new / confirm and
 * sends it, then logs in again if that ends the session. Returns the password now in force.
 */
export async function logIn(page, base, email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
  await page.goto(`${base}/login`);
  await page.fill('input[name="email"]', email);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForLoadState('load'), page.locator('main form button[type="submit"]').click()]);
  await page.waitForLoadState('load');
  if (new URL(page.url()).pathname.startsWith('/account/password')) {
    const fields = page.locator('main form input[type="password"]');
    const n = await fields.count();
    const values = n >= 3 ? [password, CHANGED_PASSWORD, CHANGED_PASSWORD] : [CHANGED_PASSWORD, CHANGED_PASSWORD];
    for (let i = 0; i < Math.min(n, values.length); i++) await fields.nth(i).fill(values[i]);
    await Promise.all([page.waitForLoadState('load'), page.locator('main form button[type="submit"]').first().click()]);
    await page.waitForLoadState('load');
    if (new URL(page.url()).pathname.startsWith('/account/password')) {
      throw new Error(`the password change was refused: ${await page.locator('main').innerText()}`);
    }
    password = CHANGED_PASSWORD;
    if (new URL(page.url()).pathname === '/login') return logIn(page, base, email, password);
  }
  const path_ = new URL(page.url()).pathname;
  if (path_ === '/login') throw new Error(`login failed: ${await page.locator('main').innerText()}`);
  return password;
}

/** The HTML of `url` fetched with the browser context's cookies (no navigation). */
export async function pageHtml(context, url) {
  const r = await context.request.get(url, { maxRedirects: 0 });
  return { status: r.status(), text: await r.text() };
}

export async function screenshot(page, name) {
  if (!SCREENSHOTS) return;
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, name), fullPage: true, animations: 'disabled' });
}

export { readFile };
