// The Governor's result as the SDK hands it out: from an answer's `governor` object (or a
// stream's `governor` event), else from the `x-governor-*` headers (docs/governor.md).
import type { GovernorResult } from './types.js';

/** A result from its JSON object; `findings` is always an array. */
export function governorResult(g: Record<string, unknown>): GovernorResult {
  return { ...g, findings: Array.isArray(g.findings) ? g.findings : [] } as GovernorResult;
}

/** The result from the `x-governor-*` headers (no findings, mode or country: those are only in the body). */
export function governorFromHeaders(headers: Headers): GovernorResult | undefined {
  const validated = headers.get('x-governor-validated');
  if (validated === null) return undefined;
  const num = (name: string): number => {
    const n = Number(headers.get(name) ?? 0);
    return Number.isFinite(n) ? n : 0;
  };
  const result: GovernorResult = {
    validated: validated.trim().toLowerCase() === 'true',
    riskScore: num('x-governor-risk-score'),
    riskLevel: (headers.get('x-governor-risk-level') ?? undefined) as GovernorResult['riskLevel'],
    action: (headers.get('x-governor-action') ?? undefined) as GovernorResult['action'],
    violations: num('x-governor-violations'),
    findings: [],
  };
  const auditId = headers.get('x-governor-audit-id');
  if (auditId !== null) result.auditId = auditId;
  return result;
}

/** An answer's result: the body's `governor` object, else the headers. */
export function governorOf(body: Record<string, unknown>, headers: Headers): GovernorResult | undefined {
  const g = body.governor;
  if (g && typeof g === 'object' && !Array.isArray(g)) return governorResult(g as Record<string, unknown>);
  return governorFromHeaders(headers);
}
