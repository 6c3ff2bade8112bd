// Types of the engine's public contract (BRIEF "Engine" section; WIT in policies/wit/gate.wit).
export type Verdict = 'permit' | 'permit-with-warning' | 'escalate' | 'deny';
export const VERDICTS: readonly Verdict[] = ['permit', 'permit-with-warning', 'escalate', 'deny'];

export interface EffectVector {
  risk?: number;
  fairness?: number;
  privacy?: number;
  novelty?: number;
  security?: number;
}
export const DIMENSIONS = ['risk', 'fairness', 'privacy', 'novelty', 'security'] as const;

export interface GateRequest {
  gate: string;
  actor: string;
  role: string;
  mode: string;
  posture: string;
  environment: string;
  effect: EffectVector;
  context: Record<string, string>;
}

export interface PolicyRef {
  name: string;
  version: string;
  sha256: string;
}

export interface Decision {
  verdict: Verdict;
  reason: string;
  rule: string;
  fuel: number;
  policy: PolicyRef;
}

/** manifest.json of a policy package (BRIEF "Policy contract and core ABI"). */
export interface Manifest {
  schema: 'gavel.policy/v1';
  name: string;
  version: string;
  world: string;
  gates: string[];
  fuel: number;
  maxMemoryPages: number;
  component: { file: string; sha256: string };
  instrumenter: { name: string; version: string; pass: string };
  description?: string;
}

/** Reason codes of decisions the engine makes itself (a policy's own reasons are free text). */
export type EngineReason =
  | 'fuel_exhausted'
  | 'trap'
  | 'stack_overflow'
  | 'memory_limit'
  | 'bad_output'
  | 'timeout'
  | 'no_policy'
  | 'bad_request';
