// Compact encoding between the engine and its workers, one chunk of a batch each way: strings
// interned once per chunk, numbers in typed arrays (moved, not cloned), so a chunk of 1000 requests
// costs one small structured clone, and its results carry per-call reasons as one text.
import type { EffectVector, GateRequest } from './types.js';

const utf8 = new TextEncoder();

export const INTS = 9; // policy, gate, actor, role, mode, posture, environment, ctxOffset, ctxCount
/** The route of a request that fails the request check (the engine answers it: bad_request). */
export const REFUSED_BAD_REQUEST = -1;

export interface EncodedBatch {
  strings: string[];
  ints: Int32Array;
  effects: Float64Array;
  ctx: Int32Array;
}
export interface EncodedResults {
  /** Output strings given by index in `refs` (constants, engine reasons, non-ASCII strings). */
  strings: string[];
  /** Every other output string, each one's bytes in turn (ASCII, so chars = bytes). */
  text: string;
  verdicts: Uint8Array;
  fuel: Int32Array;
  /** Per decision, its reason then its rule: an index into `strings`, or -1 - its start in `text`. */
  refs: Int32Array;
  /** Where in `text` each string given by its start ends. */
  ends: Int32Array;
}

/**
 * Distinct strings of a batch by index. Batches repeat values place by place (the same gate, actor,
 * reason, ...): a last-value check per slot skips most map lookups.
 */
class StringTable {
  readonly strings: string[] = [];
  private readonly ids = new Map<string, number>();
  private readonly last: (string | undefined)[];
  private readonly lastId: Int32Array;

  constructor(slots: number) {
    this.last = new Array<string | undefined>(slots).fill(undefined);
    this.lastId = new Int32Array(slots);
  }

  id(s: string, slot: number): number {
    if (s === this.last[slot]) return this.lastId[slot] as number;
    const i = this.put(s);
    this.last[slot] = s;
    this.lastId[slot] = i;
    return i;
  }

  /** The index of `s`, added when new (no last-value check). */
  put(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, i);
    }
    return i;
  }
}

/** The bytes of a string's last word that are its own (little-endian): -1 when `len` fills it. */
export function lastWordMask(len: number): number {
  return (len & 3) === 0 ? -1 : (1 << (8 * (len & 3))) - 1;
}

/**
 * Whether `words` words of `a` from `ai` equal those of `b` from `bi`, the last of `a` masked by
 * `mask` (the last of `b` is kept masked). From the end: reasons differ in their numbers, late.
 */
export function sameWords(
  a: Uint32Array,
  ai: number,
  b: Uint32Array,
  bi: number,
  words: number,
  mask: number,
): boolean {
  if (words === 0) return true;
  if (((a[ai + words - 1] as number) & mask) >>> 0 !== b[bi + words - 1]) return false;
  for (let i = words - 2; i >= 0; i--) if (a[ai + i] !== b[bi + i]) return false;
  return true;
}

/** Slots of a ResultsWriter's cache of texts already written (a power of two). */
const TEXT_SLOTS = 1024;

/** A text cache slot for a string of `len` bytes from its words `w[at..at+words)` (the last one
 *  masked to the string's bytes by `mask`). Every word counts: reasons differ anywhere in them. */
function slotOf(w: Uint32Array, at: number, words: number, len: number, mask: number): number {
  let h = len;
  for (let i = 0; i < words - 1; i++) h = Math.imul(h ^ (w[at + i] as number), 0x9e3779b1);
  if (words > 0) h = Math.imul(h ^ ((w[at + words - 1] as number) & mask), 0x85ebca6b);
  return (h ^ (h >>> 16)) & (TEXT_SLOTS - 1);
}

/**
 * A batch's decisions as the worker writes them. Strings a policy built for one decision (a reason
 * with a number in it) are not decoded one by one, interned and cloned to the engine as thousands
 * of small strings: their bytes go into one text, decoded once a batch, which the engine cuts up.
 * A string whose bytes the text already holds (reasons repeat: the same gate over the same
 * threshold by the same amount) is given by where it is: the text, which is decoded, cloned to the
 * engine and decoded again there, stays small.
 */
export class ResultsWriter {
  readonly verdicts: Uint8Array;
  readonly fuel: Int32Array;
  readonly refs: Int32Array;
  readonly ends: Int32Array;
  /** Reasons in slot 0, rules in slot 1. */
  private readonly table = new StringTable(2);
  /**
   * The batch text's bytes, also seen as words: strings start on 4-byte boundaries and the bytes
   * after one up to the next boundary are zeros, so two strings of the same length compare as words.
   */
  private text: Buffer;
  private text32: Uint32Array;
  private len = 0;
  /** By hash of its words: where a string in the text starts, plus 1 (0 = none), and its length. */
  private readonly slotStart = new Int32Array(TEXT_SLOTS);
  private readonly slotLen = new Int32Array(TEXT_SLOTS);

  constructor(n: number) {
    this.verdicts = new Uint8Array(n);
    this.fuel = new Int32Array(n);
    this.refs = new Int32Array(2 * n);
    this.ends = new Int32Array(2 * n);
    const words = new Uint32Array(Math.max(256, 4 * n));
    this.text = Buffer.from(words.buffer);
    this.text32 = words;
  }

  /** Decision `r`'s reason (`part` 0) or rule (1) as a string. */
  string(r: number, part: number, s: string): void {
    this.refs[2 * r + part] = this.table.id(s, part);
  }

  /**
   * Decision `r`'s reason or rule as `len` bytes at `mem[at]` (`mem32`: the same memory as words;
   * its length a multiple of 4, as a wasm memory's is); false, and nothing kept, unless all ASCII.
   * Given by where the text already holds the same bytes, else copied to the text's end (a word at a
   * time when `at` is 4-aligned, as what an allocator hands out is).
   */
  ascii(r: number, part: number, mem: Uint8Array, mem32: Uint32Array, at: number, len: number): boolean {
    const words = (len + 3) >>> 2;
    // The last word reaches past the string by up to 3 bytes (still inside the memory, whose length
    // is a multiple of 4): masked off, as the text's padding is zeros.
    const mask = lastWordMask(len);
    if ((at & 3) === 0) {
      // Looked up by a hash of its words, compared word for word, before anything is copied.
      const src = at >>> 2;
      const slot = slotOf(mem32, src, words, len, mask);
      const seen = this.find(slot, mem32, src, words, len, mask);
      if (seen >= 0) {
        this.refer(r, part, seen, len);
        return true;
      }
      const start = this.reserve(words);
      const t32 = this.text32;
      const dst = start >>> 2;
      let any = 0;
      for (let i = 0; i < words - 1; i++) {
        const w = mem32[src + i] as number;
        any |= w;
        t32[dst + i] = w;
      }
      if (words > 0) {
        const w = (mem32[src + words - 1] as number) & mask;
        any |= w;
        t32[dst + words - 1] = w;
      }
      if ((any & 0x80808080) !== 0) return false;
      this.keep(r, part, start, len, slot);
      return true;
    }
    // Not aligned (rare): copied first, then looked up as words.
    const start = this.reserve(words);
    const t32 = this.text32;
    const t = this.text;
    const dst = start >>> 2;
    if (words > 0) t32[dst + words - 1] = 0; // the padding after the string
    let any = 0;
    for (let i = 0; i < len; i++) {
      const b = mem[at + i] as number;
      any |= b;
      t[start + i] = b;
    }
    if (any > 0x7f) return false;
    const slot = slotOf(t32, dst, words, len, -1);
    const seen = this.find(slot, t32, dst, words, len, -1);
    if (seen >= 0) this.refer(r, part, seen, len);
    else this.keep(r, part, start, len, slot);
    return true;
  }

  /** Where the text holds the `len` bytes in `w` from word `at` (see sameWords), by `slot`; or -1. */
  private find(slot: number, w: Uint32Array, at: number, words: number, len: number, mask: number): number {
    const seen = (this.slotStart[slot] as number) - 1;
    return seen >= 0 && this.slotLen[slot] === len && sameWords(w, at, this.text32, seen >>> 2, words, mask)
      ? seen
      : -1;
  }

  /** Decision `r`'s reason or rule is the text's `len` bytes from `start`. */
  private refer(r: number, part: number, start: number, len: number): void {
    this.refs[2 * r + part] = -1 - start;
    this.ends[2 * r + part] = start + len;
  }

  /** Where the next string goes (4-aligned), with room for `words` words there. */
  private reserve(words: number): number {
    const start = (this.len + 3) & ~3;
    if (start + 4 * words > this.text.length) this.grow(start + 4 * words);
    return start;
  }

  /** The string just copied to `start` stays in the text, and is what `slot` finds from now on. */
  private keep(r: number, part: number, start: number, len: number, slot: number): void {
    this.len = start + len;
    this.slotStart[slot] = start + 1;
    this.slotLen[slot] = len;
    this.refer(r, part, start, len);
  }

  private grow(need: number): void {
    const words = new Uint32Array(Math.max(2 * this.text32.length, (need + 3) >>> 2));
    words.set(this.text32);
    this.text = Buffer.from(words.buffer);
    this.text32 = words;
  }

  finish(): EncodedResults {
    const { verdicts, fuel, refs, ends } = this;
    return {
      strings: this.table.strings,
      text: this.text.toString('latin1', 0, this.len),
      verdicts,
      fuel,
      refs,
      ends,
    };
  }
}

/** Decision `k`'s reason (`part` 0) or rule (1) from a worker's results. */
export function resultString(res: EncodedResults, k: number, part: number): string {
  const ref = res.refs[2 * k + part] as number;
  return ref >= 0 ? (res.strings[ref] as string) : res.text.slice(-1 - ref, res.ends[2 * k + part]);
}

/**
 * Each string's UTF-8 bytes, as views into shared buffers: ASCII written char by char, anything else
 * by TextEncoder.encodeInto (a lone surrogate becomes U+FFFD, as with encode). One TextEncoder.encode
 * a string allocated a buffer each, ~270 ns a string here, which a batch of distinct actors paid on
 * every request. Sized for ASCII (a byte a unit); a string that is not gets a new buffer with room
 * for three bytes a unit (a surrogate pair, two units, makes four) and for the strings after it.
 */
export function utf8All(strings: readonly string[]): Uint8Array[] {
  let left = 0; // UTF-16 units not yet encoded
  for (const s of strings) left += s.length;
  let buf = new Uint8Array(left);
  let at = 0;
  const out = new Array<Uint8Array>(strings.length);
  for (let k = 0; k < strings.length; k++) {
    const s = strings[k] as string;
    left -= s.length;
    let start = at;
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at++] = c;
    }
    if (i < s.length) {
      // The buffer keeps room for every string after this one as ASCII (writes past its end would
      // be dropped silently).
      if (start + 3 * s.length + left > buf.length) {
        buf = new Uint8Array(3 * s.length + left);
        start = 0;
      }
      at = start + utf8.encodeInto(s, buf.subarray(start)).written;
    }
    out[k] = buf.subarray(start, at);
  }
  return out;
}

/** The EffectVector as five f64 at `out[at..at+5]`, NaN for a member not given as a number. */
export function putEffect(e: EffectVector | undefined | null, out: Float64Array, at: number): void {
  // Named reads, not e[DIMENSIONS[d]]: five keys through one keyed access site go megamorphic.
  if (e === undefined || e === null) {
    out.fill(Number.NaN, at, at + 5);
    return;
  }
  const risk = e.risk;
  const fairness = e.fairness;
  const privacy = e.privacy;
  const novelty = e.novelty;
  const security = e.security;
  out[at] = typeof risk === 'number' ? risk : Number.NaN;
  out[at + 1] = typeof fairness === 'number' ? fairness : Number.NaN;
  out[at + 2] = typeof privacy === 'number' ? privacy : Number.NaN;
  out[at + 3] = typeof novelty === 'number' ? novelty : Number.NaN;
  out[at + 4] = typeof security === 'number' ? security : Number.NaN;
}

/**
 * Requests `reqs[from..to)` encoded for a worker. `route` gives each request's policy index, or a
 * negative number for a request no worker should see (the engine answers it): those are encoded with
 * that number and nothing else. Requests routed to a policy have passed the engine's request check,
 * all but the context's values, which are checked here as they are read: a request with one that is
 * not a string is refused (REFUSED_BAD_REQUEST) and nothing of its context kept.
 * Each route result is also written to `policyOf[r - from]`, which stays with the caller.
 */
export function encodeBatch(
  reqs: readonly unknown[],
  from: number,
  to: number,
  route: (q: unknown) => number,
  policyOf: Int32Array,
): EncodedBatch {
  // Slots: key and value of the first four context members, then the rest. The six fields' last
  // values are kept in locals instead (slots cost ~20 % of the encoding here); they start as '',
  // which is in the table, so a field that is '' needs no lookup either.
  const table = new StringTable(10);
  let gate = '';
  let actor = '';
  let role = '';
  let mode = '';
  let posture = '';
  let environment = '';
  let gateId = table.put(gate);
  let actorId = gateId;
  let roleId = gateId;
  let modeId = gateId;
  let postureId = gateId;
  let environmentId = gateId;
  const n = to - from;
  const ints = new Int32Array(n * INTS);
  const effects = new Float64Array(n * 5);
  let ctx = new Int32Array(2 * n);
  let nctx = 0;
  for (let r = 0; r < n; r++) {
    const q = reqs[from + r];
    const o = r * INTS;
    const pi = route(q);
    ints[o] = pi;
    policyOf[r] = pi;
    if (pi < 0) continue;
    const g = q as GateRequest;
    if (g.gate !== gate) {
      gate = g.gate;
      gateId = table.put(gate);
    }
    if (g.actor !== actor) {
      actor = g.actor;
      actorId = table.put(actor);
    }
    if (g.role !== role) {
      role = g.role;
      roleId = table.put(role);
    }
    if (g.mode !== mode) {
      mode = g.mode;
      modeId = table.put(mode);
    }
    if (g.posture !== posture) {
      posture = g.posture;
      postureId = table.put(posture);
    }
    if (g.environment !== environment) {
      environment = g.environment;
      environmentId = table.put(environment);
    }
    ints[o + 1] = gateId;
    ints[o + 2] = actorId;
    ints[o + 3] = roleId;
    ints[o + 4] = modeId;
    ints[o + 5] = postureId;
    ints[o + 6] = environmentId;
    putEffect(g.effect, effects, r * 5);
    const start = nctx;
    ints[o + 7] = start;
    let count = 0;
    const c = (g.context ?? {}) as Record<string, unknown>;
    for (const k in c) {
      // Own members only, as the request check and the in-process path read them.
      if (!Object.hasOwn(c, k)) continue;
      const v = c[k];
      if (typeof v !== 'string') {
        count = -1;
        break;
      }
      if (nctx + 2 > ctx.length) {
        const grown = new Int32Array(2 * ctx.length + 2);
        grown.set(ctx);
        ctx = grown;
      }
      const slot = count < 4 ? 2 * count : 8;
      ctx[nctx++] = table.id(k, slot);
      ctx[nctx++] = table.id(v, slot + 1);
      count++;
    }
    if (count < 0) {
      nctx = start;
      ints[o] = REFUSED_BAD_REQUEST;
      policyOf[r] = REFUSED_BAD_REQUEST;
      continue;
    }
    ints[o + 8] = count;
  }
  return { strings: table.strings, ints, effects, ctx: nctx === ctx.length ? ctx : ctx.slice(0, nctx) };
}
