// Starts the mock upstream and the real regpilot gateway (SQLite in a temporary folder, a free
// port) and drives the real CLI, as tests/clients/regpilot_harness.py does for the Python tests.
// The binaries come from REGPILOT_BIN_DIR (scripts/test-sdks.sh sets it), else target/debug.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// build/test/harness.js → the repository root is four levels up (sdk/typescript/build/test).
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const BIN_DIR = process.env.REGPILOT_BIN_DIR ?? join(REPO, 'target', 'debug');
export const REGPILOT = join(BIN_DIR, 'regpilot');
export const MOCK = join(BIN_DIR, 'regpilot-mock-upstream');
export const UPSTREAM_KEY = 'upstream-secret';
export const MOCK_COMPLETION = 'The quick brown fox jumps over the lazy dog.';

const SETTINGS = (mockUrl: string) => `[ai]
response_timeout_secs = 5

[ai.quality]
cheap = "mock-small"
balanced = "mock-model"
frontier = "mock-model"

[[ai.providers]]
name = "mock"
base_url = "${mockUrl}/v1"
api_key_env = "MOCK_KEY"
models = [
  { id = "mock-model", prompt_cents_per_1k = 0.5, completion_cents_per_1k = 1.5 },
  { id = "mock-small" },
  { id = "mock-status-500" },
  { id = "mock-garbage" },
]
`;

export interface Key {
  id: string;
  projectId: string;
  secret: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function stop(proc: ChildProcess, graceMs = 10_000): Promise<number | null> {
  return new Promise((resolveStop) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolveStop(proc.exitCode);
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolveStop(code);
    });
    proc.kill('SIGTERM');
  });
}

export class Stack {
  readonly workdir: string;
  url = '';
  #mock?: ChildProcess;
  #gateway?: ChildProcess;
  #env: NodeJS.ProcessEnv;
  #config: string;
  readonly secrets = new Set<string>();

  constructor() {
    this.workdir = mkdtempSync(join(tmpdir(), 'regpilot-ts-sdk-'));
    this.#config = join(this.workdir, 'regpilot.toml');
    this.#env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGPILOT_')));
    this.#env.REGPILOT_DATA_DIR = join(this.workdir, 'data');
    this.#env.MOCK_KEY = UPSTREAM_KEY;
    mkdirSync(this.#env.REGPILOT_DATA_DIR, { recursive: true });
  }

  async start(): Promise<this> {
    for (const bin of [REGPILOT, MOCK]) {
      if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/test-sdks.sh (it builds the binaries)`);
    }
    const mockOut = join(this.workdir, 'mock.out');
    const outFd = openSync(mockOut, 'w');
    const errFd = openSync(join(this.workdir, 'mock.log'), 'w');
    this.#mock = spawn(MOCK, ['--listen', '127.0.0.1:0', '--api-key-env', 'MOCK_KEY', '--chunks', '8', '--chunk-delay-ms', '5'], {
      stdio: ['ignore', outFd, errFd],
      env: { ...this.#env },
    });
    closeSync(outFd);
    closeSync(errFd);
    let mockUrl = '';
    for (let i = 0; i < 300 && !mockUrl; i++) {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(readFileSync(mockOut, 'utf8'));
      if (m) mockUrl = m[1] as string;
      else await sleep(50);
    }
    if (!mockUrl) throw new Error('the mock upstream did not start');
    writeFileSync(this.#config, SETTINGS(mockUrl));

    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      this.url = `http://127.0.0.1:${port}`;
      const logFd = openSync(join(this.workdir, 'gateway.log'), 'a');
      this.#gateway = spawn(REGPILOT, ['--config', this.#config, 'serve', '--listen', `127.0.0.1:${port}`], {
        stdio: ['ignore', 'ignore', logFd],
        env: { ...this.#env },
      });
      closeSync(logFd);
      if (await this.#waitHealthy()) return this;
      await stop(this.#gateway);
    }
    throw new Error(`the gateway did not start (log: ${join(this.workdir, 'gateway.log')})`);
  }

  async #waitHealthy(): Promise<boolean> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.#gateway?.exitCode !== null) return false;
      try {
        if ((await fetch(`${this.url}/api/health`)).status === 200) return true;
      } catch {
        /* not up yet */
      }
      await sleep(50);
    }
    return false;
  }

  /** Stops both; the exit codes (0 after SIGTERM). */
  async stop(): Promise<[number | null, number | null]> {
    const gw = this.#gateway ? await stop(this.#gateway) : null;
    const mock = this.#mock ? await stop(this.#mock) : null;
    return [gw, mock];
  }

  cli(...args: string[]): Record<string, unknown> {
    const out = execFileSync(REGPILOT, ['--config', this.#config, ...args, '--json'], {
      env: this.#env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    const data = JSON.parse(out.trim() || '{}') as Record<string, unknown>;
    if (typeof data.secret === 'string') this.secrets.add(data.secret);
    return data;
  }

  projects(): Array<Record<string, unknown>> {
    return this.cli('project', 'list').projects as Array<Record<string, unknown>>;
  }

  createProject(name: string, plan: string): string {
    return this.cli('project', 'create', '--name', name, '--plan', plan).id as string;
  }

  async createKey(projectId: string, name: string, opts: { kind?: string; env?: string; readOnly?: boolean } = {}): Promise<Key> {
    const args = ['key', 'create', '--project', projectId, '--type', opts.kind ?? 'gateway', '--env', opts.env ?? 'dev', '--name', name];
    if (opts.readOnly) args.push('--read-only');
    const data = this.cli(...args);
    const key = { id: data.id as string, projectId, secret: data.secret as string };
    await this.waitAuthenticated(key);
    return key;
  }

  deactivateKey(key: Key): void {
    this.cli('key', 'deactivate', key.id);
  }

  /** Waits until the server knows a fresh key (uses one request of its rate limit each try). */
  async waitAuthenticated(key: Key): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const r = await fetch(`${this.url}/api/health`, { headers: { 'X-API-Key': key.secret } });
      const body = (await r.json()) as { authenticated?: boolean };
      if (r.status === 200 && body.authenticated) return;
      await sleep(100);
    }
    throw new Error(`the gateway did not accept key ${key.id}`);
  }

  /** `text` with every secret created here cut to its prefix (for assertion messages). */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join(s.slice(0, 8) + '…[redacted]');
    return out;
  }
}

/** A fetch that counts its calls and their statuses, to see the client's retries. */
export function countingFetch(): { fetch: typeof fetch; statuses: number[]; urls: string[] } {
  const statuses: number[] = [];
  const urls: string[] = [];
  const f: typeof fetch = async (input, init) => {
    urls.push(String(input instanceof Request ? input.url : input));
    const r = await fetch(input, init);
    statuses.push(r.status);
    return r;
  };
  return { fetch: f, statuses, urls };
}
