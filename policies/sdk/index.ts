// The gavel policy SDK for AssemblyScript: what a policy author imports to read a gate request and
// return a decision, with no knowledge of the ABI. The ABI (policies/wit/gate.wit, lowered by the
// canonical ABI as in policies/README.md): the host allocates the request record with
// cabi_realloc, calls `evaluate(ptr)`, and reads the decision record at the returned pointer.
// Compile with `--runtime stub --use abort=`: no imports; the engine restores memory and globals
// after every evaluation, so the stub runtime's never-freeing allocator is exactly right.

export enum Verdict {
  Permit = 0,
  PermitWithWarning = 1,
  Escalate = 2,
  Deny = 3,
}

/** The five EffectVector dimensions, in WIT order. */
export const DIMENSIONS: string[] = ['risk', 'fairness', 'privacy', 'novelty', 'security'];

// gate-request layout (size 96, align 8): six (ptr, len) strings, five f64, context (ptr, len).
const OFF_EFFECT: usize = 48;
const OFF_CONTEXT: usize = 88;

@inline function strAt(p: usize): string {
  return String.UTF8.decodeUnsafe(<usize>load<u32>(p), <usize>load<u32>(p, 4));
}

/** Compares the UTF-8 bytes at (ptr, len) with an ASCII string of length `len`, without decoding. */
function bytesEqual(ptr: usize, len: usize, s: string): bool {
  const src = changetype<usize>(s);
  // Four characters (UTF-16) against four bytes at a time, then one by one; a character over 0xff
  // equals no byte. One loop: fuel is counted per loop iteration.
  let i: usize = 0;
  while (i < len) {
    if (i + 4 <= len) {
      const w = load<u64>(src + (i << 1));
      if ((w & 0xff00ff00ff00ff00) != 0 || load<u32>(ptr + i) != pack4(w)) return false;
      i += 4;
    } else {
      if (<u32>load<u8>(ptr + i) != <u32>load<u16>(src + (i << 1))) return false;
      i++;
    }
  }
  return true;
}

/**
 * `n` bytes from `src` to `dst` (not overlapping), eight a store, then one at a time: memory.copy
 * becomes a byte loop once the engine lowers bulk memory. One loop: fuel is counted per iteration.
 */
@inline function copyBytes(dst: usize, src: usize, n: usize): void {
  let i: usize = 0;
  while (i < n) {
    if (i + 8 <= n) {
      store<u64>(dst + i, load<u64>(src + i));
      i += 8;
    } else {
      store<u8>(dst + i, load<u8>(src + i));
      i++;
    }
  }
}

/** Four UTF-16 code units below 0x100 (one u64) as four bytes (one u32), first in the lowest. */
@inline function pack4(w: u64): u32 {
  return <u32>((w & 0xff) | ((w >> 8) & 0xff00) | ((w >> 16) & 0xff0000) | ((w >> 24) & 0xff000000));
}

/**
 * A name to compare request fields with (a gate, a mode, a posture), kept as UTF-8: make it at module
 * level (built once, when the policy is instantiated). `req.is(0, TOOL_EXECUTE)` compares eight bytes
 * a step; `fieldIs` with a string converts its characters as it goes.
 *
 *   const TOOL_EXECUTE = name('tool.execute');
 */
export class Name {
  readonly bytes: ArrayBuffer;
  readonly ptr: usize;
  readonly len: usize;
  constructor(s: string) {
    this.bytes = String.UTF8.encode(s);
    this.ptr = changetype<usize>(this.bytes);
    this.len = <usize>this.bytes.byteLength;
  }
}

/** A Name (see there). */
export function name(s: string): Name {
  return new Name(s);
}

/** Whether `n` bytes at `a` and at `b` are the same: eight a step, then four, then one by one. */
function sameBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  // One loop (fuel is counted per iteration), widest step that fits first.
  while (i < n) {
    if (i + 8 <= n) {
      if (load<u64>(a + i) != load<u64>(b + i)) return false;
      i += 8;
    } else if (i + 4 <= n) {
      if (load<u32>(a + i) != load<u32>(b + i)) return false;
      i += 4;
    } else {
      if (load<u8>(a + i) != load<u8>(b + i)) return false;
      i++;
    }
  }
  return true;
}

export class Request {
  constructor(private readonly base: usize) {}

  get gate(): string {
    return strAt(this.base);
  }
  get actor(): string {
    return strAt(this.base + 8);
  }
  get role(): string {
    return strAt(this.base + 16);
  }
  get mode(): string {
    return strAt(this.base + 24);
  }
  get posture(): string {
    return strAt(this.base + 32);
  }
  get environment(): string {
    return strAt(this.base + 40);
  }

  /** Whether field `i` (0 gate, 1 actor, 2 role, 3 mode, 4 posture, 5 environment) equals an ASCII text. */
  @inline fieldIs(i: i32, ascii: string): bool {
    // The lengths first, inline: most names a policy tries differ in length (no call, no fuel).
    const p = this.base + <usize>(i * 8);
    const len = <usize>load<u32>(p, 4);
    return len == <usize>ascii.length && bytesEqual(<usize>load<u32>(p), len, ascii);
  }

  /** Whether field `i` (as for fieldIs) is `n`. */
  @inline is(i: i32, n: Name): bool {
    // The lengths first, inline: most names a policy tries differ in length (no call, no fuel).
    const p = this.base + <usize>(i * 8);
    const len = <usize>load<u32>(p, 4);
    return len == n.len && sameBytes(<usize>load<u32>(p), n.ptr, len);
  }

  /** The index in `names` of field `i` (as for fieldIs), or -1. */
  indexOf(i: i32, names: Name[]): i32 {
    const p = this.base + <usize>(i * 8);
    const len = <usize>load<u32>(p, 4);
    const ptr = <usize>load<u32>(p);
    for (let k = 0; k < names.length; k++) {
      const n = unchecked(names[k]);
      if (len == n.len && sameBytes(ptr, n.ptr, len)) return k;
    }
    return -1;
  }

  /** Dimension `i` of the EffectVector (DIMENSIONS order); NaN when the caller left it out. */
  effect(i: i32): f64 {
    return load<f64>(this.base + OFF_EFFECT + <usize>(i * 8));
  }

  /** Dimension `i`, or `fallback` when not given. */
  effectOr(i: i32, fallback: f64): f64 {
    const v = this.effect(i);
    return isNaN(v) ? fallback : v;
  }

  get contextLength(): i32 {
    return <i32>load<u32>(this.base + OFF_CONTEXT + 4);
  }

  /** The value of context key `key`, or null. */
  context(key: string): string | null {
    const list = <usize>load<u32>(this.base + OFF_CONTEXT);
    const n = <usize>load<u32>(this.base + OFF_CONTEXT + 4);
    for (let i: usize = 0; i < n; i++) {
      const e = list + i * 16;
      if (String.UTF8.decodeUnsafe(<usize>load<u32>(e), <usize>load<u32>(e, 4)) == key) {
        return String.UTF8.decodeUnsafe(<usize>load<u32>(e, 8), <usize>load<u32>(e, 12));
      }
    }
    return null;
  }
}

export class Decision {
  /** Set by `decision`: reason and rule already in UTF-8 (nothing to encode when lowering). */
  reasonText: Text | null = null;
  ruleText: Text | null = null;
  constructor(
    public verdict: Verdict,
    public reason: string,
    public rule: string,
  ) {}
}

/**
 * Text built straight into UTF-8 bytes, for reasons on the hot path: no intermediate strings, no
 * encoding when the decision is returned. Texts made at module level (constants) are built once,
 * when the policy is instantiated, and cost nothing per evaluation.
 *
 *   const RULE = text('threshold.risk');
 *   return decision(Verdict.Escalate, new Text().add(gate).add(': risk ').num(r), RULE);
 */
export class Text {
  // Raw heap bytes, not an ArrayBuffer: `new ArrayBuffer` zero-fills, and a text never reads a byte
  // it has not written (the fill was ~9 % of a pooled evaluation of the constitution).
  private ptr: usize;
  private cap: i32;
  private n: i32 = 0;

  constructor(capacity: i32 = 96) {
    this.cap = capacity < 8 ? 8 : capacity;
    this.ptr = heap.alloc(<usize>this.cap);
  }

  get byteLength(): i32 {
    return this.n;
  }
  get dataStart(): usize {
    return this.ptr;
  }

  /** Room for `extra` more bytes; the address to write them at. */
  private reserve(extra: i32): usize {
    const need = this.n + extra;
    if (need > this.cap) {
      let cap = this.cap * 2;
      while (cap < need) cap *= 2;
      const nb = heap.alloc(<usize>cap);
      copyBytes(nb, this.ptr, <usize>this.n);
      this.ptr = nb;
      this.cap = cap;
    }
    return this.ptr + <usize>this.n;
  }

  /** Appends a string (ASCII copied four characters a store where it can be; anything else UTF-8 encoded). */
  add(s: string): Text {
    const len = s.length;
    const p = this.reserve(len);
    const src = changetype<usize>(s);
    let i = 0;
    // Four ASCII characters a store where they are, else one at a time (one loop: fuel is counted
    // per iteration).
    while (i < len) {
      if (i + 4 <= len) {
        const w = load<u64>(src + (<usize>i << 1));
        if ((w & 0xff80ff80ff80ff80) == 0) {
          store<u32>(p + <usize>i, pack4(w));
          i += 4;
          continue;
        }
      }
      const c = <i32>load<u16>(src + (<usize>i << 1));
      if (c >= 0x80) {
        this.n += i;
        const rest = String.UTF8.encode(s.substring(i));
        const q = this.reserve(rest.byteLength);
        copyBytes(q, changetype<usize>(rest), <usize>rest.byteLength);
        this.n += rest.byteLength;
        return this;
      }
      store<u8>(p + <usize>i, <u8>c);
      i++;
    }
    this.n += len;
    return this;
  }

  /** Appends another text's bytes. */
  append(t: Text): Text {
    const n = t.n;
    const words = (n + 7) >>> 3;
    if (words << 3 <= t.cap) {
      // Whole words, eight bytes a store: up to seven bytes past the text come from its own buffer
      // and land past this text's end, where its next bytes go (never part of this text).
      const dst = this.reserve(words << 3);
      const src = t.ptr;
      for (let i = 0; i < words; i++) store<u64>(dst + (<usize>i << 3), load<u64>(src + (<usize>i << 3)));
    } else copyBytes(this.reserve(n), t.ptr, <usize>n);
    this.n += n;
    return this;
  }

  /** Appends a number exactly as `num(v)` writes it ("0.35", "0.525", "1"). */
  num(v: f64): Text {
    if (!isFinite(v)) return this.add(v.toString());
    const n = <i64>Math.round(Math.abs(v) * 1000);
    if (n < 10000) {
      // One digit before the point (thresholds, EffectVector values, scores): at most six bytes,
      // put together in one word and written with one store.
      const m = <u32>n;
      const frac = m % 1000;
      let w: u64 = 0;
      let bits: u64 = 0;
      if (v < 0) {
        w = 0x2d;
        bits = 8;
      }
      w |= <u64>(0x30 + m / 1000) << bits;
      bits += 8;
      if (frac != 0) {
        const d1 = frac / 100;
        const d2 = (frac / 10) % 10;
        const d3 = frac % 10;
        w |= (<u64>0x2e << bits) | (<u64>(0x30 + d1) << (bits + 8));
        bits += 16;
        if (d2 != 0 || d3 != 0) {
          w |= <u64>(0x30 + d2) << bits;
          bits += 8;
          if (d3 != 0) {
            w |= <u64>(0x30 + d3) << bits;
            bits += 8;
          }
        }
      }
      store<u64>(this.reserve(8), w);
      this.n += <i32>(bits >> 3);
      return this;
    }
    const p = this.reserve(32);
    let k: usize = 0;
    if (v < 0) store<u8>(p + k++, 0x2d);
    let whole = n / 1000;
    let frac = <i32>(n % 1000);
    // the whole part's digits, written backwards then reversed in place
    const start = k;
    do {
      store<u8>(p + k++, <u8>(0x30 + <i32>(whole % 10)));
      whole /= 10;
    } while (whole > 0);
    for (let a = start, b = k - 1; a < b; a++, b--) {
      const t = load<u8>(p + a);
      store<u8>(p + a, load<u8>(p + b));
      store<u8>(p + b, t);
    }
    if (frac != 0) {
      let digits = 3;
      while (frac % 10 == 0) {
        frac /= 10;
        digits--;
      }
      store<u8>(p + k++, 0x2e);
      for (let d = digits - 1; d >= 0; d--) {
        store<u8>(p + k + <usize>d, <u8>(0x30 + (frac % 10)));
        frac /= 10;
      }
      k += <usize>digits;
    }
    this.n += <i32>k;
    return this;
  }
}

/** A constant text (make it at module level: built once, when the policy is instantiated). */
export function text(s: string): Text {
  return new Text(s.length * 3 + 1).add(s);
}

/** A decision whose reason and rule are already texts: the fastest way to return one. */
export function decision(verdict: Verdict, reason: Text, rule: Text): Decision {
  const d = new Decision(verdict, '', '');
  d.reasonText = reason;
  d.ruleText = rule;
  return d;
}

export function permit(reason: string, rule: string): Decision {
  return new Decision(Verdict.Permit, reason, rule);
}
export function warn(reason: string, rule: string): Decision {
  return new Decision(Verdict.PermitWithWarning, reason, rule);
}
export function escalate(reason: string, rule: string): Decision {
  return new Decision(Verdict.Escalate, reason, rule);
}
export function deny(reason: string, rule: string): Decision {
  return new Decision(Verdict.Deny, reason, rule);
}

// decision layout (size 20, align 4): verdict u8, reason (ptr, len), rule (ptr, len).
const RET: usize = memory.data(20, 4);

/** Canonical ABI allocator; the stub runtime's bump allocator (16-byte aligned) serves every request. */
export function cabi_realloc(_old: usize, _oldSize: usize, align: usize, newSize: usize): usize {
  const p = heap.alloc(newSize + align);
  return (p + align - 1) & ~(align - 1);
}

/** The body of a policy's exported `evaluate`: lifts the request, runs `policy`, lowers the decision. */
export function handle(ptr: usize, policy: (req: Request) => Decision): usize {
  const d = policy(new Request(ptr));
  store<u8>(RET, <u8>d.verdict);
  const rt = d.reasonText;
  if (rt !== null) {
    store<u32>(RET, <u32>rt.dataStart, 4);
    store<u32>(RET, <u32>rt.byteLength, 8);
  } else {
    const reason = String.UTF8.encode(d.reason);
    store<u32>(RET, <u32>changetype<usize>(reason), 4);
    store<u32>(RET, <u32>reason.byteLength, 8);
  }
  const ut = d.ruleText;
  if (ut !== null) {
    store<u32>(RET, <u32>ut.dataStart, 12);
    store<u32>(RET, <u32>ut.byteLength, 16);
  } else {
    const rule = String.UTF8.encode(d.rule);
    store<u32>(RET, <u32>changetype<usize>(rule), 12);
    store<u32>(RET, <u32>rule.byteLength, 16);
  }
  return RET;
}

/**
 * A number for a reason text, rounded to 3 decimals with trailing zeros dropped ("0.35", "0.525",
 * "1"). Much cheaper than f64.toString (no shortest-round-trip search) and reads better for
 * products like 0.7 * 0.75.
 */
export function num(v: f64): string {
  if (!isFinite(v)) return v.toString();
  const neg = v < 0;
  const n = <i64>Math.round(Math.abs(v) * 1000);
  const whole = n / 1000;
  let frac = <i32>(n % 1000);
  let s = (neg ? '-' : '') + whole.toString();
  if (frac == 0) return s;
  let digits = 3;
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  let f = frac.toString();
  while (f.length < digits) f = '0' + f;
  return s + '.' + f;
}
