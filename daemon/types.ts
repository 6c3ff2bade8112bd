// The small interfaces the daemon is built around. The real ledger (chain `Ledger`) and the real
// engine (engine `Engine`) satisfy them structurally; tests may use in-memory stand-ins, the product
// never does (see `open.ts`, which wires the real parts).

// Entries are the chain part's, requests and decisions the engine part's: one definition each.
import type { Entry, EntryInput } from '../chain/index.js';
import type { Decision, EffectVector, GateRequest, PolicyRef, Verdict } from '../engine/index.js';

export type { Decision, EffectVector, Entry, EntryInput, GateRequest, PolicyRef, Verdict };

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
