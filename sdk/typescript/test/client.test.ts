// The TypeScript SDK against the real gateway: health, chat (simulator and mock upstream),
// streaming, compliance, usage, every error type, retries on a real 429 and on 5xx, the
// environment check, and that the key never shows in a message, a string or an inspection.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';

import {
  APIConnectionError,
  APIError,
  APIStreamError,
  AuthenticationError,
  BadRequestError,
  ConfigurationError,
  ConflictError,
  EnvironmentMismatchError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  RegPilot,
  RegPilotError,
  type AIUsage,
  type ClientOptions,
  type ComplianceStatus,
  type DayUsage,
  type HealthStatus,
  type KeyUsageSummary,
  type Message,
  type ModelUsage,
  type RegisteredModel,
  type RegistrySummary,
  type SeverityCounts,
  type Usage,
  type UsageReport,
  type Violation,
} from '@regpilot/sdk';

import { MOCK_COMPLETION, Stack, countingFetch, freePort, type Key } from './harness.js';

const HELLO: Message[] = [{ role: 'user', content: 'Hello' }];
const stack = new Stack();
let projectId = '';
let dev: Key, prod: Key, projectKey: Key, readOnly: Key, freeProject = '';

function client(key: Key, opts: ClientOptions = {}): RegPilot {
  return new RegPilot({ apiKey: key.secret, baseURL: stack.url, ...opts });
}

function assertNoSecret(secret: string, ...things: unknown[]): void {
  for (const t of things) {
    const texts = [String(t), inspect(t, { depth: 5, showHidden: true }), JSON.stringify(t) ?? ''];
    if (t instanceof Error) texts.push(t.message, t.stack ?? '');
    for (const text of texts) assert.ok(!text.includes(secret), `the key leaked into a ${(t as object)?.constructor?.name}`);
  }
}

/**
 * The object's keys are exactly the interface's: `expected` must name every key of T and no
 * other (the compiler checks that), and the gateway must have sent exactly those.
 */
function assertKeys<T>(value: T, expected: Record<keyof T, true>, what: string): void {
  assert.deepEqual(Object.keys(value as object).sort(), Object.keys(expected).sort(), `${what}: the keys the gateway sent`);
}

const HEALTH_KEYS: Record<keyof HealthStatus, true> = {
  status: true, authenticated: true, project_id: true, key_type: true, environment: true,
};
const MODEL_KEYS: Record<keyof RegisteredModel, true> = {
  id: true, project_id: true, name: true, provider: true, version: true, purpose: true, risk_level: true,
  owner: true, status: true, created_at: true, updated_at: true, archived_at: true,
};
const VIOLATION_KEYS: Record<keyof Violation, true> = {
  id: true, project_id: true, title: true, description: true, severity: true, category: true, model_id: true,
  status: true, created_at: true, created_by: true, resolved_at: true, resolved_by: true, resolution_note: true,
};
const STATUS_KEYS: Record<keyof ComplianceStatus, true> = {
  project_id: true, score: true, status: true, open_violations: true, registry: true, formula: true,
};
const COUNTS_KEYS: Record<keyof SeverityCounts, true> = { critical: true, high: true, medium: true, low: true, total: true };
const REGISTRY_KEYS: Record<keyof RegistrySummary, true> = {
  active: true, archived: true, unacceptable: true, high_risk: true, completeness: true,
};
const USAGE_KEYS: Record<keyof UsageReport, true> = {
  project_id: true, period: true, from: true, to: true, requests: true, errors: true, error_rate: true,
  rate_limited: true, avg_latency_ms: true, ai: true, keys: true, days: true,
};
const AI_KEYS: Record<keyof AIUsage, true> = {
  calls: true, prompt_tokens: true, completion_tokens: true, total_tokens: true, cost_cents: true, models: true,
};
const MODEL_USAGE_KEYS: Record<keyof ModelUsage, true> = {
  model: true, provider: true, calls: true, prompt_tokens: true, completion_tokens: true, total_tokens: true,
  cost_cents: true,
};
const KEY_LINE_KEYS: Record<keyof KeyUsageSummary, true> = {
  key_id: true, name: true, prefix: true, type: true, environment: true, status: true, requests: true, errors: true,
  error_rate: true, rate_limited: true, avg_latency_ms: true, last_used_at: true, countries: true, ai: true,
};
const DAY_KEYS: Record<keyof DayUsage, true> = { date: true, requests: true, errors: true, error_rate: true };

async function rejects<T extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${stack.redact(String(e))}`);
    return e as T;
  }
  assert.fail(`expected ${cls.name}, nothing was thrown`);
}

/** A fresh development key of the free project (burst 1/s); its creation used the burst. */
async function freeDevKey(name: string): Promise<Key> {
  const key = await stack.createKey(freeProject, name, { env: 'dev' });
  await new Promise((r) => setTimeout(r, 1100));
  return key;
}

before(async () => {
  for (const v of ['REGPILOT_API_KEY', 'REGPILOT_BASE_URL', 'REGPILOT_ENVIRONMENT']) delete process.env[v];
  await stack.start();
  projectId = stack.createProject('ts-sdk-tests', 'enterprise');
  dev = await stack.createKey(projectId, 'ts dev', { env: 'dev' });
  prod = await stack.createKey(projectId, 'ts prod', { env: 'prod' });
  projectKey = await stack.createKey(projectId, 'ts project', { kind: 'project', env: 'prod' });
  readOnly = await stack.createKey(projectId, 'ts ci', { kind: 'project', env: 'prod', readOnly: true });
  const free = stack.projects().find((p) => p.plan === 'free');
  assert.ok(free, 'no free-plan project after first start');
  freeProject = free.id as string;
});

after(async () => {
  const [gw, mock] = await stack.stop();
  assert.equal(gw, 0, 'gateway exit code after SIGTERM');
  assert.equal(mock, 0, 'mock upstream exit code after SIGTERM');
});

// --- health, chat, streaming ------------------------------------------------------------------

test('health.check with a gateway key', async () => {
  const health = await client(dev).health.check();
  assert.deepEqual(health, {
    status: 'ok', authenticated: true, project_id: projectId, key_type: 'gateway', environment: 'development',
  });
  assertKeys(health, HEALTH_KEYS, 'HealthStatus');
});

test('chat.create is answered by the simulator for a development key', async () => {
  const r = await client(dev, { environment: 'development' }).chat.create({ messages: HELLO });
  assert.ok(r.content.startsWith('Simulated reply'), r.content);
  assert.equal(r.model, 'mock-model');
  assert.equal(r.provider, 'simulator');
  assert.equal(r.testMode, true);
  assert.equal(r.finishReason, 'stop');
  assert.ok(r.usage.promptTokens > 0 && r.usage.completionTokens > 0);
  assert.equal(r.usage.totalTokens, r.usage.promptTokens + r.usage.completionTokens);
  assert.equal(r.usage.costCents, 0);
});

test('chat.create passes maxTokens, quality and mode', async () => {
  const c = client(dev);
  const short = await c.chat.create({ messages: HELLO, maxTokens: 2, temperature: 0.2, quality: 'cheap' });
  assert.equal(short.finishReason, 'length');
  assert.equal(short.model, 'mock-small');
  const json = await c.chat.create({ messages: [{ role: 'user', content: 'a JSON object please' }], mode: 'json' });
  assert.equal(typeof JSON.parse(json.content), 'object');
});

test('chat.create with a production key reaches the upstream', async () => {
  const r = await client(prod, { environment: 'prod' }).chat.create({ messages: HELLO });
  assert.equal(r.content, MOCK_COMPLETION);
  assert.equal(r.provider, 'mock');
  assert.equal(r.testMode, false);
  assert.ok(r.usage.costCents > 0);
});

test('streaming: an async iterable of text chunks, then usage', async () => {
  const c = client(dev);
  const whole = (await c.chat.create({ messages: HELLO })).content;
  const stream = await c.chat.create({ messages: HELLO, stream: true });
  assert.equal(stream.usage, undefined);
  const chunks: string[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.ok(chunks.length > 1 && chunks.every((x) => typeof x === 'string'));
  assert.equal(chunks.join(''), whole); // the simulator is deterministic
  assert.equal(stream.content, whole);
  const usage = stream.usage as Usage | undefined; // set by the final usage event
  assert.ok(usage && usage.totalTokens > 0 && usage.costCents === 0);
  assert.equal(stream.provider, 'simulator');
  assert.equal(stream.finishReason, 'stop');
  assert.equal(stream.testMode, true);
  assert.equal(stream.done, true);
});

test('streaming through the upstream', async () => {
  const stream = await client(prod).chat.create({ messages: HELLO, stream: true });
  assert.equal(await stream.text(), MOCK_COMPLETION);
  assert.equal(stream.provider, 'mock');
  assert.ok(stream.usage && stream.usage.costCents > 0);
});

test('an error event in the stream throws APIStreamError', async () => {
  const stream = await client(prod).chat.create({ messages: HELLO, model: 'mock-garbage', stream: true });
  const e = await rejects(stream.text(), APIStreamError);
  assert.ok(e instanceof APIError && e.code, String(e));
  assertNoSecret(prod.secret, e);
});

// --- compliance and usage --------------------------------------------------------------------

test('compliance resources with a project key', async () => {
  const pid = stack.createProject('ts compliance', 'enterprise');
  const key = await stack.createKey(pid, 'compliance', { kind: 'project', env: 'prod' });
  const c = client(key).compliance;
  const first = await c.status();
  assert.equal(first.score, 100);
  assertKeys(first, STATUS_KEYS, 'ComplianceStatus');
  assertKeys(first.open_violations, COUNTS_KEYS, 'SeverityCounts');
  assertKeys(first.registry, REGISTRY_KEYS, 'RegistrySummary');
  assert.equal(first.registry.completeness, 1);

  const model = await c.models.register({ name: 'Support bot', risk_level: 'high', provider: 'openai' });
  assert.equal(model.status, 'active');
  assertKeys(model, MODEL_KEYS, 'RegisteredModel');
  assert.deepEqual(await c.models.get(model.id), model);
  const updated = await c.models.update(model.id, { version: '2024-08', purpose: 'support', owner: 'ops' });
  assert.deepEqual([updated.version, updated.purpose, updated.owner], ['2024-08', 'support', 'ops']);
  assert.deepEqual((await c.models.list()).map((m) => m.id), [model.id]);

  const high = await c.violations.create({ title: 'PII in a prompt', severity: 'high', model_id: model.id });
  const medium = await c.violations.create({ description: 'No human review\nmore', severity: 'medium' });
  assert.equal(high.status, 'open');
  assertKeys(high, VIOLATION_KEYS, 'Violation');
  assert.equal(medium.title, 'No human review');
  assert.deepEqual(new Set((await c.violations.list()).map((v) => v.id)), new Set([high.id, medium.id]));
  assert.deepEqual((await c.violations.list({ severity: 'high' })).map((v) => v.id), [high.id]);
  const status = await c.status();
  assert.equal(status.score, 90); // V = 85, R = 100: round(59.5 + 30)
  assert.equal(status.open_violations.high, 1);

  const bad = await rejects(c.violations.update(high.id, { status: 'resolved' }), BadRequestError);
  assert.equal(bad.field, 'note');
  assert.equal(bad.code, 'INVALID_REQUEST');
  const resolved = await c.violations.resolve(high.id, 'prompt scrubbed');
  assert.equal(resolved.status, 'resolved');
  assert.equal(resolved.resolution_note, 'prompt scrubbed');
  assert.deepEqual((await c.violations.list({ status: 'open' })).map((v) => v.id), [medium.id]);
  assert.equal((await c.violations.reopen(high.id)).status, 'open');

  assert.equal((await c.models.archive(model.id)).status, 'archived');
  assert.deepEqual(await c.models.list(), []);
  assert.deepEqual((await c.models.list({ status: 'archived' })).map((m) => m.id), [model.id]);
  assert.equal((await rejects(c.models.update(model.id, { owner: 'x' }), ConflictError)).status, 409);
  assert.equal((await rejects(c.models.get('mdl_doesnotexist'), NotFoundError)).status, 404);
});

test('a read-only project key reads but cannot write', async () => {
  const c = client(readOnly);
  assert.ok(Array.isArray(await c.compliance.violations.list()));
  const e = await rejects(c.compliance.violations.create({ title: 'x', severity: 'low' }), PermissionDeniedError);
  assert.equal(e.status, 403);
  assert.equal(e.code, 'INSUFFICIENT_PERMISSIONS');
  assert.equal(e.required, 'compliance:write');
});

test('usage.get', async () => {
  const c = client(dev);
  await c.chat.create({ messages: HELLO });
  // Usage reaches the store within a second (the recorder's flush): wait for the AI call.
  let report = await c.usage.get({ period: 'week' });
  for (const deadline = Date.now() + 5000; report.ai.calls < 1 && Date.now() < deadline;) {
    await new Promise((r) => setTimeout(r, 200));
    report = await c.usage.get({ period: 'week' });
  }
  assert.equal(report.project_id, projectId);
  assert.equal(report.period, 'week');
  assert.ok(report.requests >= 1 && Array.isArray(report.keys) && report.days.length === 7);
  assertKeys(report, USAGE_KEYS, 'UsageReport');
  assertKeys(report.ai, AI_KEYS, 'AIUsage');
  assert.ok(report.ai.calls >= 1 && report.ai.models.some((m) => m.provider === 'simulator'));
  for (const m of report.ai.models) assertKeys(m, MODEL_USAGE_KEYS, 'ModelUsage');
  for (const d of report.days) assertKeys(d, DAY_KEYS, 'DayUsage');
  const line = report.keys.find((k) => k.key_id === dev.id);
  assert.ok(line, 'the dev key has a line');
  assertKeys(line, KEY_LINE_KEYS, 'KeyUsageSummary');
  assertKeys(line.ai, AI_KEYS, 'AIUsage of a key');
  assert.equal(line.type, 'gateway');
  assert.equal(line.environment, 'development');
  assert.ok(line.requests >= 1 && line.prefix.startsWith('sk_dev_'));
  assert.equal((await c.usage.get('month')).period, 'month');
  const e = await rejects(c.usage.get({ period: 'year' as 'day' }), BadRequestError);
  assert.equal(e.field, 'period');
});

// --- errors ----------------------------------------------------------------------------------

test('AuthenticationError for a key that is not valid', async () => {
  const bogus = 'sk_dev_' + 'A'.repeat(38);
  const c = new RegPilot({ apiKey: bogus, baseURL: stack.url });
  const e = await rejects(c.health.check(), AuthenticationError);
  assert.equal(e.status, 401);
  assert.equal(e.code, 'INVALID_API_KEY');
  assert.equal(e.error, 'Invalid or inactive API key');
  assertNoSecret(bogus, e, c);
});

test('AuthenticationError for a deactivated key', async () => {
  const key = await stack.createKey(projectId, 'ts to deactivate', { env: 'dev' });
  stack.deactivateKey(key);
  const c = client(key, { maxRetries: 0 });
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      await c.health.check();
    } catch (e) {
      assert.ok(e instanceof AuthenticationError && e.code === 'INVALID_API_KEY');
      assertNoSecret(key.secret, e);
      break;
    }
    assert.ok(Date.now() < deadline, 'the deactivated key is still accepted');
    await new Promise((r) => setTimeout(r, 200));
  }
});

test('PermissionDeniedError for the wrong key type', async () => {
  const chat = await rejects(client(projectKey).chat.create({ messages: HELLO }), PermissionDeniedError);
  assert.equal(chat.required, 'chat');
  assert.equal(chat.code, 'INSUFFICIENT_PERMISSIONS');
  const comp = await rejects(client(dev).compliance.violations.list(), PermissionDeniedError);
  assert.equal(comp.required, 'compliance:read');
  assertNoSecret(projectKey.secret, chat);
});

test('BadRequestError names the field', async () => {
  const e = await rejects(client(dev).chat.create({ messages: HELLO, temperature: 5 }), BadRequestError);
  assert.equal(e.status, 400);
  assert.equal(e.field, 'temperature');
});

test('RateLimitError when retries are off', async () => {
  const key = await freeDevKey('ts free no retry');
  const counter = countingFetch();
  const c = client(key, { maxRetries: 0, fetch: counter.fetch });
  await c.health.check();
  const e = await rejects(c.health.check(), RateLimitError);
  assert.equal(e.status, 429);
  assert.equal(e.code, 'RATE_LIMIT_EXCEEDED');
  assert.equal(e.limit, 'burst');
  assert.equal(e.retryAfter, 1);
  assert.equal(e.headers['retry-after'], '1');
  assert.deepEqual(counter.statuses, [200, 429]);
  assertNoSecret(key.secret, e);
});

test('a real 429 is retried after Retry-After', async () => {
  const key = await freeDevKey('ts free retry');
  const counter = countingFetch();
  const c = client(key, { maxRetries: 2, fetch: counter.fetch });
  await c.chat.create({ messages: HELLO });
  const started = Date.now();
  const r = await c.chat.create({ messages: HELLO }); // refused at once (burst 1/s), then retried
  const elapsed = Date.now() - started;
  assert.ok(r.content.startsWith('Simulated reply'));
  assert.equal(counter.statuses[0], 200);
  assert.equal(counter.statuses[1], 429);
  assert.equal(counter.statuses.at(-1), 200);
  assert.ok(counter.statuses.length >= 3);
  assert.ok(elapsed >= 950, `retried after ${elapsed} ms, before Retry-After: 1`);
});

test('5xx is retried up to maxRetries', async () => {
  const counter = countingFetch();
  const c = client(prod, { maxRetries: 2, fetch: counter.fetch });
  const e = await rejects(c.chat.create({ messages: HELLO, model: 'mock-status-500' }), InternalServerError);
  assert.equal(e.status, 502);
  assert.equal(e.code, 'UPSTREAM_ERROR');
  assert.deepEqual(counter.statuses, [502, 502, 502]);
  assertNoSecret(prod.secret, e);
});

test('APIConnectionError after the retries', async () => {
  const key = 'sk_dev_' + 'B'.repeat(38);
  let calls = 0;
  const c = new RegPilot({
    apiKey: key, baseURL: `http://127.0.0.1:${await freePort()}`, maxRetries: 1,
    fetch: (input, init) => { calls++; return fetch(input, init); },
  });
  const e = await rejects(c.health.check(), APIConnectionError);
  assert.equal(calls, 2);
  assertNoSecret(key, e, c);
});

// --- construction ----------------------------------------------------------------------------

test('an environment mismatch is refused before any request', () => {
  let calls = 0;
  const f: typeof fetch = (input, init) => { calls++; return fetch(input, init); };
  assert.throws(() => new RegPilot({ apiKey: prod.secret, baseURL: stack.url, environment: 'development', fetch: f }), (e: unknown) => {
    assert.ok(e instanceof EnvironmentMismatchError && e instanceof ConfigurationError && e instanceof RegPilotError);
    assert.equal(e.keyEnvironment, 'production');
    assert.equal(e.environment, 'development');
    assert.match(e.message, /production key \(sk_prod_…\)/);
    assertNoSecret(prod.secret, e);
    return true;
  });
  assert.equal(calls, 0);
  process.env.REGPILOT_ENVIRONMENT = 'prod';
  try {
    assert.throws(() => new RegPilot({ apiKey: dev.secret }), EnvironmentMismatchError);
    assert.equal(new RegPilot({ apiKey: prod.secret }).environment, 'production');
  } finally {
    delete process.env.REGPILOT_ENVIRONMENT;
  }
  assert.equal(new RegPilot({ apiKey: dev.secret, environment: 'dev' }).environment, 'development');
  assert.equal(new RegPilot({ apiKey: dev.secret }).environment, 'development');
  assert.throws(() => new RegPilot({ apiKey: dev.secret, environment: 'prodution' }), /Unknown environment/);
});

test('a missing key fails at construction', () => {
  assert.throws(() => new RegPilot(), (e: unknown) => e instanceof ConfigurationError && /REGPILOT_API_KEY/.test(e.message));
  assert.throws(() => new RegPilot({ apiKey: '  ' }), ConfigurationError);
  assert.throws(() => new RegPilot({ apiKey: undefined }), ConfigurationError);
});

test('environment variables are the fallbacks', async () => {
  assert.equal(new RegPilot({ apiKey: dev.secret }).baseURL, 'http://127.0.0.1:8080');
  Object.assign(process.env, { REGPILOT_API_KEY: dev.secret, REGPILOT_BASE_URL: stack.url + '/', REGPILOT_ENVIRONMENT: 'development' });
  try {
    const c = new RegPilot();
    assert.equal(c.baseURL, stack.url);
    assert.equal(c.environment, 'development');
    assert.equal((await c.health.check()).project_id, projectId);
  } finally {
    for (const v of ['REGPILOT_API_KEY', 'REGPILOT_BASE_URL', 'REGPILOT_ENVIRONMENT']) delete process.env[v];
  }
});

test('the key never shows in a string, an inspection or JSON', async () => {
  const c = client(dev);
  const r = await c.chat.create({ messages: HELLO });
  const s = await c.chat.create({ messages: HELLO, stream: true });
  await s.text();
  assertNoSecret(dev.secret, c, c.chat, c.compliance, c.usage, r, s, await c.health.check());
  assert.match(String(c), /sk_dev_…/);
});

test('the CommonJS build works with require()', async () => {
  const require = createRequire(import.meta.url);
  const cjs = require('@regpilot/sdk') as typeof import('@regpilot/sdk');
  assert.notEqual(cjs.RegPilot, RegPilot, 'require() should load dist/cjs, not the ESM build');
  const health = await new cjs.RegPilot({ apiKey: dev.secret, baseURL: stack.url }).health.check();
  assert.equal(health.authenticated, true);
  const e = await rejects(new cjs.RegPilot({ apiKey: 'sk_dev_' + 'C'.repeat(38), baseURL: stack.url }).health.check(), cjs.AuthenticationError);
  assert.equal(e.code, 'INVALID_API_KEY');
});
