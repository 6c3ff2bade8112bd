// Pool worker: instantiates every policy once from the compiled modules posted by the engine and
// answers encoded batches (engine/batch.ts).
import { workerData } from 'node:worker_threads';
import { type EncodedBatch, type EncodedResults, INTS } from './batch.js';
import { PolicyRuntime, type PolicySpec } from './runtime.js';
import { VERDICTS } from './types.js';

const specs = (workerData as { policies: PolicySpec[] }).policies;
const runtimes = specs.map((s) => new PolicyRuntime(s));
const enc = new TextEncoder();

export default function run(b: EncodedBatch): EncodedResults {
  const n = b.ints.length / INTS;
  const verdicts = new Uint8Array(n);
  const fuel = new Int32Array(n);
  const reasons = new Int32Array(n);
  const rules = new Int32Array(n);
  const strings: string[] = [];
  const table = new Map<string, number>();
  // Reasons and rules repeat from one decision to the next (often the very same string object):
  // the last one of each is checked before the table.
  let lastReason = '';
  let lastReasonId = -1;
  let lastRule = '';
  let lastRuleId = -1;
  const id = (s: string): number => {
    let i = table.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      table.set(s, i);
    }
    return i;
  };
  // Each distinct string of the batch is encoded once; requests are assembled from indices, and the
  // runtime reuses a request's bytes when they are the same objects as the previous request's.
  const bytes = b.strings.map((x) => enc.encode(x));
  const ints = b.ints;
  const sb: Uint8Array[] = [];
  for (let r = 0; r < n; r++) {
    const o = r * INTS;
    const rt = runtimes[ints[o] as number] as PolicyRuntime;
    for (let i = 0; i < 6; i++) sb[i] = bytes[ints[o + 1 + i] as number] as Uint8Array;
    const off = ints[o + 7] as number;
    const nctx = ints[o + 8] as number;
    for (let i = 0; i < 2 * nctx; i++) sb[6 + i] = bytes[b.ctx[off + i] as number] as Uint8Array;
    if (sb.length !== 6 + 2 * nctx) sb.length = 6 + 2 * nctx;
    const d = rt.run(sb, nctx, b.effects, r * 5);
    verdicts[r] = VERDICTS.indexOf(d.verdict);
    fuel[r] = d.fuel;
    if (d.reason !== lastReason || lastReasonId < 0) {
      lastReason = d.reason;
      lastReasonId = id(d.reason);
    }
    reasons[r] = lastReasonId;
    if (d.rule !== lastRule || lastRuleId < 0) {
      lastRule = d.rule;
      lastRuleId = id(d.rule);
    }
    rules[r] = lastRuleId;
  }
  return { strings, verdicts, fuel, reasons, rules };
}
