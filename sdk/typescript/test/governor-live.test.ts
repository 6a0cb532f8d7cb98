// The Governor through the TypeScript SDK against the real gateway (harness.ts starts it): a
// development key's answer comes from the simulator, and a user line `governor-demo: TEXT` makes
// it answer TEXT verbatim, so the findings are deterministic (docs/governor.md, "In the gateway").
// Mode changes run on a project of their own, so the tests do not depend on their order.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';

import {
  BadRequestError,
  GovernorBlockedError,
  PermissionDeniedError,
  RegPilot,
  type GovernorAudit,
  type GovernorMetadata,
  type GovernorResult,
  type GovernorSettings,
  type Message,
} from '@regpilot/sdk';
import { Stack, type Key } from './harness.js';

const METADATA: GovernorMetadata = { actionType: 'refund_denial', senderId: 'sdk-test', recipientCountry: 'DE' };
const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const DEMO: Message[] = [{ role: 'user', content: `governor-demo: Mail ${EMAIL}, card ${CARD}` }];

const stack = new Stack();
let projectId = '';
let dev: Key, projectKey: Key, readOnly: Key, freeProject = '';
const auditIds = new Set<string>();

function client(key: Key): RegPilot {
  return new RegPilot({ apiKey: key.secret, baseURL: stack.url, maxRetries: 0 });
}

async function rejects<T extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${stack.redact(String(e))}`);
    return e as T;
  }
  assert.fail(`expected ${cls.name}, nothing was thrown`);
}

function assertRedactedHigh(text: string, governor: GovernorResult | undefined): void {
  assert.ok(!text.includes(EMAIL) && !text.includes(CARD), 'personal data reached the caller');
  assert.ok(text.includes('[EMAIL]') && text.includes('[CARD]'), text);
  assert.ok(governor, 'the Governor result is set');
  assert.equal(governor.validated, true);
  assert.equal(governor.riskLevel, 'high');
  assert.equal(governor.action, 'sanitized');
  assert.match(governor.auditId ?? '', /^gva_/);
  const rules = governor.findings.map((f) => f.rule);
  assert.ok(rules.includes('pii.email') && rules.includes('pii.card'), rules.join(','));
  auditIds.add(governor.auditId as string);
}

before(async () => {
  for (const v of ['REGPILOT_API_KEY', 'REGPILOT_BASE_URL', 'REGPILOT_ENVIRONMENT']) delete process.env[v];
  await stack.start();
  projectId = stack.createProject('ts-governor-live', 'enterprise');
  dev = await stack.createKey(projectId, 'ts governor dev', { env: 'dev' });
  projectKey = await stack.createKey(projectId, 'ts governor project', { kind: 'project', env: 'prod' });
  readOnly = await stack.createKey(projectId, 'ts governor ci', { kind: 'project', env: 'prod', readOnly: true });
  const free = stack.projects().find((p) => p.plan === 'free');
  assert.ok(free, 'no free-plan project after first start');
  freeProject = free.id as string;
});

after(async () => {
  const [gw, mock] = await stack.stop();
  assert.equal(gw, 0, 'gateway exit code after SIGTERM');
  assert.equal(mock, 0, 'mock upstream exit code after SIGTERM');
});

test('live: chat with governorMetadata is sanitized and carries the result', async () => {
  const answer = await client(dev).chat.create({ messages: DEMO, governorMetadata: METADATA });
  assertRedactedHigh(answer.content, answer.governor);
  assert.equal(answer.governor?.mode, 'sanitize');
  assert.equal(answer.governor?.recipientCountry, 'DE');
  for (const f of answer.governor?.findings ?? []) {
    if (f.rule === 'pii.email' || f.rule === 'pii.card') assert.equal(f.category, 'personal_data');
  }
});

test('live: chat without governorMetadata has no governor', async () => {
  const answer = await client(dev).chat.create({ messages: DEMO });
  assert.equal(answer.governor, undefined);
  assert.ok(answer.content.includes(EMAIL), 'without metadata the simulator text is delivered as is');
});

test('live: a stream is sanitized and sets stream.governor once consumed', async () => {
  const stream = await client(dev).chat.create({ messages: DEMO, stream: true, governorMetadata: METADATA });
  assert.equal(stream.governor, undefined, 'set only once the stream is consumed');
  let text = '';
  for await (const piece of stream) text += piece;
  assert.equal(stream.content, text);
  assertRedactedHigh(text, stream.governor);
});

test('live: a stream without governorMetadata has no governor', async () => {
  const stream = await client(dev).chat.create({ messages: DEMO, stream: true });
  const text = await stream.text();
  assert.equal(stream.governor, undefined);
  assert.ok(text.includes(EMAIL));
});

test('live: block mode throws GovernorBlockedError (settings switched through the compliance API)', async () => {
  const blockProject = stack.createProject(`ts governor block ${randomUUID().slice(0, 8)}`, 'enterprise');
  const blockDev = await stack.createKey(blockProject, 'ts block dev', { env: 'dev' });
  const blockAdmin = client(await stack.createKey(blockProject, 'ts block project', { kind: 'project', env: 'prod' }));
  const chat = client(blockDev);
  const before: GovernorSettings = await blockAdmin.compliance.governorSettings.get();
  assert.equal(before.project_id, blockProject);
  assert.equal(before.available, true);
  assert.equal(before.enabled, true);
  assert.equal(before.mode, 'sanitize');
  const changed = await blockAdmin.compliance.governorSettings.update({ mode: 'block' });
  assert.equal(changed.mode, 'block');
  assert.equal((await blockAdmin.compliance.governorSettings.get()).mode, 'block');
  try {
    const err = await rejects(chat.chat.create({ messages: DEMO, governorMetadata: METADATA }), GovernorBlockedError);
    assert.equal(err.status, 422);
    assert.ok(err.rules.includes('pii.card'), err.rules.join(','));
    assert.ok(!String(err).includes(CARD) && !String(err).includes(EMAIL));
    if (err.governor) {
      assert.equal(err.governor.action, 'blocked');
      assert.equal(err.governor.riskLevel, 'high');
    }
    // A stream is withheld likewise: the error carries the governor event's rule ids.
    const stream = await chat.chat.create({ messages: DEMO, stream: true, governorMetadata: METADATA });
    const streamed = await rejects(stream.text(), GovernorBlockedError);
    assert.ok(streamed.rules.includes('pii.card'), streamed.rules.join(','));
    assert.ok(!stream.content.includes(CARD));
  } finally {
    const restored = await blockAdmin.compliance.governorSettings.update({ mode: 'sanitize' });
    assert.equal(restored.mode, 'sanitize');
  }
  const answer = await chat.chat.create({ messages: DEMO, governorMetadata: METADATA });
  assert.ok(answer.content.includes('[CARD]'));
  assert.equal(answer.governor?.action, 'sanitized');
});

test('live: governor settings refuse a bad mode with a 400 naming mode', async () => {
  const err = await rejects(
    client(projectKey).compliance.governorSettings.update({ mode: 'loud' as unknown as 'block' }),
    BadRequestError,
  );
  assert.equal(err.status, 400);
  assert.equal(err.field, 'mode');
});

test('live: policies create, list, update (shadow, disable, clear pattern), bad regex', async () => {
  const admin = client(projectKey).compliance.policies;
  const name = `no guarantees ${randomUUID().slice(0, 8)}`;
  const created = await admin.create({ name, keywords: ['guaranteed', 'risk-free'], action: 'warn', severity: 'medium' });
  assert.equal(created.project_id, projectId);
  assert.equal(created.name, name);
  assert.deepEqual(created.keywords, ['guaranteed', 'risk-free']);
  assert.equal(created.pattern, null);
  assert.equal(created.enabled, true);
  assert.equal(created.shadow, false);
  assert.ok((await admin.list()).some((p) => p.id === created.id && p.name === name));

  const shadowed = await admin.update(created.id, { shadow: true });
  assert.equal(shadowed.shadow, true);
  assert.ok(shadowed.version > created.version);
  const disabled = await admin.update(created.id, { enabled: false });
  assert.equal(disabled.enabled, false);
  assert.equal(disabled.shadow, true);

  const regex = await admin.create({ name: `${name} regex`, pattern: '\\bACME-\\d{4}\\b', action: 'log' });
  assert.equal(regex.pattern, '\\bACME-\\d{4}\\b');
  const cleared = await admin.update(regex.id, { pattern: null, keywords: ['acme'] });
  assert.equal(cleared.pattern, null);
  assert.deepEqual(cleared.keywords, ['acme']);
  assert.equal((await admin.list()).find((p) => p.id === regex.id)?.pattern, null);

  const err = await rejects(admin.create({ name: `${name} broken`, pattern: '(unclosed', action: 'warn' }), BadRequestError);
  assert.equal(err.status, 400);
  assert.equal(err.field, 'pattern');

  const denied = await rejects(
    client(readOnly).compliance.policies.create({ name: 'read only', keywords: ['x'], action: 'log' }),
    PermissionDeniedError,
  );
  assert.equal(denied.status, 403);
});

test('live: audits list the answers, page with the cursor, filter by level', async () => {
  const chat = client(dev);
  for (let i = 0; i < 2; i++) {
    const answer = await chat.chat.create({ messages: DEMO, governorMetadata: METADATA });
    assertRedactedHigh(answer.content, answer.governor);
  }
  const audits = client(projectKey).compliance.governorAudits;
  const all = async (level?: 'low' | 'medium' | 'high', limit = 500): Promise<GovernorAudit[]> => {
    const out: GovernorAudit[] = [];
    for await (const a of audits.iterAll({ level, limit })) out.push(a);
    return out;
  };
  // The audit entry is written beside the answer, not before it: wait for it.
  let everything: GovernorAudit[] = [];
  const deadline = Date.now() + 10_000;
  for (;;) {
    everything = await all();
    const listed = new Set(everything.map((a) => a.id));
    if ([...auditIds].every((id) => listed.has(id))) break;
    assert.ok(Date.now() < deadline, 'the answers\' audit entries are listed within 10 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(auditIds.size >= 3);
  for (const id of auditIds) {
    const audit = everything.find((a) => a.id === id) as GovernorAudit;
    assert.equal(audit.project_id, projectId);
    assert.equal(audit.key_id, dev.id);
    assert.equal(audit.risk_level, 'high');
    assert.equal(audit.action, 'sanitized');
    assert.equal(audit.action_type, 'refund_denial');
    assert.equal(audit.sender_id, 'sdk-test');
    assert.equal(audit.recipient_country, 'DE');
    const rules = audit.findings.map((f) => f.rule);
    assert.ok(rules.includes('pii.email') && rules.includes('pii.card'));
    assert.notEqual(audit.original_sha256, audit.delivered_sha256);
  }

  const first = await audits.list({ limit: 1 });
  assert.equal(first.audits.length, 1);
  assert.ok(first.next_cursor);
  const second = await audits.list({ limit: 1, cursor: first.next_cursor });
  assert.equal(second.audits.length, 1);
  assert.deepEqual([first.audits[0]?.id, second.audits[0]?.id], everything.slice(0, 2).map((a) => a.id));
  const paged = (await all(undefined, 2)).map((a) => a.id);
  assert.deepEqual(paged, everything.map((a) => a.id));
  assert.equal(new Set(paged).size, paged.length);

  const high = await all('high');
  assert.ok([...auditIds].every((id) => high.some((a) => a.id === id)));
  assert.ok(high.every((a) => a.risk_level === 'high'));
  const low = await all('low');
  assert.ok(low.every((a) => a.risk_level === 'low' && !auditIds.has(a.id)));
});

test('live: a free project with governorMetadata gets PermissionDeniedError (required governor)', async () => {
  const key = await stack.createKey(freeProject, 'ts free governor', { env: 'dev' });
  await new Promise((r) => setTimeout(r, 1100)); // its creation used the free plan's burst
  const err = await rejects(client(key).chat.create({ messages: DEMO, governorMetadata: METADATA }), PermissionDeniedError);
  assert.equal(err.status, 403);
  assert.equal(err.required, 'governor');
});
