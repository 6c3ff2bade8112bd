// Pool worker: instantiates every policy once from the compiled modules posted by the engine and
// answers encoded batches (engine/batch.ts).
import { workerData } from 'node:worker_threads';
import { type EncodedBatch, type EncodedResults, INTS, ResultsWriter, utf8All } from './batch.js';
import { PolicyRuntime, type PolicySpec } from './runtime.js';

const specs = (workerData as { policies: PolicySpec[] }).policies;
const runtimes = specs.map((s) => new PolicyRuntime(s));

export default function run(b: EncodedBatch): EncodedResults {
  const n = b.ints.length / INTS;
  const out = new ResultsWriter(n);
  // Each distinct string of the batch is encoded once; requests are assembled from indices, and the
  // runtime reuses a request's bytes when they are the same objects as the previous request's.
  const bytes = utf8All(b.strings);
  const ints = b.ints;
  const ctx = b.ctx;
  const sb: Uint8Array[] = [];
  // A request with the same strings as the previous one (same policy): `sb` already holds them.
  let prevPi = -1;
  let prevO = 0;
  for (let r = 0; r < n; r++) {
    const o = r * INTS;
    const pi = ints[o] as number;
    if (pi < 0) continue; // refused by the engine, which answers it
    const rt = runtimes[pi] as PolicyRuntime;
    const off = ints[o + 7] as number;
    const nctx = ints[o + 8] as number;
    // Written out: a loop over the six was the worker's own largest cost after the policy's.
    let same =
      pi === prevPi &&
      nctx === ints[prevO + 8] &&
      ints[o + 1] === ints[prevO + 1] &&
      ints[o + 2] === ints[prevO + 2] &&
      ints[o + 3] === ints[prevO + 3] &&
      ints[o + 4] === ints[prevO + 4] &&
      ints[o + 5] === ints[prevO + 5] &&
      ints[o + 6] === ints[prevO + 6];
    if (same) {
      const prevOff = ints[prevO + 7] as number;
      for (let i = 0; same && i < 2 * nctx; i++) same = ctx[off + i] === ctx[prevOff + i];
    }
    if (!same) {
      for (let i = 0; i < 6; i++) sb[i] = bytes[ints[o + 1 + i] as number] as Uint8Array;
      for (let i = 0; i < 2 * nctx; i++) sb[6 + i] = bytes[ctx[off + i] as number] as Uint8Array;
      if (sb.length !== 6 + 2 * nctx) sb.length = 6 + 2 * nctx;
    }
    rt.runInto(sb, nctx, b.effects, r * 5, out, r, same);
    prevPi = pi;
    prevO = o;
  }
  return out.finish();
}
