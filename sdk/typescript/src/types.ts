/** Types of the RegPilot client's requests and answers. */

export type Role = 'system' | 'user' | 'assistant';
export type Quality = 'cheap' | 'balanced' | 'frontier';

export interface Message {
  role: Role;
  /** Text, or OpenAI's array of `{ type: 'text', text }` parts. */
  content: string | Array<{ type: 'text'; text: string }>;
}

export interface ChatCreateParams {
  messages: Message[];
  /** Routes to the tier's model (default `balanced`). */
  quality?: Quality | undefined;
  /** A model id of GET /api/ai/models; overrides `quality`. */
  model?: string | undefined;
  /** 0 to 2. */
  temperature?: number | undefined;
  /** At least 1. */
  maxTokens?: number | undefined;
  /** `json` asks the model for one JSON object. */
  mode?: 'text' | 'json' | undefined;
  /** Asks for Governor validation (403 on a plan without it, 501 in this version otherwise). */
  governorMetadata?: Record<string, unknown> | undefined;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** US cents (0 in test mode). */
  costCents: number;
}

export interface ChatCompletion {
  /** The answer's text. */
  content: string;
  model: string;
  /** The provider's name, or `simulator` for a development key. */
  provider: string;
  usage: Usage;
  finishReason: string | undefined;
  cacheHit: boolean;
  /** True when a development key was answered by the gateway's simulator. */
  testMode: boolean;
  /** The gateway's `x-regpilot-warning` header, if any. */
  warning: string | undefined;
  /** The JSON body of POST /api/ai/complete. */
  raw: Record<string, unknown>;
}

export interface HealthStatus {
  status: string;
  authenticated: boolean;
  project_id?: string;
  key_type?: 'gateway' | 'project';
  environment?: 'development' | 'staging' | 'production';
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type RiskLevel = 'unacceptable' | 'high' | 'limited' | 'minimal';

export interface Violation {
  id: string;
  project_id: string;
  title: string;
  description: string | null;
  severity: Severity;
  category: string | null;
  model_id: string | null;
  status: 'open' | 'resolved';
  created_at: string;
  created_by: string;
  resolved_at: string | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

export interface ViolationCreateParams {
  severity: Severity;
  /** May be left out when `description` is given: its first line is used. */
  title?: string | undefined;
  description?: string | undefined;
  category?: string | undefined;
  /** A model of the project's registry. */
  model_id?: string | undefined;
}

export interface ViolationUpdateParams {
  status?: 'open' | 'resolved' | undefined;
  /** Required to resolve. */
  note?: string | undefined;
}

export interface RegisteredModelFields {
  name?: string | undefined;
  risk_level?: RiskLevel | undefined;
  provider?: string | undefined;
  version?: string | undefined;
  purpose?: string | undefined;
  owner?: string | undefined;
}

export interface RegisteredModel {
  id: string;
  project_id: string;
  name: string;
  provider: string | null;
  version: string | null;
  purpose: string | null;
  risk_level: RiskLevel;
  owner: string | null;
  status: 'active' | 'archived';
  created_at: string;
  updated_at: string;
  archived_at: string | null;
}

export interface ComplianceStatus {
  project_id: string;
  score: number;
  status: 'compliant' | 'at_risk' | 'non_compliant';
  open_violations: { critical: number; high: number; medium: number; low: number; total: number };
  registry: { active: number; archived: number; unacceptable: number; high_risk: number; completeness: number };
  formula: string;
}

export type UsagePeriod = 'day' | 'week' | 'month';

/** GET /api/usage (docs/usage-monitoring.md). */
export interface UsageReport {
  project_id: string;
  period: UsagePeriod;
  from: string;
  to: string;
  requests: number;
  errors: number;
  error_rate: number;
  rate_limited: number;
  avg_latency_ms: number | null;
  ai?: Record<string, unknown>;
  keys: Array<Record<string, unknown>>;
  days: Array<{ date: string; requests: number; errors: number; error_rate: number }>;
  [field: string]: unknown;
}
