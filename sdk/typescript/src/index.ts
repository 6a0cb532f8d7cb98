export {
  RegPilot,
  ChatStream,
  Chat,
  Health,
  Compliance,
  Violations,
  Models,
  Policies,
  GovernorAudits,
  GovernorSettingsResource,
  UsageResource,
  VERSION,
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_RETRIES,
  keyHint,
} from './client.js';
export type { ClientOptions, Environment } from './client.js';
export * from './errors.js';
export type * from './types.js';
export { RegPilot as default } from './client.js';
