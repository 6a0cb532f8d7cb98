import {
  APIConnectionError,
  APIError,
  APIStreamError,
  APITimeoutError,
  ConfigurationError,
  EnvironmentMismatchError,
  GOVERNOR_BLOCKED,
  GovernorBlockedError,
  errorClassFor,
} from './errors.js';
import { governorOf, governorResult } from './governor.js';
import type {
  ChatCompletion,
  ChatCreateParams,
  ComplianceStatus,
  GovernorAudit,
  GovernorAuditListParams,
  GovernorAuditPage,
  GovernorResult,
  GovernorSettings,
  GovernorSettingsUpdateParams,
  HealthStatus,
  Policy,
  PolicyCreateParams,
  PolicyUpdateParams,
  RegisteredModel,
  RegisteredModelFields,
  Usage,
  UsagePeriod,
  UsageReport,
  Violation,
  ViolationCreateParams,
  ViolationUpdateParams,
} from './types.js';

export const VERSION = '0.1.0';
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;
const INITIAL_RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 8_000;
/** A Retry-After longer than this is not waited for: the RateLimitError is thrown. */
const MAX_RETRY_AFTER_S = 60;

const ENVIRONMENTS: Record<string, Environment> = {
  development: 'development', dev: 'development',
  staging: 'staging', stg: 'staging',
  production: 'production', prod: 'production',
};
const SEGMENTS: Record<string, Environment> = { dev: 'development', stg: 'staging', prod: 'production' };
const KEY_SHAPE = /^(sk|pk)_(dev|stg|prod)_/;

export type Environment = 'development' | 'staging' | 'production';

export interface ClientOptions {
  /** Defaults to `process.env.REGPILOT_API_KEY`. */
  apiKey?: string | undefined;
  /** Defaults to `process.env.REGPILOT_BASE_URL`, else `http://127.0.0.1:8080`. */
  baseURL?: string | undefined;
  /** `development`, `staging` or `production` (or `dev`, `stg`, `prod`); defaults to
   * `process.env.REGPILOT_ENVIRONMENT`. A key of another environment is refused at construction. */
  environment?: string | undefined;
  /** Milliseconds per request (for a stream: until the answer begins). Default 60 000. */
  timeout?: number | undefined;
  /** Retries of 429, 5xx (but 501) and connection errors. Default 2. */
  maxRetries?: number | undefined;
  /** A fetch implementation (defaults to the platform's `fetch`). */
  fetch?: typeof fetch | undefined;
}

interface RequestOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  stream?: boolean;
}

function readEnv(name: string): string | undefined {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  const v = env?.[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** What may be shown of a key: its type and environment segment, e.g. `sk_prod_…`. */
export function keyHint(apiKey: string): string {
  const m = KEY_SHAPE.exec(apiKey);
  return m ? `${m[0]}…` : '…';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const n = Number(value.trim());
  if (Number.isFinite(n)) return Math.max(0, n);
  const when = Date.parse(value);
  return Number.isNaN(when) ? undefined : Math.max(0, (when - Date.now()) / 1000);
}

/** Milliseconds before retry `attempt` (0-based), or undefined to give up. Never sooner than
 * Retry-After; a little jitter on top so clients refused together do not return together. */
function retryDelayMs(attempt: number, retryAfterS: number | undefined): number | undefined {
  if (retryAfterS !== undefined) {
    if (retryAfterS > MAX_RETRY_AFTER_S) return undefined;
    return retryAfterS * 1000 + Math.random() * 100 * Math.max(retryAfterS, 0.5);
  }
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** attempt, MAX_RETRY_DELAY_MS);
  return base * (0.75 + Math.random() * 0.5);
}

function shouldRetry(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

function headersObject(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

/** For a PATCH: what was given, `null` included (it clears the field). */
function dropUndefinedOnly<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function seg(id: string): string {
  return encodeURIComponent(String(id));
}

function usageFrom(u: Record<string, unknown> | undefined): Usage {
  return {
    promptTokens: Number(u?.promptTokens ?? 0),
    completionTokens: Number(u?.completionTokens ?? 0),
    totalTokens: Number(u?.totalTokens ?? 0),
    costCents: Number(u?.costCents ?? 0),
  };
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * The RegPilot client.
 *
 * ```ts
 * const client = new RegPilot({ apiKey: process.env.REGPILOT_API_KEY });
 * const response = await client.chat.create({ messages: [{ role: 'user', content: 'Hello' }] });
 * ```
 */
export class RegPilot {
  readonly baseURL: string;
  /** As given, else the key's own environment (undefined for a key of another shape). */
  readonly environment: Environment | undefined;
  readonly timeout: number;
  readonly maxRetries: number;
  readonly chat: Chat;
  readonly health: Health;
  readonly compliance: Compliance;
  readonly usage: UsageResource;
  #apiKey: string;
  #fetch: typeof fetch;

  constructor(options: ClientOptions = {}) {
    const apiKey = (options.apiKey ?? readEnv('REGPILOT_API_KEY'))?.trim();
    if (!apiKey) {
      throw new ConfigurationError(
        'No RegPilot API key: pass { apiKey } to new RegPilot() or set the REGPILOT_API_KEY environment variable',
      );
    }
    const baseURL = (options.baseURL || readEnv('REGPILOT_BASE_URL') || DEFAULT_BASE_URL).replace(/\/+$/, '');
    if (!/^https?:\/\//.test(baseURL)) {
      throw new ConfigurationError(`baseURL must start with http:// or https:// (got ${JSON.stringify(baseURL)})`);
    }
    const envName = options.environment ?? readEnv('REGPILOT_ENVIRONMENT');
    let environment: Environment | undefined;
    if (envName !== undefined) {
      environment = ENVIRONMENTS[envName.trim().toLowerCase()];
      if (!environment) {
        throw new ConfigurationError(
          `Unknown environment ${JSON.stringify(envName)}: use development, staging or production (or dev, stg, prod)`,
        );
      }
    }
    const m = KEY_SHAPE.exec(apiKey);
    const keyEnvironment = m ? SEGMENTS[m[2] as string] : undefined;
    if (environment && keyEnvironment && environment !== keyEnvironment) {
      throw new EnvironmentMismatchError(
        `The API key is a ${keyEnvironment} key (${keyHint(apiKey)}) but the client's environment is ` +
          `'${environment}': refusing to use it. Use a ${environment} key, or fix REGPILOT_ENVIRONMENT / environment.`,
        keyEnvironment,
        environment,
      );
    }
    const f = options.fetch ?? (globalThis.fetch as typeof fetch | undefined);
    if (!f) throw new ConfigurationError('No fetch implementation: use Node 18+ or pass { fetch }');

    this.#apiKey = apiKey;
    this.#fetch = f;
    this.baseURL = baseURL;
    this.environment = environment ?? keyEnvironment;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    this.maxRetries = Math.max(0, Math.floor(options.maxRetries ?? DEFAULT_MAX_RETRIES));
    this.chat = new Chat(this);
    this.health = new Health(this);
    this.compliance = new Compliance(this);
    this.usage = new UsageResource(this);
  }

  /** The part of the key that may be shown, e.g. `sk_dev_…`. */
  get apiKeyHint(): string {
    return keyHint(this.#apiKey);
  }

  toString(): string {
    return `RegPilot(baseURL=${this.baseURL}, environment=${this.environment}, apiKey=${this.apiKeyHint})`;
  }

  toJSON(): Record<string, unknown> {
    return { baseURL: this.baseURL, environment: this.environment, apiKey: this.apiKeyHint };
  }

  [INSPECT](): string {
    return this.toString();
  }

  #scrub(text: string): string {
    return text.split(this.#apiKey).join(this.apiKeyHint);
  }

  #makeError(status: number, body: unknown, headers: Record<string, string>): APIError {
    let message = `HTTP ${status}`;
    let code: string | undefined;
    if (body && typeof body === 'object') {
      const b = body as Record<string, unknown>;
      if (b.error && typeof b.error === 'object') {
        const e = b.error as Record<string, unknown>;
        message = String(e.message ?? message);
        code = (b.code ?? e.code) as string | undefined;
      } else if (b.error !== undefined) {
        message = String(b.error);
        code = b.code as string | undefined;
      }
    } else if (typeof body === 'string' && body.trim()) {
      message = body.trim().slice(0, 500);
    }
    const Cls = errorClassFor(status, code);
    return new Cls(this.#scrub(message), { status, code, body, headers });
  }

  /** @internal Sends with retries; resolves to a successful response (a stream's body unread). */
  async _request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.baseURL + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = {
      'X-API-Key': this.#apiKey,
      Accept: opts.stream ? 'text/event-stream' : 'application/json',
    };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);

    for (let attempt = 0; ; attempt++) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.timeout);
      let error: RegPilotErrorLike;
      let retryAfter: number | undefined;
      try {
        const response = await this.#fetch(url, {
          method, headers, body, signal: controller.signal, redirect: 'manual',
        });
        if (response.status < 400 && !(response.status >= 300 && response.status < 400)) {
          if (opts.stream) {
            clearTimeout(timer);
            return response;
          }
          // Read the whole body within the timeout, then hand back a fresh Response.
          const text = await response.text();
          clearTimeout(timer);
          return new Response(text, { status: response.status, headers: response.headers });
        }
        const text = await response.text();
        clearTimeout(timer);
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          /* not JSON: keep the text */
        }
        error = this.#makeError(response.status, parsed, headersObject(response.headers));
        if (!shouldRetry(response.status)) throw error;
        retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      } catch (e) {
        clearTimeout(timer);
        if (e instanceof APIError) {
          if (!shouldRetry(e.status)) throw e;
          error = e;
        } else if (controller.signal.aborted) {
          error = new APITimeoutError(`${method} ${path} timed out after ${this.timeout} ms`);
        } else {
          const cause = e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
          error = new APIConnectionError(`Could not reach the gateway at ${this.baseURL} (${this.#scrub(cause)})`);
        }
      }
      const delay = attempt < this.maxRetries ? retryDelayMs(attempt, retryAfter) : undefined;
      if (delay === undefined) throw error;
      await sleep(delay);
    }
  }

  /** @internal */
  async _json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const response = await this._request(method, path, opts);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** @internal The list under `key` of the answer's JSON object; an answer of another shape is an APIError. */
  async _list<T>(key: string, method: string, path: string, opts: RequestOptions = {}): Promise<T[]> {
    const response = await this._request(method, path, opts);
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const list = body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
    if (!Array.isArray(list)) {
      throw new APIError(`The gateway's answer to ${method} ${path} is not a JSON object with a '${key}' list`, {
        status: response.status, body, headers: headersObject(response.headers),
      });
    }
    return list as T[];
  }

  /** @internal */
  _scrub(text: string): string {
    return this.#scrub(text);
  }
}

type RegPilotErrorLike = Error;

/**
 * A streamed chat answer (POST /api/ai/chat): an async iterable of text chunks. Once the
 * iteration ends, `usage`, `model`, `provider`, `finishReason` and `content` hold the totals, and
 * `governor` the Governor's result when the request carried `governorMetadata`. An error event
 * in the stream throws APIStreamError (GovernorBlockedError for `GOVERNOR_BLOCKED`). `abort()`
 * ends it early.
 */
export class ChatStream implements AsyncIterable<string> {
  model: string;
  provider: string;
  readonly testMode: boolean;
  readonly warning: string | undefined;
  usage: Usage | undefined;
  finishReason: string | undefined;
  cacheHit = false;
  /** The Governor's result, from the stream's `governor` event: undefined until then, and without `governorMetadata`. */
  governor: GovernorResult | undefined;
  done = false;
  #parts: string[] = [];
  #response: Response;
  #client: RegPilot;
  #consumed = false;
  #governorEvent: Record<string, unknown> | undefined;

  /** @internal */
  constructor(response: Response, client: RegPilot) {
    this.#response = response;
    this.#client = client;
    this.model = response.headers.get('x-regpilot-model') ?? '';
    this.provider = response.headers.get('x-regpilot-provider') ?? '';
    this.testMode = response.headers.get('x-regpilot-test-mode') === 'true';
    this.warning = response.headers.get('x-regpilot-warning') ?? undefined;
  }

  /** The text received so far (all of it once the stream is consumed). */
  get content(): string {
    return this.#parts.join('');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.#consumed) throw new Error('A ChatStream can be iterated once');
    this.#consumed = true;
    const body = this.#response.body;
    if (!body) return;
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw new APIConnectionError(`The chat stream was interrupted (${e instanceof Error ? e.message : e})`);
        }
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (!line.startsWith('data:')) continue;
          const payload = line.slice(5).trim();
          if (payload === '[DONE]') {
            this.done = true;
            return;
          }
          if (!payload) continue;
          const text = this.#handle(JSON.parse(payload) as Record<string, unknown>);
          if (text !== undefined) yield text;
        }
      }
      this.done = true;
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  #handle(event: Record<string, unknown>): string | undefined {
    switch (event.type) {
      case 'chunk': {
        const text = String(event.content ?? '');
        this.#parts.push(text);
        return text;
      }
      case 'usage':
        this.usage = usageFrom(event.usage as Record<string, unknown> | undefined);
        this.model = (event.model as string) ?? this.model;
        this.provider = (event.provider as string) ?? this.provider;
        this.finishReason = event.finishReason as string | undefined;
        this.cacheHit = Boolean(event.cacheHit);
        return undefined;
      case 'governor': {
        const { type: _type, ...result } = event;
        this.#governorEvent = result;
        this.governor = governorResult(result);
        return undefined;
      }
      case 'error': {
        const blocked = event.code === GOVERNOR_BLOCKED;
        const Cls = blocked ? GovernorBlockedError : APIStreamError;
        throw new Cls(this.#client._scrub(String(event.error ?? 'The stream failed')), {
          status: this.#response.status,
          code: event.code as string | undefined,
          body: blocked ? this.#blockedBody(event) : event,
          headers: headersObject(this.#response.headers),
        });
      }
      default:
        return undefined;
    }
  }

  /**
   * A withheld stream ends with the `governor` event, then the error event (docs/governor.md,
   * "Answers"): the error's body gains that result and its rule ids, as a 422 body carries them.
   */
  #blockedBody(event: Record<string, unknown>): Record<string, unknown> {
    const g = this.#governorEvent;
    if (!g) return event;
    const body: Record<string, unknown> = { ...event };
    if (body.governor === undefined) body.governor = g;
    if (body.rules === undefined) {
      const findings = Array.isArray(g.findings) ? (g.findings as Array<Record<string, unknown>>) : [];
      const rules: string[] = [];
      for (const f of findings) {
        if (f && typeof f.rule === 'string' && !f.shadow && !rules.includes(f.rule)) rules.push(f.rule);
      }
      body.rules = rules;
    }
    return body;
  }

  /** Consumes the stream; the whole text. */
  async text(): Promise<string> {
    for await (const _ of this) {
      /* collect */
    }
    return this.content;
  }

  /** Ends the stream early (the gateway cancels the provider call). */
  async abort(): Promise<void> {
    await this.#response.body?.cancel().catch(() => undefined);
  }
}

export class Chat {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /**
   * A chat completion through the gateway: POST /api/ai/complete, a ChatCompletion. With
   * `stream: true`: POST /api/ai/chat, a ChatStream of text chunks (`for await`). With
   * `governorMetadata` (sent as given), the Governor's result is `governor` on either; a
   * withheld answer throws GovernorBlockedError.
   */
  create(params: ChatCreateParams & { stream: true }): Promise<ChatStream>;
  create(params: ChatCreateParams & { stream?: false | undefined }): Promise<ChatCompletion>;
  create(params: ChatCreateParams & { stream?: boolean | undefined }): Promise<ChatCompletion | ChatStream>;
  async create(params: ChatCreateParams & { stream?: boolean | undefined }): Promise<ChatCompletion | ChatStream> {
    const { stream, ...rest } = params;
    const body = dropUndefined({
      messages: rest.messages,
      quality: rest.quality,
      model: rest.model,
      temperature: rest.temperature,
      maxTokens: rest.maxTokens,
      mode: rest.mode,
      governorMetadata: rest.governorMetadata,
    });
    if (stream) {
      const response = await this.#client._request('POST', '/api/ai/chat', { body, stream: true });
      return new ChatStream(response, this.#client);
    }
    const response = await this.#client._request('POST', '/api/ai/complete', { body });
    const data = JSON.parse(await response.text()) as Record<string, unknown>;
    const h = response.headers;
    return {
      content: String(data.text ?? ''),
      model: String(data.model ?? h.get('x-regpilot-model') ?? ''),
      provider: String(data.provider ?? h.get('x-regpilot-provider') ?? ''),
      usage: usageFrom(data.usage as Record<string, unknown> | undefined),
      finishReason: data.finishReason as string | undefined,
      cacheHit: Boolean(data.cacheHit),
      testMode: h.get('x-regpilot-test-mode') === 'true',
      warning: h.get('x-regpilot-warning') ?? undefined,
      governor: governorOf(data, h),
      raw: data,
    };
  }
}

export class Health {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /** GET /api/health with the key: status, authenticated, project_id, key_type, environment. */
  check(): Promise<HealthStatus> {
    return this.#client._json<HealthStatus>('GET', '/api/health');
  }
}

export class Violations {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  async list(query: { status?: 'open' | 'resolved'; severity?: Violation['severity'] } = {}): Promise<Violation[]> {
    return this.#client._list<Violation>('violations', 'GET', '/api/compliance/violations', {
      query: { status: query.status, severity: query.severity },
    });
  }

  create(params: ViolationCreateParams): Promise<Violation> {
    return this.#client._json<Violation>('POST', '/api/compliance/violations', { body: dropUndefined({ ...params }) });
  }

  update(id: string, params: ViolationUpdateParams): Promise<Violation> {
    return this.#client._json<Violation>('PATCH', `/api/compliance/violations/${seg(id)}`, {
      body: dropUndefined({ ...params }),
    });
  }

  resolve(id: string, note: string): Promise<Violation> {
    return this.update(id, { status: 'resolved', note });
  }

  reopen(id: string): Promise<Violation> {
    return this.update(id, { status: 'open' });
  }
}

export class Models {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  async list(query: { status?: 'active' | 'archived' | 'all' } = {}): Promise<RegisteredModel[]> {
    return this.#client._list<RegisteredModel>('models', 'GET', '/api/compliance/models', {
      query: { status: query.status },
    });
  }

  get(id: string): Promise<RegisteredModel> {
    return this.#client._json<RegisteredModel>('GET', `/api/compliance/models/${seg(id)}`);
  }

  register(params: RegisteredModelFields & Pick<Required<RegisteredModelFields>, 'name' | 'risk_level'>): Promise<RegisteredModel> {
    return this.#client._json<RegisteredModel>('POST', '/api/compliance/models', { body: dropUndefined({ ...params }) });
  }

  update(id: string, params: RegisteredModelFields): Promise<RegisteredModel> {
    return this.#client._json<RegisteredModel>('PATCH', `/api/compliance/models/${seg(id)}`, {
      body: dropUndefined({ ...params }),
    });
  }

  archive(id: string): Promise<RegisteredModel> {
    return this.#client._json<RegisteredModel>('POST', `/api/compliance/models/${seg(id)}/archive`);
  }
}

/** The project's custom Governor policies: `compliance:read` to list, `compliance:write` to change. */
export class Policies {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /** GET /api/compliance/policies. */
  list(): Promise<Policy[]> {
    return this.#client._list<Policy>('policies', 'GET', '/api/compliance/policies');
  }

  /** POST /api/compliance/policies: `name` and `action` are required; fields left out take the gateway's defaults. */
  create(params: PolicyCreateParams): Promise<Policy> {
    return this.#client._json<Policy>('POST', '/api/compliance/policies', { body: dropUndefined({ ...params }) });
  }

  /** PATCH /api/compliance/policies/{id}: the fields given (`null` clears pattern, replacement, appendix). */
  update(id: string, params: PolicyUpdateParams): Promise<Policy> {
    return this.#client._json<Policy>('PATCH', `/api/compliance/policies/${seg(id)}`, {
      body: dropUndefinedOnly({ ...params }),
    });
  }
}

/** The Governor's audit entries of the project, newest first (`compliance:read`). */
export class GovernorAudits {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /** GET /api/compliance/governor/audits: one page (`next_cursor` for the next). */
  list(params: GovernorAuditListParams = {}): Promise<GovernorAuditPage> {
    const since = params.since instanceof Date ? params.since.toISOString() : params.since;
    return this.#client._json<GovernorAuditPage>('GET', '/api/compliance/governor/audits', {
      query: {
        level: params.level,
        since,
        limit: params.limit === undefined ? undefined : String(Math.floor(params.limit)),
        cursor: params.cursor,
      },
    });
  }

  /** Every matching entry, page after page (`limit` is the page size): `for await (const a of audits.iterAll())`. */
  async *iterAll(params: Omit<GovernorAuditListParams, 'cursor'> = {}): AsyncGenerator<GovernorAudit, void, undefined> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.list({ ...params, cursor });
      yield* page.audits;
      if (!page.next_cursor || page.next_cursor === cursor) return;
      cursor = page.next_cursor;
    }
  }
}

/** The project's Governor settings: `compliance:read` to read, `compliance:write` to change. */
export class GovernorSettingsResource {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /** GET /api/compliance/governor/settings. */
  get(): Promise<GovernorSettings> {
    return this.#client._json<GovernorSettings>('GET', '/api/compliance/governor/settings');
  }

  /** PATCH /api/compliance/governor/settings: the fields given (every instance applies them within a second). */
  update(params: GovernorSettingsUpdateParams): Promise<GovernorSettings> {
    return this.#client._json<GovernorSettings>('PATCH', '/api/compliance/governor/settings', {
      body: dropUndefined({ ...params }),
    });
  }
}

export class Compliance {
  readonly violations: Violations;
  readonly models: Models;
  readonly policies: Policies;
  readonly governorAudits: GovernorAudits;
  readonly governorSettings: GovernorSettingsResource;
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
    this.violations = new Violations(client);
    this.models = new Models(client);
    this.policies = new Policies(client);
    this.governorAudits = new GovernorAudits(client);
    this.governorSettings = new GovernorSettingsResource(client);
  }

  /** GET /api/compliance/status: the 0–100 score, its status and the counts behind it. */
  status(): Promise<ComplianceStatus> {
    return this.#client._json<ComplianceStatus>('GET', '/api/compliance/status');
  }
}

export class UsageResource {
  #client: RegPilot;
  constructor(client: RegPilot) {
    this.#client = client;
  }

  /** GET /api/usage?period=day|week|month. */
  get(params: { period?: UsagePeriod } | UsagePeriod = {}): Promise<UsageReport> {
    const period = typeof params === 'string' ? params : (params.period ?? 'day');
    return this.#client._json<UsageReport>('GET', '/api/usage', { query: { period } });
  }
}
