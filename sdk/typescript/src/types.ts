/**
 * Types of the RegPilot client's requests and answers: every answer of the gateway has a declared
 * interface here. The compliance and usage objects keep the JSON's snake_case names (as the
 * gateway sends them); the chat answer and the Governor's result on it are camelCase, as on the wire.
 */

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
  /**
   * Asks the Governor to validate the answer (sent as given): its result is `governor` on the
   * answer or the stream; a withheld answer throws GovernorBlockedError. A key without the
   * `governor` permission, or a plan without the Governor, gets a 403.
   */
  governorMetadata?: GovernorMetadata | undefined;
}

/** What the answer is for; each has a base risk (docs/governor.md). */
export type ActionType =
  | 'customer_support'
  | 'legal_advice'
  | 'medical_advice'
  | 'hr_message'
  | 'policy_warning'
  | 'suspension'
  | 'refund_denial'
  | 'other';

/** The `governorMetadata` of a chat request. */
export interface GovernorMetadata {
  actionType: ActionType | (string & {});
  /** Who sends the answer (an agent, a service). */
  senderId: string;
  /** ISO 3166-1 alpha-2; the client IP's country when absent. */
  recipientCountry?: string | undefined;
  recipientUserId?: string | undefined;
  senderRole?: string | undefined;
  department?: string | undefined;
  /** Free labels, e.g. `['refund', 'complaint']`. */
  contextTags?: string[] | undefined;
  [field: string]: unknown;
}

/** The band of a 0–100 risk score: 0–30 low, 31–70 medium, 71–100 high. */
export type GovernorRiskLevel = 'low' | 'medium' | 'high';
/** What the Governor did with the answer. */
export type GovernorAction = 'approved' | 'sanitized' | 'flagged' | 'blocked';
/** The project's Governor mode. */
export type GovernorMode = 'sanitize' | 'block' | 'monitor';

/** One finding: its rule, category, severity and where in the text (character offsets); never the matched text. */
export interface GovernorFinding {
  /** e.g. `pii.email`, or a custom policy's rule id. */
  rule: string;
  /** e.g. `personal_data`, `secret`, `content`, `duty`, `policy`. */
  category: string;
  severity: Severity;
  start: number;
  end: number;
  /** A shadow policy's finding: reported, not acted on. */
  shadow: boolean;
}

/** The Governor's verdict on an answer (`completion.governor`, `stream.governor`). */
export interface GovernorResult {
  validated: boolean;
  /** 0–100. */
  riskScore: number;
  riskLevel: GovernorRiskLevel;
  action: GovernorAction;
  /** The audit entry (`gva_…`), see `compliance.governorAudits`. */
  auditId?: string | undefined;
  /** Absent when the result came from the `x-governor-*` headers only. */
  mode?: GovernorMode | undefined;
  /** ISO 3166-1 alpha-2, or `unknown`; absent when the result came from the headers only. */
  recipientCountry?: string | undefined;
  /** The number of findings acted on. */
  violations: number;
  /** Empty when the result came from the headers only. */
  findings: GovernorFinding[];
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
  /** The Governor's result when the request carried `governorMetadata`, else undefined. */
  governor: GovernorResult | undefined;
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

/** Open violations by severity. */
export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  total: number;
}

export interface RegistrySummary {
  active: number;
  archived: number;
  /** Active models at `unacceptable` risk (practices the EU AI Act prohibits). */
  unacceptable: number;
  high_risk: number;
  /** Share of the documentation fields filled in across active models, 0 to 1. */
  completeness: number;
}

/** GET /api/compliance/status (the formula: docs/compliance.md). */
export interface ComplianceStatus {
  project_id: string;
  score: number;
  status: 'compliant' | 'at_risk' | 'non_compliant';
  open_violations: SeverityCounts;
  registry: RegistrySummary;
  formula: string;
}

export type PolicyAppliesTo = 'response' | 'prompt' | 'both';
export type PolicyAction = 'block' | 'warn' | 'redact' | 'replace' | 'append' | 'require_approval' | 'log' | 'notify';

/** A custom Governor policy of the project. */
export interface Policy {
  id: string;
  project_id: string;
  name: string;
  keywords: string[];
  /** A regular expression, or null for a keyword policy. */
  pattern: string | null;
  applies_to: PolicyAppliesTo;
  action: PolicyAction;
  severity: Severity;
  /** The text a `replace` policy puts in. */
  replacement: string | null;
  /** The text an `append` policy adds. */
  appendix: string | null;
  enabled: boolean;
  /** A shadow policy reports its findings without acting on them. */
  shadow: boolean;
  /** Raised by every change. */
  version: number;
  created_at: string;
  updated_at: string;
}

/** POST /api/compliance/policies: `name` and `action` are required; left-out fields take the gateway's defaults. */
export interface PolicyCreateParams {
  name: string;
  keywords?: string[] | undefined;
  /** A regular expression (size-limited; one that does not compile is a 400 naming `pattern`). */
  pattern?: string | undefined;
  applies_to?: PolicyAppliesTo | undefined;
  action: PolicyAction;
  severity?: Severity | undefined;
  replacement?: string | undefined;
  appendix?: string | undefined;
  enabled?: boolean | undefined;
  shadow?: boolean | undefined;
}

/** PATCH /api/compliance/policies/{id}: the fields given are changed; `null` clears `pattern`, `replacement` or `appendix`. */
export interface PolicyUpdateParams {
  name?: string | undefined;
  keywords?: string[] | undefined;
  pattern?: string | null | undefined;
  applies_to?: PolicyAppliesTo | undefined;
  action?: PolicyAction | undefined;
  severity?: Severity | undefined;
  replacement?: string | null | undefined;
  appendix?: string | null | undefined;
  enabled?: boolean | undefined;
  shadow?: boolean | undefined;
}

/** One Governor validation: never the text itself, only the SHA-256 digests of the original and the delivered text. */
export interface GovernorAudit {
  id: string;
  project_id: string;
  key_id: string | null;
  created_at: string;
  target: 'response' | 'prompt';
  action_type: string | null;
  sender_id: string | null;
  recipient_country: string | null;
  risk_score: number;
  risk_level: GovernorRiskLevel;
  action: GovernorAction;
  mode: GovernorMode;
  findings: GovernorFinding[];
  original_sha256: string;
  delivered_sha256: string;
  /** The compliance violation opened for this result, if any. */
  violation_id: string | null;
}

/** The project's Governor settings (`client.compliance.governorSettings`; docs/governor.md, "Project settings"). */
export interface GovernorSettings {
  project_id: string;
  /** Whether the project's plan offers the Governor (pro and enterprise). */
  available: boolean;
  /** Whether chat requests with `governorMetadata` are validated. */
  enabled: boolean;
  mode: GovernorMode;
  check_prompts: boolean;
  /** The lowest level that opens a compliance violation. */
  violations: 'high' | 'medium';
  updated_at: string | null;
}

/** PATCH /api/compliance/governor/settings: the fields given are changed, the others stay. */
export interface GovernorSettingsUpdateParams {
  mode?: GovernorMode | undefined;
  /** Pro projects only: an enterprise project has the Governor always (a 400 naming `enabled`). */
  enabled?: boolean | undefined;
  check_prompts?: boolean | undefined;
  violations?: 'high' | 'medium' | undefined;
}

/** A page of GET /api/compliance/governor/audits, newest first. */
export interface GovernorAuditPage {
  audits: GovernorAudit[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

export interface GovernorAuditListParams {
  level?: GovernorRiskLevel | undefined;
  /** RFC 3339, or a Date. */
  since?: string | Date | undefined;
  /** The page size. */
  limit?: number | undefined;
  /** A page's `next_cursor`. */
  cursor?: string | undefined;
}

export type UsagePeriod = 'day' | 'week' | 'month';

/** One model of one provider over the period. */
export interface ModelUsage {
  model: string;
  provider: string;
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** US cents, 6 decimal places. */
  cost_cents: number;
}

/** AI calls, tokens and cost over the period, and each model's share (highest cost first). */
export interface AIUsage {
  calls: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_cents: number;
  models: ModelUsage[];
}

export interface CountryUsage {
  /** ISO 3166-1 alpha-2, or `unknown`. */
  country: string;
  requests: number;
}

export interface DayUsage {
  /** `YYYY-MM-DD` (UTC). */
  date: string;
  requests: number;
  errors: number;
  error_rate: number;
}

/** One key's line in the usage report. */
export interface KeyUsageSummary {
  key_id: string;
  name: string;
  prefix: string;
  type: 'gateway' | 'project';
  environment: 'development' | 'staging' | 'production';
  status: 'active' | 'inactive' | 'deleted';
  requests: number;
  errors: number;
  error_rate: number;
  rate_limited: number;
  avg_latency_ms: number | null;
  last_used_at: string | null;
  countries: CountryUsage[];
  ai: AIUsage;
}

/** GET /api/usage (docs/usage-monitoring.md). */
export interface UsageReport {
  project_id: string;
  period: UsagePeriod;
  /** RFC 3339: UTC midnight of the period's first day. */
  from: string;
  /** RFC 3339: the time of the report. */
  to: string;
  requests: number;
  errors: number;
  error_rate: number;
  rate_limited: number;
  avg_latency_ms: number | null;
  ai: AIUsage;
  /** Keys with requests in the period, most first. */
  keys: KeyUsageSummary[];
  /** Every day of the period, oldest first. */
  days: DayUsage[];
}
