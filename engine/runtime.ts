// One instantiated, instrumented policy: lowers a GateRequest into the core ABI (BRIEF "Policy
// contract and core ABI"), calls the exports directly, lifts the decision, and restores the instance
// to its post-start state afterwards so nothing survives between evaluations.
// Pure of I/O: used in-process (evaluateSync) and inside each pool worker.
import { lastWordMask, putEffect, type ResultsWriter, sameWords } from './batch.js';
import { type EngineReason, type GateRequest, VERDICTS, type Verdict } from './types.js';

/** What a worker or the in-process engine needs to instantiate a policy. */
export interface PolicySpec {
  module: WebAssembly.Module;
  fuel: number;
  tracked: boolean;
  /** Default-less manifest facts used when the engine decides itself. */
  maxMemoryPages: number;
}
export interface RawDecision {
  verdict: Verdict;
  reason: string;
  rule: string;
  fuel: number;
}

/** Longest reason or rule string a policy may return (bytes). */
export const MAX_OUTPUT_STRING = 1024;

interface Exports {
  memory: WebAssembly.Memory;
  cabi_realloc(a: number, b: number, c: number, d: number): number;
  evaluate(p: number): number;
  cabi_post_evaluate?: (p: number) => void;
  gavel$snap(): void;
  gavel$reset(): void;
  gavel$begin(fuel: number, size: number): number;
  gavel$end(): number;
  /** Tracked modules: zero-fill the allocator's, the heap's and the request's ranges and reset (1),
   *  or do nothing (0). */
  gavel$finish(zeroFrom: number, hostLo: number, hostHi: number): number;
  gavel$low(): number;
  gavel$alloc_range(): number;
  gavel$set_split(at: number): void;
  gavel$get_fuel(): number;
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

function engineDecision(reason: EngineReason, fuel: number): RawDecision {
  return { verdict: 'deny', reason, rule: `engine.${reason}`, fuel };
}

export class PolicyRuntime {
  private ex!: Exports;
  private snapshot!: Uint8Array;
  private memBytes = 0;
  /** The snapshot holds only zeros from here on (the heap above what start wrote); -1 until known. */
  private zeroFrom = -1;
  private u8!: Uint8Array;
  private u32!: Uint32Array;
  private snap32!: Uint32Array;
  private dv!: DataView;
  private buf!: Buffer;
  private readonly strCache = new Map<string, Uint8Array>();
  /** The last string read at each place, when ASCII (compared char by char before reuse). */
  private readonly outCache = new Map<number, OutString>();
  /** Output strings read from memory the guest did not write (post-start bytes): keyed by place. */
  private readonly constCache = new Map<number, string>();
  /** Stores below this address are tracked as the low range (static data and the start's heap). */
  private split = 0;
  /** The low range (packed) the current call wrote, read once after evaluate (tracked modules). */
  private lowNow = 2 ** 49;

  constructor(readonly spec: PolicySpec) {
    this.instantiate();
  }

  private instantiate(): void {
    this.dropTemplate(); // a new memory: nothing of the old one is in it
    const inst = new WebAssembly.Instance(this.spec.module, {});
    this.ex = inst.exports as unknown as Exports;
    this.ex.gavel$snap();
    this.refreshViews();
    this.snapshot = this.u8.slice();
    this.snap32 = new Uint32Array(this.snapshot.buffer);
    this.memBytes = this.snapshot.length;
    if (this.zeroFrom < 0) {
      // Once per runtime, not on every re-instantiation after a trap (a byte scan of up to 16 MiB):
      // the post-start state is the same each time, as a policy imports nothing.
      let z = this.snapshot.length;
      while (z > 0 && this.snapshot[z - 1] === 0) z--;
      this.zeroFrom = z;
    }
    // Probe where the allocator puts a request (the heap start), then undo the probe: stores below
    // it (static data) and above it (the heap) are tracked as two separate ranges.
    let split = 0;
    try {
      split = Math.max(0, (this.ex.gavel$begin(this.spec.fuel, 8) >>> 0) - 256);
    } catch {
      split = 0;
    }
    if (this.ex.memory.buffer.byteLength === this.memBytes) {
      this.refreshViews();
      this.u8.set(this.snapshot);
      this.ex.gavel$reset();
      this.ex.gavel$set_split(split);
      this.split = split;
    } else {
      this.split = 0;
      this.ex = new WebAssembly.Instance(this.spec.module, {}).exports as unknown as Exports;
      this.ex.gavel$snap();
      this.refreshViews();
      this.ex.gavel$reset();
    }
  }

  private refreshViews(): void {
    const buf = this.ex.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.dv = new DataView(buf);
    this.buf = Buffer.from(buf);
  }

  private bytesOf(s: string): Uint8Array {
    let b = this.strCache.get(s);
    if (b === undefined) {
      b = enc.encode(s);
      if (this.strCache.size > 4096) this.strCache.clear();
      this.strCache.set(s, b);
    }
    return b;
  }

  private readonly scratch = new Float64Array(5);
  private readonly keys: string[] = [];
  private readonly sb: Uint8Array[] = [];

  // The request template: the bytes the last request's record, context array and strings took in
  // memory, kept outside it (`tplView`), so a next request with the same strings (by identity or
  // equal content) is written with one copy and its EffectVector. Nothing of a request stays in
  // memory after its evaluation (restore() returns its range to the snapshot): the allocator, which
  // runs before the host writes anything, finds the block it hands out as the snapshot left it, and
  // the guest then sees exactly the bytes a full write leaves (same allocation, record and strings).
  /** Strings (sync path) or encoded strings (worker path) of the template; [] = none. */
  private readonly tplKeys: unknown[] = [];
  /** Where the last request was written (-1 = nowhere since the last instantiation) and its length. */
  private tplBase = -1;
  private tplTotal = 0;
  /** The template's bytes: `tplView` = its first tplTotal bytes of `img` (a reused buffer). */
  private img = new Uint8Array(512);
  private imgDv = new DataView(this.img.buffer);
  private tplView = this.img.subarray(0, 0);
  /** The `img` tplView was cut from (a grown img is a new buffer). */
  private tplImg = this.img;

  evaluate(req: GateRequest): RawDecision {
    // Named reads and reused arrays: keyed reads over the member names went megamorphic, and
    // Object.entries built arrays per request.
    const keys = this.keys;
    keys[0] = str(req.gate);
    keys[1] = str(req.actor);
    keys[2] = str(req.role);
    keys[3] = str(req.mode);
    keys[4] = str(req.posture);
    keys[5] = str(req.environment);
    let n = 6;
    const ctx = req.context;
    if (ctx !== undefined && ctx !== null)
      for (const k in ctx) {
        if (!Object.hasOwn(ctx, k)) continue;
        keys[n++] = k;
        keys[n++] = str(ctx[k]);
      }
    if (keys.length !== n) keys.length = n;
    const f = this.scratch;
    putEffect(req.effect, f, 0);
    if (this.isTemplate(keys)) return this.exec(null, keys, (n - 6) / 2, f, 0, null, 0) as RawDecision;
    const sb = this.sb;
    for (let i = 0; i < n; i++) sb[i] = this.bytesOf(keys[i] as string);
    if (sb.length !== n) sb.length = n;
    return this.exec(sb, keys, (n - 6) / 2, f, 0, null, 0) as RawDecision;
  }

  /**
   * Evaluate an already-encoded request into decision `r` of a pool batch: `sb` = the six request
   * strings then key, value per context entry (UTF-8); `eff[effOff..effOff+5]` = the EffectVector
   * (NaN = not given). Pass the same Uint8Array objects for repeated strings: that is what lets a
   * request reuse the template. `same`: `sb` holds the strings of this runtime's previous request
   * (the template, unless that call dropped it), so they need not be compared again.
   */
  runInto(
    sb: Uint8Array[],
    nctx: number,
    eff: Float64Array,
    effOff: number,
    into: ResultsWriter,
    r: number,
    same = false,
  ): void {
    const tpl = same ? this.tplKeys.length !== 0 : this.isTemplate(sb);
    const d = this.exec(tpl ? null : sb, sb, nctx, eff, effOff, into, r);
    if (d === null) return;
    into.verdicts[r] = VERDICTS.indexOf(d.verdict);
    into.fuel[r] = d.fuel;
    into.string(r, 0, d.reason);
    into.string(r, 1, d.rule);
  }

  private isTemplate(keys: readonly unknown[]): boolean {
    const t = this.tplKeys;
    if (t.length !== keys.length || t.length === 0) return false;
    for (let i = 0; i < t.length; i++) if (t[i] !== keys[i]) return false;
    return true;
  }

  /** Forget the template (a new memory, or a call that did not end cleanly). */
  private dropTemplate(): void {
    this.tplKeys.length = 0;
    this.tplBase = -1;
  }

  /**
   * sb === null: the request is the template's (its bytes are copied in, then the EffectVector);
   * otherwise it is assembled in full and `keys` (what isTemplate compares) become the new template.
   * With `into`, a decision the policy returned is written there as decision `r` and null is returned.
   */
  private exec(
    sb: Uint8Array[] | null,
    keys: readonly unknown[],
    nctx: number,
    eff: Float64Array,
    effOff: number,
    into: ResultsWriter | null,
    r: number,
  ): RawDecision | null {
    const budget = this.spec.fuel;
    const ex = this.ex;
    let result: RawDecision | null;
    let clean = true;
    let total = this.tplTotal;
    if (sb !== null) {
      total = 96 + 16 * nctx;
      for (let i = 0; i < 6 + 2 * nctx; i++) total += (sb[i] as Uint8Array).length;
    }
    try {
      // One allocation for the record, the context array and every string (the guest cannot tell).
      const base = ex.gavel$begin(budget, total) >>> 0;
      if (this.u8.length === 0) this.refreshViews(); // grown: the old buffer is detached
      if (base % 8 !== 0 || base + total > this.u8.length) {
        clean = false;
        return engineDecision('bad_output', budget - ex.gavel$get_fuel());
      }
      const dv = this.dv;
      if (sb === null && base !== this.tplBase) {
        // Cannot happen with the globals reset after every call; never guess: fail closed.
        clean = false;
        return engineDecision('trap', budget - ex.gavel$get_fuel());
      }
      if (sb !== null) {
        // Assembled in the image (pointers as they will be in memory), then copied in at once.
        if (this.img.length < total) {
          this.img = new Uint8Array(Math.max(total, 2 * this.img.length));
          this.imgDv = new DataView(this.img.buffer);
        }
        const img = this.img;
        const idv = this.imgDv;
        let sp = 96 + 16 * nctx;
        for (let i = 0; i < 6; i++) {
          const b = sb[i] as Uint8Array;
          put(img, b, sp);
          idv.setUint32(i * 8, base + sp, true);
          idv.setUint32(i * 8 + 4, b.length, true);
          sp += b.length;
        }
        idv.setUint32(88, nctx === 0 ? 0 : base + 96, true);
        idv.setUint32(92, nctx, true);
        for (let i = 0; i < 2 * nctx; i++) {
          const b = sb[6 + i] as Uint8Array;
          put(img, b, sp);
          idv.setUint32(96 + i * 8, base + sp, true);
          idv.setUint32(96 + i * 8 + 4, b.length, true);
          sp += b.length;
        }
        if (this.tplView.length !== total || this.tplImg !== img) {
          this.tplView = img.subarray(0, total);
          this.tplImg = img;
        }
        // restore() returns exactly this range to the snapshot after the call, template or not.
        this.tplBase = base;
        this.tplTotal = total;
        if (this.spec.tracked) {
          // Copied into the template's own array (the caller reuses `keys`), no new array a request.
          const t = this.tplKeys;
          t.length = keys.length;
          for (let i = 0; i < keys.length; i++) t[i] = keys[i];
        }
      }
      this.u8.set(this.tplView, base);
      for (let i = 0; i < 5; i++) dv.setFloat64(base + 48 + i * 8, eff[effOff + i] as number, true);
      const out = ex.evaluate(base) >>> 0;
      const fuel = budget - ex.gavel$get_fuel();
      if (this.spec.tracked) this.lowNow = ex.gavel$low();
      result = into === null ? this.lift(out, fuel) : this.liftInto(out, fuel, into, r);
      if (ex.cabi_post_evaluate) {
        ex.cabi_post_evaluate(out);
        if (this.spec.tracked) this.lowNow = ex.gavel$low(); // it may have written more
      }
    } catch (err) {
      clean = false;
      const left = safeFuel(ex);
      const used = Math.min(budget, budget - left);
      // The stack depth a thread allows differs (main thread vs worker): a stack overflow reports the
      // whole budget so its decision is the same everywhere. A policy that ran into its memory cap
      // usually then spins or traps: name the cause.
      if (err instanceof RangeError && /call stack/i.test(err.message))
        result = engineDecision('stack_overflow', budget);
      else if (this.atCap()) result = engineDecision('memory_limit', left < 0 ? budget : used);
      else if (left < 0) result = engineDecision('fuel_exhausted', budget);
      else result = engineDecision('trap', used);
    } finally {
      this.restore(clean);
    }
    return result;
  }

  private atCap(): boolean {
    return this.ex.memory.buffer.byteLength >= this.spec.maxMemoryPages * 65536;
  }

  /** The verdict of the decision record at `out` (views refreshed first), or -1 when the record is
   *  misaligned, out of bounds or holds no verdict. */
  private verdictAt(out: number): number {
    if (this.u8.length === 0) this.refreshViews();
    if (out % 4 !== 0 || out + 20 > this.u8.length) return -1;
    const v = this.u8[out] as number;
    return v > 3 ? -1 : v;
  }

  private lift(out: number, fuel: number): RawDecision {
    const v = this.verdictAt(out);
    if (v < 0) return engineDecision('bad_output', fuel);
    const reason = this.str(this.dv.getUint32(out + 4, true), this.dv.getUint32(out + 8, true));
    const rule = this.str(this.dv.getUint32(out + 12, true), this.dv.getUint32(out + 16, true));
    if (reason === undefined || rule === undefined) return engineDecision('bad_output', fuel);
    return { verdict: VERDICTS[v] as Verdict, reason, rule, fuel };
  }

  /** As lift(), into decision `r` of a batch; null when written, else the engine's decision. */
  private liftInto(out: number, fuel: number, into: ResultsWriter, r: number): RawDecision | null {
    const v = this.verdictAt(out);
    if (v < 0) return engineDecision('bad_output', fuel);
    const dv = this.dv;
    if (
      !this.output(into, r, 0, dv.getUint32(out + 4, true), dv.getUint32(out + 8, true)) ||
      !this.output(into, r, 1, dv.getUint32(out + 12, true), dv.getUint32(out + 16, true))
    )
      return engineDecision('bad_output', fuel);
    into.verdicts[r] = v;
    into.fuel[r] = fuel;
    return null;
  }

  /** The last constant output (see pristine) per part of a decision: its place, packed as in read(). */
  private readonly constKey = new Float64Array([-1, -1]);
  private readonly constStr: string[] = ['', ''];

  /** A returned string into a batch: its bytes when ASCII and not a constant; false as str(). */
  private output(into: ResultsWriter, r: number, part: number, ptr: number, len: number): boolean {
    if (len > MAX_OUTPUT_STRING || ptr + len > this.u8.length) return false;
    const pristine = this.pristine(ptr, len);
    if (pristine) {
      // A policy returns the same constant rule (or reason) call after call: no map lookup then.
      const key = ptr * 2048 + len;
      if (key === this.constKey[part]) {
        into.string(r, part, this.constStr[part] as string);
        return true;
      }
      const s = this.read(ptr, len, true);
      if (s === undefined) return false;
      this.constKey[part] = key;
      this.constStr[part] = s;
      into.string(r, part, s);
      return true;
    }
    if (into.ascii(r, part, this.u8, this.u32, ptr, len)) return true;
    const s = this.read(ptr, len, false);
    if (s === undefined) return false;
    into.string(r, part, s);
    return true;
  }

  /**
   * Below the split every store of this call is in the low range: bytes outside it are the
   * post-start snapshot's, the same on every call, so a string read from them once is reused with
   * no comparison (constant reasons and rules built at start).
   */
  private pristine(ptr: number, len: number): boolean {
    if (!this.spec.tracked || ptr + len > this.split) return false;
    const low = this.lowNow;
    const llo = Math.floor(low / 2 ** 25);
    const lhi = low - llo * 2 ** 25;
    return llo >= lhi || ptr + len <= llo || ptr >= lhi;
  }

  /** A returned string, or undefined when out of bounds, too long or not UTF-8. */
  private str(ptr: number, len: number): string | undefined {
    if (len > MAX_OUTPUT_STRING || ptr + len > this.u8.length) return undefined;
    return this.read(ptr, len, this.pristine(ptr, len));
  }

  /** str() within bounds, `pristine` as this.pristine(ptr, len) gives it. */
  private read(ptr: number, len: number, pristine: boolean): string | undefined {
    const key = ptr * 2048 + len;
    if (pristine) {
      const k = this.constCache.get(key);
      if (k !== undefined) return k;
    }
    const u8 = this.u8;
    const c = this.outCache.get(key);
    if (c !== undefined) {
      let same = true;
      const w = c.words;
      if (w !== null) {
        // Its bytes as words (an aligned place): a quarter of the comparisons.
        same = sameWords(this.u32, ptr >>> 2, w, 0, w.length, lastWordMask(len));
      } else {
        const t = c.s;
        for (let i = 0; i < len; i++)
          if (t.charCodeAt(i) !== u8[ptr + i]) {
            same = false;
            break;
          }
      }
      if (same) return c.s;
    }
    // Buffer's UTF-8 decoding replaces what is not UTF-8 with U+FFFD: only then ask the strict decoder
    // (a policy may return U+FFFD itself, validly encoded).
    let s = this.buf.toString('utf8', ptr, ptr + len);
    if (s.includes('\uFFFD')) {
      try {
        s = dec.decode(u8.subarray(ptr, ptr + len));
      } catch {
        return undefined;
      }
    }
    if (pristine) {
      if (this.constCache.size > 4096) this.constCache.clear();
      this.constCache.set(key, s);
    } else if (s.length === len) {
      // All ASCII (one UTF-16 unit per byte): comparable byte for char next time.
      if (this.outCache.size > 1024) this.outCache.clear();
      this.outCache.set(key, outString(s, ptr, this.u32));
    }
    return s;
  }

  /** Snapshot bytes back into [lo, hi): a fill where the snapshot is all zeros (no view to make). */
  private restoreRange(lo: number, hi: number): void {
    if (((lo | hi) & 3) === 0 && hi - lo <= 512) {
      // Word-aligned and short (every range of the constitution's calls): a word at a time beats a
      // byte loop or a native fill's call.
      const w = this.u32;
      if (lo >= this.zeroFrom) for (let i = lo >>> 2; i < hi >>> 2; i++) w[i] = 0;
      else {
        const snap = this.snap32;
        for (let i = lo >>> 2; i < hi >>> 2; i++) w[i] = snap[i] as number;
      }
    } else if (hi - lo <= 32) {
      // A few bytes (the decision record, an allocator header): a loop beats making a view.
      const u8 = this.u8;
      if (lo >= this.zeroFrom) for (let i = lo; i < hi; i++) u8[i] = 0;
      else {
        const snap = this.snapshot;
        for (let i = lo; i < hi; i++) u8[i] = snap[i] as number;
      }
    } else if (lo >= this.zeroFrom) this.u8.fill(0, lo, hi);
    else this.u8.set(this.snapshot.subarray(lo, hi), lo);
  }

  /** Restore one packed guest-written range. */
  private restoreGuest(packed: number): void {
    if (packed >= 2 ** 49) return; // nothing written (lo clamped to 2^24)
    const lo = Math.floor(packed / 2 ** 25);
    let hi = packed - lo * 2 ** 25;
    if (hi > this.memBytes) hi = this.memBytes;
    if (lo < hi) this.restoreRange(lo, hi);
  }

  /** Back to the post-start state: globals via gavel$reset, memory from the snapshot. */
  private restore(clean: boolean): void {
    const ex = this.ex;
    // A grown memory detaches the buffer under this.u8 (length 0), or lift() already re-viewed it.
    if (!clean || this.u8.length !== this.memBytes) {
      // A trap may leave the instance mid-operation, a grown memory cannot shrink: start afresh.
      this.instantiate();
      return;
    }
    if (!this.spec.tracked) {
      ex.gavel$end(); // resets the globals
      this.u8.set(this.snapshot);
      return;
    }
    // The request's bytes (which the guest may have written into) go back to the snapshot too.
    const hostLo = this.tplBase; // -1 (none): above every address, for finish's unsigned compares
    const hostHi = this.tplBase < 0 ? 0 : this.tplBase + this.tplTotal;
    this.restoreGuest(this.lowNow);
    // Usually the allocator's, the heap's and the request's ranges are all zeros in the snapshot: the
    // instance zero-fills them itself (one call instead of two and three JS loops).
    if (ex.gavel$finish(this.zeroFrom, hostLo, hostHi) === 1) return;
    const alloc = ex.gavel$alloc_range();
    const high = ex.gavel$end(); // also resets the globals
    this.restoreGuest(alloc);
    this.restoreGuest(high);
    if (hostLo >= 0 && hostLo < hostHi) this.restoreRange(hostLo, hostHi);
  }
}

/** An ASCII output string kept for comparison with the bytes at its place on the next call. */
interface OutString {
  s: string;
  /** Its bytes as words when its place is 4-aligned (the last one masked to the string), else null. */
  words: Uint32Array | null;
}

function outString(s: string, ptr: number, u32: Uint32Array): OutString {
  if ((ptr & 3) !== 0) return { s, words: null };
  const words = u32.slice(ptr >>> 2, (ptr >>> 2) + ((s.length + 3) >>> 2));
  if (words.length > 0)
    words[words.length - 1] = (words[words.length - 1] as number) & lastWordMask(s.length);
  return { s, words };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : String(v ?? '');
}

function put(u8: Uint8Array, b: Uint8Array, at: number): void {
  if (b.length > 24) u8.set(b, at);
  else for (let i = 0; i < b.length; i++) u8[at + i] = b[i] as number;
}

function safeFuel(ex: Exports): number {
  try {
    return ex.gavel$get_fuel();
  } catch {
    return 0;
  }
}
