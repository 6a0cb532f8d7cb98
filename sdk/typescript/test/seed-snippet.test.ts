// The seed's TypeScript SDK example (authentication.md, "Method 3: SDK Authentication", the
// TypeScript SDK tab), copied verbatim to examples/seed-snippet.ts. It is type-checked with the
// package's own declarations (tsconfig.test.json compiles it; `import ... from '@regpilot/sdk'`
// resolves to this package), and run unchanged with node against the local gateway, with
// REGPILOT_API_KEY and REGPILOT_BASE_URL in the environment. A fetch spy preloaded with
// `node --import` records what the SDK sent and got, since the snippet itself prints nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, Stack, type Key } from './harness.js';

const PKG = join(REPO, 'sdk', 'typescript');
const SEED_DOC = join(REPO, 'tests', 'clients', 'seed', 'authentication.md');
const SEED_BLOCK = 5; // the TypeScript SDK tab of Method 3
const stack = new Stack();
let key: Key;

/** The fenced code blocks of a Markdown document without their indentation, as
 * tests/clients/test_seed_examples.py reads them. */
function codeBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  for (const m of markdown.matchAll(/^([ \t]*)```[^\n]*\n([\s\S]*?)^[ \t]*```[ \t]*$/gm)) {
    const indent = m[1] as string;
    const lines = (m[2] as string).split(/(?<=\n)/);
    blocks.push(lines.map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.replace(/^[ \t]+/, ''))).join(''));
  }
  return blocks;
}

before(async () => {
  await stack.start();
  const project = stack.createProject('ts seed snippet', 'enterprise');
  key = await stack.createKey(project, 'seed snippet', { env: 'dev' });
});

after(async () => {
  assert.deepEqual(await stack.stop(), [0, 0]);
});

test('the copy is verbatim', () => {
  const blocks = codeBlocks(readFileSync(SEED_DOC, 'utf8'));
  assert.equal(readFileSync(join(PKG, 'examples', 'seed-snippet.ts'), 'utf8'), blocks[SEED_BLOCK]);
  assert.ok(blocks[SEED_BLOCK]?.startsWith("import { RegPilot } from '@regpilot/sdk';"));
});

test('the snippet runs unchanged against the local gateway', () => {
  const out = join(stack.workdir, 'fetch-spy.json');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGPILOT_')));
  Object.assign(env, { REGPILOT_API_KEY: key.secret, REGPILOT_BASE_URL: stack.url, FETCH_SPY_OUT: out });
  const proc = spawnSync(process.execPath, ['--import', join(PKG, 'build', 'test', 'fetch-spy.js'), join(PKG, 'build', 'examples', 'seed-snippet.js')], {
    env, cwd: PKG, encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(proc.status, 0, stack.redact(`exit ${proc.status}\n${proc.stdout}\n${proc.stderr}`));
  assert.equal(proc.stderr, '');
  const calls = JSON.parse(readFileSync(out, 'utf8')) as Array<Record<string, unknown>>;
  assert.deepEqual(calls, [
    { method: 'POST', path: '/api/ai/complete', apiKeyHeader: true, status: 200, provider: 'simulator', testMode: 'true' },
  ]);
});
