// Pool worker: instantiates every policy once from the compiled modules posted by the engine and
// answers encoded batches (engine/batch.ts).
import { workerData } from 'node:worker_threads';
import { decodeRequest, type EncodedBatch, type EncodedResults, INTS } from './batch.js';
import { PolicyRuntime, type PolicySpec } from './runtime.js';
import { VERDICTS } from './types.js';

const specs = (workerData as { policies: PolicySpec[] }).policies;
const runtimes = specs.map((s) => new PolicyRuntime(s));

export default function run(b: EncodedBatch): EncodedResults {
  const n = b.ints.length / INTS;
  const verdicts = new Uint8Array(n);
  const fuel = new Int32Array(n);
  const reasons = new Int32Array(n);
  const rules = new Int32Array(n);
  const strings: string[] = [];
  const table = new Map<string, number>();
  const id = (s: string): number => {
    let i = table.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      table.set(s, i);
    }
    return i;
  };
  for (let r = 0; r < n; r++) {
    const rt = runtimes[b.ints[r * INTS] as number] as PolicyRuntime;
    const d = rt.evaluate(decodeRequest(b, r));
    verdicts[r] = VERDICTS.indexOf(d.verdict);
    fuel[r] = d.fuel;
    reasons[r] = id(d.reason);
    rules[r] = id(d.rule);
  }
  return { strings, verdicts, fuel, reasons, rules };
}
