// The engine's public surface (BRIEF "Engine"). Other parts import only from here.
export { checkWorld, coreModules, WORLD } from './component.js';
export { Engine } from './engine.js';
export { EngineError } from './errors.js';
export {
  FUEL_PASSES,
  type FuelPass,
  INSTRUMENTER,
  inspectCore,
  instrument,
  MEMORY_CAP_PAGES,
  optimizeOnly,
} from './instrument.js';
export { type LoadedPolicy, loadPolicy, parseManifest, sha256Hex } from './load.js';
export { MAX_OUTPUT_STRING, PolicyRuntime, type PolicySpec, type RawDecision } from './runtime.js';
export {
  checkEnvelope,
  type DsseEnvelope,
  type EnvelopeReport,
  loadTrustFile,
  MANIFEST_PAYLOAD_TYPE,
  pae,
  parseTrust,
  parseVkey,
  requireTrusted,
  type SignatureCheck,
  type TrustFile,
  type TrustKey,
} from './trust.js';
export type {
  Decision,
  EffectVector,
  EngineReason,
  GateRequest,
  Manifest,
  PolicyRef,
  Verdict,
} from './types.js';
