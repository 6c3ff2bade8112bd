// The Engine: routes each request to the policy serving its gate and evaluates it in a piscina
// pool (single or batch) or in-process (evaluateSync). Never throws for a request: a policy that
// misbehaves, a dead worker or the wall-clock backstop all become `deny` decisions with a reason.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type EncodedResults, encodeBatch, REFUSED_BAD_REQUEST, resultString } from './batch.js';
import type { LoadedPolicy } from './load.js';
import { PolicyRuntime } from './runtime.js';
import {
  type Decision,
  type EngineReason,
  type GateRequest,
  type PolicyRef,
  VERDICTS,
  type Verdict,
} from './types.js';

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  const local = join(dirname(here), 'worker.js');
  if (!here.endsWith('.ts') && existsSync(local)) return local;
  // Running from TypeScript sources (vitest): the worker comes from the build (npm test builds first).
  return join(dirname(here), '..', 'dist', 'engine', 'worker.js');
}

const NO_POLICY: PolicyRef = { name: '', version: '', sha256: '' };
/** Routes of requests no worker sees: the engine answers them itself. */
const REFUSED_NO_POLICY = -2;

/**
 * The request check. `contextValues: false` leaves the context's members unread (encodeBatch reads
 * them once anyway and refuses a request with a value that is not a string).
 */
function isRequest(r: unknown, contextValues = true): r is GateRequest {
  if (typeof r !== 'object' || r === null) return false;
  // Named reads: one keyed access site over six names goes megamorphic (~100 ns a request).
  const q = r as Partial<Record<keyof GateRequest, unknown>>;
  if (
    typeof q.gate !== 'string' ||
    typeof q.actor !== 'string' ||
    typeof q.role !== 'string' ||
    typeof q.mode !== 'string' ||
    typeof q.posture !== 'string' ||
    typeof q.environment !== 'string'
  )
    return false;
  const effect = q.effect;
  if (effect !== undefined && (typeof effect !== 'object' || effect === null)) return false;
  const context = q.context;
  if (context !== undefined) {
    if (typeof context !== 'object' || context === null) return false;
    if (!contextValues) return true;
    const c = context as Record<string, unknown>;
    for (const k in c) if (Object.hasOwn(c, k) && typeof c[k] !== 'string') return false;
  }
  return true;
}

export class Engine {
  private readonly refs: PolicyRef[];
  private readonly byGate = new Map<string, number>();
  private wildcard: number;
  private sync: (PolicyRuntime | undefined)[] = [];
  private constructor(
    readonly policies: LoadedPolicy[],
    private readonly pool: Piscina | undefined,
    private readonly threads: number,
    private readonly timeoutMs: number,
  ) {
    this.refs = policies.map((p) => ({
      name: p.manifest.name,
      version: p.manifest.version,
      sha256: p.sha256,
    }));
    let wild = -1;
    policies.forEach((p, i) => {
      for (const g of p.manifest.gates) {
        if (g === '*') wild = wild < 0 ? i : wild;
        else if (!this.byGate.has(g)) this.byGate.set(g, i);
      }
    });
    this.wildcard = wild;
  }

  static async create(opts: {
    policies: LoadedPolicy[];
    threads?: number;
    timeoutMs?: number;
    /** Send gates no policy lists to the first policy (testing one package's own unknown-gate rule). */
    routeAll?: boolean;
  }): Promise<Engine> {
    // threads: 0 = no pool (CLI one-shots): evaluate/evaluateBatch run in-process.
    const threads = Math.max(0, Math.floor(opts.threads ?? 2));
    const pool =
      threads === 0
        ? undefined
        : new Piscina({
            filename: workerFile(),
            minThreads: threads,
            maxThreads: threads,
            idleTimeout: Number.POSITIVE_INFINITY,
            workerData: { policies: opts.policies.map((p) => p.spec) },
          });
    const e = new Engine(opts.policies, pool, threads, opts.timeoutMs ?? 2000);
    if (opts.routeAll && opts.policies.length > 0 && e.wildcard < 0) e.wildcard = 0;
    // Pool up: every worker instantiated before the first real request.
    if (pool)
      await Promise.all(
        Array.from({ length: threads }, () => pool.run(encodeBatch([], 0, 0, () => 0, new Int32Array(0)))),
      );
    return e;
  }

  /** Index of the policy serving a gate, or -1. */
  policyFor(gate: string): number {
    return this.byGate.get(gate) ?? this.wildcard;
  }

  private engineDecision(reason: EngineReason, pi: number): Decision {
    return { verdict: 'deny', reason, rule: `engine.${reason}`, fuel: 0, policy: this.refs[pi] ?? NO_POLICY };
  }

  evaluateSync(req: GateRequest): Decision {
    if (!isRequest(req)) return this.engineDecision('bad_request', -1);
    const pi = this.policyFor(req.gate);
    if (pi < 0) return this.engineDecision('no_policy', -1);
    let rt = this.sync[pi];
    if (rt === undefined) {
      rt = new PolicyRuntime((this.policies[pi] as LoadedPolicy).spec);
      this.sync[pi] = rt;
    }
    const d = rt.evaluate(req);
    return {
      verdict: d.verdict,
      reason: d.reason,
      rule: d.rule,
      fuel: d.fuel,
      policy: this.refs[pi] as PolicyRef,
    };
  }

  async evaluate(req: GateRequest): Promise<Decision> {
    return (await this.evaluateBatch([req]))[0] as Decision;
  }

  async evaluateBatch(reqs: GateRequest[]): Promise<Decision[]> {
    const n = reqs.length;
    const out: Decision[] = new Array(n);
    if (this.pool === undefined) {
      for (let i = 0; i < n; i++) out[i] = this.evaluateSync(reqs[i] as GateRequest);
      return out;
    }
    // Two chunks a worker. Each is checked, routed and encoded in one pass and posted at once, so the
    // first worker starts while the next chunk is still being encoded, and a worker that finishes
    // early takes a chunk still queued (with one chunk a worker, the second waited for the whole
    // first chunk's encoding, and the main thread decoded the last results alone).
    const chunks = Math.max(1, Math.min(2 * this.threads, Math.ceil(n / 256)));
    const size = Math.ceil(n / chunks);
    const jobs: Promise<void>[] = [];
    for (let from = 0; from < n; from += size)
      jobs.push(this.runChunk(reqs, from, Math.min(n, from + size), out));
    await Promise.all(jobs);
    return out;
  }

  /** The last gate routed and its policy index (a batch repeats gates: no map lookup then). */
  private routeGate = '';
  private routePi = -1;

  /** Policy index for a request, or one of the REFUSED_ routes. */
  private readonly route = (q: unknown): number => {
    if (!isRequest(q, false)) return REFUSED_BAD_REQUEST;
    if (q.gate !== this.routeGate || this.routePi === -1) {
      this.routeGate = q.gate;
      this.routePi = this.policyFor(q.gate);
    }
    const pi = this.routePi;
    return pi < 0 ? REFUSED_NO_POLICY : pi;
  };

  private async runChunk(reqs: GateRequest[], from: number, to: number, out: Decision[]): Promise<void> {
    const pol = new Int32Array(to - from);
    const enc = encodeBatch(reqs, from, to, this.route, pol);
    // Nothing for a worker (every request refused): answered without a round trip.
    let first = 0;
    while (first < pol.length && (pol[first] as number) < 0) first++;
    if (first === pol.length) {
      for (let k = 0; k < to - from; k++) out[from + k] = this.refused(pol[k] as number);
      return;
    }
    const timeout = this.timeoutMs * Math.max(1, Math.ceil((to - from) / 1000));
    let res: EncodedResults;
    try {
      // The typed arrays are moved to the worker, not copied (a copy cost ~50 ns a request here).
      res = (await (this.pool as Piscina).run(enc, {
        signal: AbortSignal.timeout(timeout),
        transferList: [enc.ints.buffer, enc.effects.buffer, enc.ctx.buffer] as ArrayBuffer[],
      })) as EncodedResults;
    } catch (err) {
      // The backstop fired (piscina terminates and replaces the worker) or the worker died.
      const reason: EngineReason =
        (err as Error).name === 'AbortError' || /abort/i.test(String(err)) ? 'timeout' : 'trap';
      for (let k = 0; k < to - from; k++) {
        const pi = pol[k] as number;
        if (pi < 0) out[from + k] = this.refused(pi);
        else {
          const d = this.engineDecision(reason, pi);
          d.fuel = (this.policies[pi] as LoadedPolicy).manifest.fuel;
          out[from + k] = d;
        }
      }
      return;
    }
    for (let k = 0; k < to - from; k++) {
      const pi = pol[k] as number;
      out[from + k] =
        pi < 0
          ? this.refused(pi)
          : {
              verdict: VERDICTS[res.verdicts[k] as number] as Verdict,
              reason: resultString(res, k, 0),
              rule: resultString(res, k, 1),
              fuel: res.fuel[k] as number,
              policy: this.refs[pi] as PolicyRef,
            };
    }
  }

  private refused(pi: number): Decision {
    return this.engineDecision(pi === REFUSED_BAD_REQUEST ? 'bad_request' : 'no_policy', -1);
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}
