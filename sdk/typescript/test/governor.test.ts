// The Governor in the TypeScript SDK: `governorMetadata` on chat, the result on the answer and on
// the stream, GovernorBlockedError, and the policies and audits resources. A fetch passed to the
// client answers with the gateway's documented shapes (docs/governor.md) and records each call,
// so the requests sent and the objects returned are checked offline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inspect } from 'node:util';

import {
  APIError,
  APIStreamError,
  BadRequestError,
  GovernorBlockedError,
  RegPilot,
  RegPilotError,
  type GovernorAudit,
  type GovernorAuditPage,
  type GovernorMetadata,
  type GovernorResult,
  type Message,
  type Policy,
} from '@regpilot/sdk';

const KEY = 'sk_prod_' + 'Gv7'.repeat(12) + 'Zq'; // the shape of a key; the fake does not check it
const BASE = 'http://gateway.test';
const HELLO: Message[] = [{ role: 'user', content: 'Can I get a refund?' }];
const METADATA: GovernorMetadata = {
  actionType: 'refund_denial', senderId: 'support-bot', recipientCountry: 'DE', recipientUserId: 'user-42',
  contextTags: ['refund', 'complaint'],
};
const GOVERNOR: GovernorResult = {
  validated: true, riskScore: 64, riskLevel: 'medium', action: 'sanitized', auditId: 'gva_8KQ2mZ', mode: 'sanitize',
  recipientCountry: 'DE', violations: 2,
  findings: [
    { rule: 'pii.email', category: 'personal_data', severity: 'medium', start: 10, end: 27, shadow: false },
    { rule: 'duty.eu.human_review', category: 'duty', severity: 'high', start: 0, end: 0, shadow: false },
    { rule: 'policy.pol_7', category: 'policy', severity: 'low', start: 30, end: 36, shadow: true },
  ],
};
const SANITIZED = 'Write to [EMAIL] to contest this decision. A person will review it.';
const USAGE = { promptTokens: 12, completionTokens: 14, totalTokens: 26, costCents: 0.03 };
const POLICY: Policy = {
  id: 'pol_7', project_id: 'proj_1', name: 'No guarantees', keywords: ['guaranteed', 'risk-free'], pattern: null,
  applies_to: 'response', action: 'replace', severity: 'high', replacement: '[removed]', appendix: null,
  enabled: true, shadow: false, version: 1, created_at: '2026-12-04T20:00:00Z', updated_at: '2026-12-04T20:00:00Z',
};
const AUDIT: GovernorAudit = {
  id: 'gva_8KQ2mZ', project_id: 'proj_1', key_id: 'key_9', created_at: '2026-12-04T20:01:02Z', target: 'response',
  action_type: 'refund_denial', sender_id: 'support-bot', recipient_country: 'DE', risk_score: 82,
  risk_level: 'high', action: 'blocked', mode: 'block',
  findings: [{ rule: 'pii.card', category: 'personal_data', severity: 'critical', start: 4, end: 23, shadow: false }],
  original_sha256: 'a'.repeat(64), delivered_sha256: 'b'.repeat(64), violation_id: 'vio_3',
};

interface Call {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}
type Route = (call: Call) => Response;

/** A fetch answering by `METHOD /path`, recording every call. */
function fakeGateway(routes: Record<string, Route>) {
  const calls: Call[] = [];
  const f: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const text = typeof init?.body === 'string' ? init.body : undefined;
    const call: Call = {
      method: init?.method ?? 'GET', url, headers: new Headers(init?.headers), body: text ? JSON.parse(text) : undefined,
    };
    calls.push(call);
    const route = routes[`${call.method} ${url.pathname}`];
    return route ? route(call) : json(404, { error: 'Not found', code: 'NOT_FOUND' });
  };
  return { calls, client: (opts: { maxRetries?: number } = {}) => new RegPilot({ apiKey: KEY, baseURL: BASE, fetch: f, ...opts }) };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

function completion(governor: unknown, headers: Record<string, string> = {}, text = SANITIZED): Route {
  return () =>
    json(200, {
      text, model: 'mock-model', provider: 'mock', usage: USAGE, finishReason: 'stop', cacheHit: false,
      ...(governor === undefined ? {} : { governor }),
    }, headers);
}

function governorHeaders(g: GovernorResult): Record<string, string> {
  return {
    'x-governor-validated': 'true', 'x-governor-risk-score': String(g.riskScore), 'x-governor-risk-level': g.riskLevel,
    'x-governor-violations': String(g.violations), 'x-governor-audit-id': g.auditId ?? '', 'x-governor-action': g.action,
  };
}

function sse(...events: unknown[]): Route {
  const text = events.map((e) => `data: ${e === '[DONE]' ? e : JSON.stringify(e)}\n\n`).join('');
  return () => new Response(text, { status: 200, headers: { 'content-type': 'text/event-stream', 'x-regpilot-provider': 'mock' } });
}

const BLOCKED_GOVERNOR: GovernorResult = { ...GOVERNOR, riskScore: 88, riskLevel: 'high', action: 'blocked', mode: 'block' };
const blocked: Route = () =>
  json(422, {
    error: 'The Governor withheld this answer (risk 88, high): pii.card, secret.regpilot_key',
    code: 'GOVERNOR_BLOCKED', rules: ['pii.card', 'secret.regpilot_key'], governor: BLOCKED_GOVERNOR,
  }, governorHeaders(BLOCKED_GOVERNOR));

async function rejects<T extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    return e as T;
  }
  assert.fail(`expected ${cls.name}, nothing was thrown`);
}

// --- chat ------------------------------------------------------------------------------------------

test('governorMetadata is sent as given and the result is on the answer', async () => {
  const gw = fakeGateway({ 'POST /api/ai/complete': completion({ ...GOVERNOR, engineVersion: '2026.12' }, governorHeaders(GOVERNOR)) });
  const r = await gw.client().chat.create({ messages: HELLO, governorMetadata: METADATA });
  assert.deepEqual((gw.calls[0]?.body as Record<string, unknown>).governorMetadata, METADATA);
  assert.equal(r.content, SANITIZED);
  const g = r.governor;
  assert.ok(g);
  assert.deepEqual(
    [g.validated, g.riskScore, g.riskLevel, g.action, g.auditId, g.mode, g.recipientCountry, g.violations],
    [true, 64, 'medium', 'sanitized', 'gva_8KQ2mZ', 'sanitize', 'DE', 2],
  );
  assert.deepEqual(g.findings, GOVERNOR.findings);
  assert.equal(g.findings[2]?.shadow, true);
  // A field this version does not know passes through.
  assert.equal((g as unknown as Record<string, unknown>).engineVersion, '2026.12');
});

test('no governorMetadata, no governor', async () => {
  const gw = fakeGateway({ 'POST /api/ai/complete': completion(undefined, {}, 'Hello!') });
  const r = await gw.client().chat.create({ messages: HELLO });
  assert.equal('governorMetadata' in (gw.calls[0]?.body as object), false);
  assert.equal(r.governor, undefined);
});

test('the result from the x-governor-* headers when the body has none', async () => {
  const gw = fakeGateway({ 'POST /api/ai/complete': completion(undefined, governorHeaders(GOVERNOR)) });
  const g = (await gw.client().chat.create({ messages: HELLO, governorMetadata: METADATA })).governor;
  assert.deepEqual(g, {
    validated: true, riskScore: 64, riskLevel: 'medium', action: 'sanitized', auditId: 'gva_8KQ2mZ', violations: 2,
    findings: [],
  });
});

test('the stream exposes the governor event once consumed', async () => {
  const gw = fakeGateway({
    'POST /api/ai/chat': sse(
      { type: 'chunk', content: 'Write to [EMAIL] ' }, { type: 'chunk', content: 'to contest this decision.' },
      { type: 'governor', ...GOVERNOR },
      { type: 'usage', usage: USAGE, model: 'mock-model', provider: 'mock', finishReason: 'stop' },
      '[DONE]',
    ),
  });
  const stream = await gw.client().chat.create({ messages: HELLO, stream: true, governorMetadata: METADATA });
  assert.equal(stream.governor, undefined);
  const chunks: string[] = [];
  for await (const c of stream) chunks.push(c);
  assert.deepEqual(chunks, ['Write to [EMAIL] ', 'to contest this decision.']);
  assert.deepEqual(stream.governor, GOVERNOR); // the event's `type` is not part of the result
  assert.equal(stream.usage?.totalTokens, 26);
  assert.deepEqual((gw.calls[0]?.body as Record<string, unknown>).governorMetadata, METADATA);
  assert.equal(gw.calls[0]?.headers.get('accept'), 'text/event-stream');
});

test('a stream without governorMetadata has no governor', async () => {
  const gw = fakeGateway({ 'POST /api/ai/chat': sse({ type: 'chunk', content: 'Hi' }, { type: 'usage', usage: USAGE }, '[DONE]') });
  const stream = await gw.client().chat.create({ messages: HELLO, stream: true });
  assert.equal(await stream.text(), 'Hi');
  assert.equal(stream.governor, undefined);
});

test('a blocked answer throws GovernorBlockedError, not retried', async () => {
  const gw = fakeGateway({ 'POST /api/ai/complete': blocked });
  const e = await rejects(gw.client({ maxRetries: 2 }).chat.create({ messages: HELLO, governorMetadata: METADATA }), GovernorBlockedError);
  assert.ok(e instanceof APIError && e instanceof RegPilotError);
  assert.equal(e.name, 'GovernorBlockedError');
  assert.equal(e.status, 422);
  assert.equal(e.code, 'GOVERNOR_BLOCKED');
  assert.match(e.error, /withheld/);
  assert.deepEqual(e.rules, ['pii.card', 'secret.regpilot_key']);
  assert.deepEqual(e.governor, BLOCKED_GOVERNOR);
  assert.equal(e.headers['x-governor-action'], 'blocked');
  assert.equal(gw.calls.length, 1, 'a 422 is final');
  for (const text of [String(e), e.message, e.stack ?? '', inspect(e, { depth: 5 })]) assert.ok(!text.includes(KEY));
});

test('a GovernorBlockedError without details has empty rules', async () => {
  const gw = fakeGateway({ 'POST /api/ai/complete': () => json(422, { error: 'Withheld', code: 'GOVERNOR_BLOCKED' }) });
  const e = await rejects(gw.client().chat.create({ messages: HELLO, governorMetadata: METADATA }), GovernorBlockedError);
  assert.deepEqual(e.rules, []);
  assert.equal(e.governor, undefined);
});

test('a stream ending in a GOVERNOR_BLOCKED event throws GovernorBlockedError', async () => {
  const gw = fakeGateway({
    'POST /api/ai/chat': sse({
      type: 'error', error: 'The Governor withheld the rest of this answer', code: 'GOVERNOR_BLOCKED', rules: ['pii.card'],
      governor: { ...BLOCKED_GOVERNOR, riskScore: 90 },
    }),
  });
  const stream = await gw.client().chat.create({ messages: HELLO, stream: true, governorMetadata: METADATA });
  const e = await rejects(stream.text(), GovernorBlockedError);
  assert.deepEqual(e.rules, ['pii.card']);
  assert.equal(e.governor?.riskScore, 90);
  assert.ok(!(e instanceof APIStreamError));
});

test('a withheld stream takes rules and result from the governor event', async () => {
  // As the gateway sends it (docs/governor.md, "Answers"): the governor event, then an error event
  // naming neither; shadow findings are not among the rules.
  const gw = fakeGateway({
    'POST /api/ai/chat': sse(
      { type: 'chunk', content: 'Mail ' },
      { ...BLOCKED_GOVERNOR, type: 'governor' },
      { type: 'error', error: 'The answer was cut', code: 'GOVERNOR_BLOCKED' },
    ),
  });
  const stream = await gw.client().chat.create({ messages: HELLO, stream: true, governorMetadata: METADATA });
  const e = await rejects(stream.text(), GovernorBlockedError);
  const expected = [...new Set(BLOCKED_GOVERNOR.findings.filter((f) => !f.shadow).map((f) => f.rule))];
  assert.deepEqual(e.rules, expected);
  assert.ok(expected.length > 0);
  assert.equal(e.governor?.auditId, BLOCKED_GOVERNOR.auditId);
  assert.equal(stream.governor?.action, BLOCKED_GOVERNOR.action);
});

test('governorSettings: get and update', async () => {
  const settings = {
    project_id: 'proj_1', available: true, enabled: true, mode: 'sanitize', check_prompts: false, violations: 'high',
    updated_at: null,
  };
  const gw = fakeGateway({
    'GET /api/compliance/governor/settings': () => json(200, settings),
    'PATCH /api/compliance/governor/settings': (c) =>
      json(200, { ...settings, ...(c.body as object), updated_at: '2026-12-04T20:00:00Z' }),
  });
  const client = gw.client();
  assert.equal((await client.compliance.governorSettings.get()).mode, 'sanitize');
  const changed = await client.compliance.governorSettings.update({ mode: 'block', check_prompts: true, violations: undefined });
  assert.equal(changed.mode, 'block');
  assert.equal(changed.check_prompts, true);
  assert.deepEqual(gw.calls.at(-1)?.body, { mode: 'block', check_prompts: true });
});

// --- policies --------------------------------------------------------------------------------------

test('policies: list, create, update', async () => {
  const gw = fakeGateway({
    'GET /api/compliance/policies': () => json(200, { policies: [POLICY] }),
    'POST /api/compliance/policies': (c) => json(201, { ...POLICY, ...(c.body as object), id: 'pol_8', future_field: 1 }),
    'PATCH /api/compliance/policies/pol_7': (c) => json(200, { ...POLICY, ...(c.body as object), version: 2 }),
  });
  const p = gw.client().compliance.policies;
  const listed = await p.list();
  assert.deepEqual(listed, [POLICY]);
  const created = await p.create({
    name: 'Card numbers', pattern: '\\b\\d{4}-\\d{4}\\b', applies_to: 'both', action: 'redact', severity: 'critical',
    shadow: true, keywords: ['card'], appendix: undefined,
  });
  const updated = await p.update('pol_7', { enabled: false, pattern: null, appendix: 'Not advice.', name: undefined });
  assert.deepEqual(gw.calls.map((c) => `${c.method} ${c.url.pathname}`), [
    'GET /api/compliance/policies', 'POST /api/compliance/policies', 'PATCH /api/compliance/policies/pol_7',
  ]);
  assert.ok(gw.calls.every((c) => c.headers.get('x-api-key') === KEY));
  // Only what was given is sent; on a PATCH, null is sent (it clears the pattern).
  assert.deepEqual(gw.calls[1]?.body, {
    name: 'Card numbers', pattern: '\\b\\d{4}-\\d{4}\\b', applies_to: 'both', action: 'redact', severity: 'critical',
    shadow: true, keywords: ['card'],
  });
  assert.deepEqual(gw.calls[2]?.body, { enabled: false, pattern: null, appendix: 'Not advice.' });
  assert.equal(created.id, 'pol_8');
  assert.equal(created.shadow, true);
  assert.equal(updated.enabled, false);
  assert.equal(updated.version, 2);
  assert.equal(updated.pattern, null);
});

test('a pattern that does not compile is a BadRequestError naming the field', async () => {
  const gw = fakeGateway({
    'POST /api/compliance/policies': () =>
      json(400, { error: 'pattern does not compile: unclosed group', code: 'INVALID_REQUEST', field: 'pattern' }),
  });
  const e = await rejects(gw.client().compliance.policies.create({ name: 'broken', pattern: '(', action: 'block' }), BadRequestError);
  assert.equal(e.field, 'pattern');
  assert.equal(gw.calls.length, 1);
});

// --- audits ----------------------------------------------------------------------------------------

const auditPages: Route = (c) => {
  const cursor = c.url.searchParams.get('cursor');
  if (cursor === null) {
    return json(200, { audits: [AUDIT, { ...AUDIT, id: 'gva_2', violation_id: null }], next_cursor: 'c_2' } satisfies GovernorAuditPage);
  }
  assert.equal(cursor, 'c_2');
  return json(200, { audits: [{ ...AUDIT, id: 'gva_3', target: 'prompt' }], next_cursor: null } satisfies GovernorAuditPage);
};

test('governorAudits.list sends the filters and returns the page', async () => {
  const gw = fakeGateway({ 'GET /api/compliance/governor/audits': auditPages });
  const a = gw.client().compliance.governorAudits;
  const page = await a.list({ level: 'high', since: new Date(Date.UTC(2026, 11, 1, 8, 30)), limit: 2 });
  const second = await a.list({ cursor: page.next_cursor ?? undefined });
  assert.deepEqual(Object.fromEntries(gw.calls[0]?.url.searchParams ?? []), {
    level: 'high', since: '2026-12-01T08:30:00.000Z', limit: '2',
  });
  assert.deepEqual(Object.fromEntries(gw.calls[1]?.url.searchParams ?? []), { cursor: 'c_2' });
  assert.equal(page.next_cursor, 'c_2');
  assert.deepEqual(page.audits[0], AUDIT);
  assert.equal(page.audits[1]?.violation_id, null);
  assert.equal(second.next_cursor, null);
  assert.equal(second.audits[0]?.target, 'prompt');
});

test('governorAudits.iterAll follows the cursor', async () => {
  const gw = fakeGateway({ 'GET /api/compliance/governor/audits': auditPages });
  const ids: string[] = [];
  for await (const a of gw.client().compliance.governorAudits.iterAll({ level: 'high', since: '2026-12-01T00:00:00Z' })) ids.push(a.id);
  assert.deepEqual(ids, ['gva_8KQ2mZ', 'gva_2', 'gva_3']);
  assert.deepEqual(gw.calls.map((c) => Object.fromEntries(c.url.searchParams)), [
    { level: 'high', since: '2026-12-01T00:00:00Z' },
    { level: 'high', since: '2026-12-01T00:00:00Z', cursor: 'c_2' },
  ]);
});

test('an answer of the wrong shape is an APIError', async () => {
  const gw = fakeGateway({ 'GET /api/compliance/policies': () => json(200, { items: [] }) });
  const e = await rejects(gw.client().compliance.policies.list(), APIError);
  assert.match(e.message, /'policies' list/);
  assert.equal(e.status, 200);
});
