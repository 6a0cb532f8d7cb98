/**
 * The errors of the RegPilot client.
 *
 *     RegPilotError                    anything this package throws
 *     ├── ConfigurationError           a missing key, an unknown environment, a bad base URL
 *     │   └── EnvironmentMismatchError the key's environment is not the client's
 *     ├── APIConnectionError           no answer (after the retries)
 *     │   └── APITimeoutError
 *     └── APIError                     the gateway answered an error: status, code, message, body
 *         ├── BadRequestError          400 (field)
 *         ├── AuthenticationError      401
 *         ├── PermissionDeniedError    403 (required)
 *         ├── NotFoundError            404
 *         ├── ConflictError            409
 *         ├── RateLimitError           429 (retryAfter, limit)
 *         ├── InternalServerError      5xx
 *         ├── APIStreamError           an error event inside a chat stream
 *         └── GovernorBlockedError     422 GOVERNOR_BLOCKED: the Governor withheld the answer (rules, governor)
 *
 * No message, stack or property of these ever holds the API key.
 */

import { governorResult } from './governor.js';
import type { GovernorResult } from './types.js';

export class RegPilotError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ConfigurationError extends RegPilotError {}

export class EnvironmentMismatchError extends ConfigurationError {
  readonly keyEnvironment: string;
  readonly environment: string;
  constructor(message: string, keyEnvironment: string, environment: string) {
    super(message);
    this.keyEnvironment = keyEnvironment;
    this.environment = environment;
  }
}

export class APIConnectionError extends RegPilotError {}

export class APITimeoutError extends APIConnectionError {}

export interface APIErrorInit {
  status: number;
  code?: string | undefined;
  body?: unknown;
  headers?: Record<string, string>;
}

export class APIError extends RegPilotError {
  /** The HTTP status. */
  readonly status: number;
  /** The gateway's error code, e.g. `INVALID_API_KEY`, `RATE_LIMIT_EXCEEDED` (README.md, "Errors"). */
  readonly code: string | undefined;
  /** The body's `error` sentence. */
  readonly error: string;
  /** The parsed JSON body (or its text). */
  readonly body: unknown;
  /** The response headers, lower-case names. */
  readonly headers: Record<string, string>;

  constructor(message: string, init: APIErrorInit) {
    const prefix = [init.status, init.code].filter((p) => p !== undefined && p !== null).join(' ');
    super(prefix ? `${prefix}: ${message}` : message);
    this.status = init.status;
    this.code = init.code;
    this.error = message;
    this.body = init.body;
    this.headers = init.headers ?? {};
  }

  protected field_(name: string): unknown {
    return this.body && typeof this.body === 'object' ? (this.body as Record<string, unknown>)[name] : undefined;
  }
}

export class BadRequestError extends APIError {
  /** The request field the gateway refused. */
  get field(): string | undefined {
    const v = this.field_('field');
    return typeof v === 'string' ? v : undefined;
  }
}

export class AuthenticationError extends APIError {}

export class PermissionDeniedError extends APIError {
  /** The scope the key lacks, e.g. `chat`, `compliance:write`. */
  get required(): string | undefined {
    const v = this.field_('required');
    return typeof v === 'string' ? v : undefined;
  }
}

export class NotFoundError extends APIError {}

export class ConflictError extends APIError {}

export class RateLimitError extends APIError {
  /** Seconds to wait, from the body's `retry_after` or the `Retry-After` header. */
  get retryAfter(): number | undefined {
    const v = this.field_('retry_after');
    if (typeof v === 'number') return v;
    const h = this.headers['retry-after'];
    const n = h === undefined ? NaN : Number(h);
    return Number.isFinite(n) ? n : undefined;
  }

  /** `burst` or `daily`. */
  get limit(): string | undefined {
    const v = this.field_('limit');
    return typeof v === 'string' ? v : undefined;
  }
}

export class InternalServerError extends APIError {}

export class APIStreamError extends APIError {}

/** The error code of a withheld answer. */
export const GOVERNOR_BLOCKED = 'GOVERNOR_BLOCKED';

/**
 * 422 `GOVERNOR_BLOCKED`: a project in the Governor's `block` mode withheld a high-risk answer.
 * `rules` names the findings' rule ids (e.g. `['pii.card']`); `governor` is the Governor's result
 * (score, level, audit id, findings) when the gateway sent it. Also thrown when a chat stream
 * ends with an error event of that code.
 */
export class GovernorBlockedError extends APIError {
  get rules(): string[] {
    const v = this.field_('rules');
    return Array.isArray(v) ? v.map(String) : [];
  }

  get governor(): GovernorResult | undefined {
    const v = this.field_('governor');
    return v && typeof v === 'object' ? governorResult(v as Record<string, unknown>) : undefined;
  }
}

/** The error class of an answer: by the code where it says more than the status, else by the status. */
export function errorClassFor(status: number, code?: string): typeof APIError {
  if (code === GOVERNOR_BLOCKED) return GovernorBlockedError;
  if (status === 400) return BadRequestError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 429) return RateLimitError;
  if (status >= 500) return InternalServerError;
  return APIError;
}
