// The daemon part's public surface: other parts import only from here.
export { hashToken, type Identity, newToken, TokenAuthority } from './auth.js';
export { type ClientOptions, DaemonClient, type DaemonDecision } from './client.js';
export {
  type ConfigProblem,
  checkConfigFile,
  type DaemonConfig,
  ENV_OVERRIDES,
  loadConfig,
  SCOPES,
  type Scope,
} from './config.js';
export { DaemonError, type DaemonErrorCode, httpStatus } from './errors.js';
export { exampleConfigText, install, unitText } from './install.js';
export { DaemonMetrics } from './metrics.js';
export {
  type BackgroundService,
  type DaemonParts,
  type RunningDaemon,
  runDaemonProcess,
  type ServiceContext,
  startDaemon,
  VERSION,
  verifyTail,
} from './run.js';
export { buildServer } from './server.js';
export { GateService, RESERVED_PREFIXES } from './service.js';
export type {
  Decision,
  DecisionSource,
  Entry,
  EntryInput,
  EventChecker,
  GateRequest,
  LedgerWriter,
} from './types.js';
