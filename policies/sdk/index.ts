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

/** Compares the UTF-8 bytes at (ptr, len) with an ASCII string without decoding. */
function bytesEqual(ptr: usize, len: usize, s: string): bool {
  if (<usize>s.length != len) return false;
  for (let i: usize = 0; i < len; i++) {
    if (<u32>load<u8>(ptr + i) != <u32>s.charCodeAt(<i32>i)) return false;
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
  fieldIs(i: i32, ascii: string): bool {
    const p = this.base + <usize>(i * 8);
    return bytesEqual(<usize>load<u32>(p), <usize>load<u32>(p, 4), ascii);
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
  constructor(
    public verdict: Verdict,
    public reason: string,
    public rule: string,
  ) {}
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
  const reason = String.UTF8.encode(d.reason);
  const rule = String.UTF8.encode(d.rule);
  store<u8>(RET, <u8>d.verdict);
  store<u32>(RET, <u32>changetype<usize>(reason), 4);
  store<u32>(RET, <u32>reason.byteLength, 8);
  store<u32>(RET, <u32>changetype<usize>(rule), 12);
  store<u32>(RET, <u32>rule.byteLength, 16);
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
