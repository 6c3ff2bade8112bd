// Wiring of the real parts: the chain part's `Ledger`, catalogue and scanner, and the engine part's
// `Engine`. They are resolved from their parts' index modules at run time so the daemon builds
// while those parts land in parallel; a missing part is a clear ENGINE_UNAVAILABLE /
// LEDGER_UNAVAILABLE at boot, never a silent fake.
import * as chain from '../chain/index.js';
import type { DaemonConfig } from './config.js';
import { DaemonError } from './errors.js';
import type {
  Decision,
  DecisionSource,
  EventChecker,
  GateRequest,
  LedgerWriter,
  PolicyRef,
} from './types.js';

interface LedgerClass {
  open(path: string, opts?: Record<string, unknown>): Promise<LedgerWriter>;
}
interface ChainRuntime {
  Ledger?: LedgerClass;
  validateEvent?: (kind: string, payload: unknown) => void;
  createSecretScanner?: (opts: { mode: 'refuse' | 'redact'; operatorSecret?: string }) => {
    scan<T>(v: T): T;
  };
}
const rt = chain as unknown as ChainRuntime;

/** Whether the chain part's catalogue and scanner are present (recorded in boot.config). */
export function catalogueAvailable(): { catalogue: boolean; scanner: boolean } {
  return { catalogue: rt.validateEvent !== undefined, scanner: rt.createSecretScanner !== undefined };
}

/**
 * The catalogue + sensitivity checks from the chain part. While chain/kinds.ts or
 * chain/sensitivity.ts are absent, kinds are only checked for shape and no scan runs; boot.config
 * records which checks are active (`checks`), so an auditor sees it.
 */
export function realChecker(cfg: DaemonConfig): EventChecker {
  const validate =
    rt.validateEvent ??
    ((kind: string) => {
      if (!/^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/.test(kind)) {
        throw new DaemonError(
          'UNKNOWN_KIND',
          `event kind ${JSON.stringify(kind)} is not a dotted lower-case name`,
        );
      }
    });
  const scanner = ledgerScanner(cfg);
  return { validate: (k, p) => validate(k, p), scan: (v) => (scanner === undefined ? v : scanner.scan(v)) };
}

export function ledgerScanner(cfg: DaemonConfig): { scan<T>(v: T): T } | undefined {
  return rt.createSecretScanner?.({ mode: cfg.ledger.scan, operatorSecret: cfg.ledger.secret });
}

export async function openRealLedger(cfg: DaemonConfig, sidecars: unknown[]): Promise<LedgerWriter> {
  if (rt.Ledger === undefined)
    throw new DaemonError('LEDGER_UNAVAILABLE', 'the chain part has no ledger store yet (chain/store.ts)');
  try {
    return await rt.Ledger.open(cfg.ledger.path, {
      secret: cfg.ledger.secret,
      scanner: ledgerScanner(cfg),
      validate: rt.validateEvent,
      sidecars,
      lockWaitMs: 500,
      maxBatch: cfg.ledger.maxBatch,
      // The event loop serves HTTP while a big batch's hashes and MACs are computed.
      buildThread: true,
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'LOCKED') {
      throw new DaemonError(
        'LEDGER_UNAVAILABLE',
        `${cfg.ledger.path} is held by another process (${(err as Error).message})`,
        { exitCode: 2, cause: err },
      );
    }
    throw err;
  }
}

// ---- engine ----
export interface LoadedPolicyLike {
  manifest: { name: string; version: string; gates: string[]; component?: { sha256: string } };
  sha256?: string;
}
interface EngineLike {
  evaluate(req: GateRequest): Promise<Decision>;
  evaluateBatch(reqs: GateRequest[]): Promise<Decision[]>;
  close(): Promise<void>;
}
export interface EngineRuntime {
  Engine: {
    create(opts: { policies: unknown[]; threads?: number; timeoutMs?: number }): Promise<EngineLike>;
  };
  loadPolicy(dir: string, opts: { trust?: unknown; allowUnsigned?: boolean }): Promise<unknown>;
  loadTrustFile?: (path: string) => unknown;
  readTrustFile?: (path: string) => unknown;
}

export async function engineRuntime(): Promise<EngineRuntime> {
  const spec = '../engine/index.js';
  try {
    const m = (await import(spec)) as Partial<EngineRuntime>;
    if (m.Engine === undefined || m.loadPolicy === undefined)
      throw new Error('engine/index has no Engine/loadPolicy');
    return m as EngineRuntime;
  } catch (err) {
    throw new DaemonError(
      'ENGINE_UNAVAILABLE',
      `the policy engine cannot be loaded: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

export function policyRef(p: unknown): PolicyRef & { gates: string[] } {
  const l = p as LoadedPolicyLike;
  return {
    name: l.manifest.name,
    version: l.manifest.version,
    sha256: l.sha256 ?? l.manifest.component?.sha256 ?? '',
    gates: [...l.manifest.gates],
  };
}

/** A DecisionSource over one engine instance and the policies it was created with. */
export class EngineDecisions implements DecisionSource {
  private gates: Set<string>;
  private any: boolean;
  constructor(
    private engine: EngineLike,
    private policies: unknown[],
  ) {
    const gs = policies.flatMap((p) => policyRef(p).gates);
    this.gates = new Set(gs);
    this.any = this.gates.has('*');
  }
  static async create(rtm: EngineRuntime, policies: unknown[], threads: number): Promise<EngineDecisions> {
    return new EngineDecisions(await rtm.Engine.create({ policies, threads }), policies);
  }
  serves(gate: string): boolean {
    return this.any || this.gates.has(gate);
  }
  evaluate(req: GateRequest): Promise<Decision> {
    return this.engine.evaluate(req);
  }
  evaluateBatch(reqs: GateRequest[]): Promise<Decision[]> {
    return this.engine.evaluateBatch(reqs);
  }
  active() {
    return this.policies.map(policyRef);
  }
  close(): Promise<void> {
    return this.engine.close();
  }
}
