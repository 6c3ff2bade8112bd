// The small interfaces the daemon is built around. The real ledger (chain `Ledger`) and the real
// engine (engine `Engine`) satisfy them structurally; tests may use in-memory stand-ins, the product
// never does (see `open.ts`, which wires the real parts).

/** What callers give the ledger (the brief's `EntryInput`). */
export interface EntryInput {
  kind: string;
  source?: string;
  agent?: string;
  component?: string;
  action?: string;
  detail?: string;
  outcome?: string;
  mode?: string;
  posture?: string;
  role?: string;
  session_hash?: string | null;
  payload?: Record<string, unknown>;
}

/** What the ledger wrote (the brief's `Entry`). */
export interface Entry extends Required<Omit<EntryInput, 'session_hash' | 'payload'>> {
  seq: number;
  timestamp: string;
  session_hash: string | null;
  payload: Record<string, unknown>;
  previous_hash: string;
  seal?: { epoch: number; mac: string };
  hash: string;
}

/** The single writer of the ledger: appends resolve only after fsync. */
export interface LedgerWriter {
  append(input: EntryInput): Promise<Entry>;
  appendBatch(inputs: EntryInput[]): Promise<Entry[]>;
  get(seq: number): Promise<Entry>;
  range(from: number, to: number): AsyncIterable<Entry>;
  readonly size: number;
  readonly head: Entry | undefined;
  close(): Promise<void>;
}

export type Verdict = 'permit' | 'permit-with-warning' | 'escalate' | 'deny';
export interface EffectVector {
  risk?: number;
  fairness?: number;
  privacy?: number;
  novelty?: number;
  security?: number;
}
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

/** Decides gate requests with the active policy set (the real one wraps engine `Engine`). */
export interface DecisionSource {
  /** True when an active policy serves `gate`. */
  serves(gate: string): boolean;
  evaluate(req: GateRequest): Promise<Decision>;
  evaluateBatch(reqs: GateRequest[]): Promise<Decision[]>;
  /** The policies currently active (name, version, sha256, gates). */
  active(): (PolicyRef & { gates: string[] })[];
  close(): Promise<void>;
}

/** Checks a typed event before it is written (catalogue + sensitivity; the real one is chain's). */
export interface EventChecker {
  validate(kind: string, payload: unknown): void;
  scan<T>(value: T): T;
}
