// One measured figure of a benchmark. `value` is our figure (a median after warm-up unless the name
// says otherwise); `peers` holds figures of other implementations measured in the same run.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** Human-readable target, e.g. ">= 100000" or "< 1 ms". */
  target?: string;
  /** Whether `value` meets `target`; absent when the figure is reported without a target. */
  pass?: boolean;
  peers?: Record<string, number>;
  notes?: string;
}

export type Bench = () => Promise<BenchResult[]>;
