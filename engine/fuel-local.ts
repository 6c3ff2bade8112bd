// gavel-fuel/v2: the fuel counter lives in a local of each function instead of the module global.
//
// v1 decrements a global at every function entry, loop header and exit. V8 keeps a mutable wasm
// global in memory, so a tight loop pays a store-to-load round trip per iteration (~+50 % on a
// byte loop). v2 takes v1's instrumented binary and, per function: loads the global into a fresh
// local at entry, turns every global.get/set of the counter into local.get/set, and writes the local
// back to the global wherever control can leave the function or another function can look at it:
// before calls (and reloads it after them), before return, return_call*, throw*, unreachable (the
// exhaustion trap: the host then sees the negative counter) and branches to the function's own
// label, and at the body's end; after catch/catch_all it reloads.
//
// Fuel counts are unchanged: the same decrements run in the same order. What differs from v1 is
// only the fuel a *trapping* call reports (the global holds the value of the last write-back), so
// v2 is a pass of its own and a manifest names the pass its recorded fuel was counted with.
// A function this rewriter cannot read with certainty (GC instructions, try_table, an unknown
// opcode) is left as v1 had it: the global is authoritative at every call boundary either way, so
// mixing rewritten and untouched functions is sound.
import { EngineError } from './errors.js';

class Reader {
  constructor(
    readonly b: Uint8Array,
    public p: number,
  ) {}
  byte(): number {
    if (this.p >= this.b.length) throw new RangeError('unexpected end');
    return this.b[this.p++] as number;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const x = this.byte();
      result += (x & 0x7f) * 2 ** shift;
      if ((x & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('LEB128 too long');
    }
  }
  /** Skip a (signed or unsigned) LEB128 of any width. */
  leb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new RangeError('LEB128 too long');
  }
  skip(n: number): void {
    if (this.p + n > this.b.length) throw new RangeError('unexpected end');
    this.p += n;
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let x = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) x |= 0x80;
    out.push(x);
  } while (n !== 0);
  return out;
}

/** A value type: one byte, or a reference type with a heap type (0x63/0x64 + s33). */
function skipValType(r: Reader): void {
  const t = r.byte();
  if (t === 0x63 || t === 0x64) r.leb();
}

function skipBlockType(r: Reader): void {
  const t = r.b[r.p] as number;
  if (t === 0x40 || (t >= 0x6f && t <= 0x7f) || t === 0x63 || t === 0x64) skipValType(r);
  else r.leb(); // a type index (s33)
}

function skipMemarg(r: Reader): void {
  const align = r.u32();
  if (align & 0x40) r.u32(); // multi-memory: memory index
  r.leb(); // offset
}

class Bail extends Error {}

/** Number of parameters per type index, or undefined when the type section holds anything but plain function types. */
function paramCounts(r: Reader, end: number): number[] | undefined {
  const out: number[] = [];
  const n = r.u32();
  for (let i = 0; i < n; i++) {
    if (r.byte() !== 0x60) return undefined; // rec groups, subtypes, GC types: leave the module as v1
    const np = r.u32();
    for (let k = 0; k < np; k++) skipValType(r);
    const nr = r.u32();
    for (let k = 0; k < nr; k++) skipValType(r);
    out.push(np);
  }
  if (r.p !== end) return undefined;
  return out;
}

interface Rewritten {
  wasm: Uint8Array;
  /** Functions whose counter now lives in a local. */
  rewritten: number;
  /** Functions left as v1 had them because they could not be read with certainty (see the header). */
  skipped: number;
}

/** Rewrite v1-instrumented `wasm` (fuel counter = global `fuel`) to gavel-fuel/v2. */
export function fuelInLocals(wasm: Uint8Array, fuel: number): Rewritten {
  try {
    return rewrite(wasm, fuel);
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new EngineError(
      'BAD_PACKAGE',
      `gavel-fuel/v2 could not read the instrumented module: ${String(err)}`,
    );
  }
}

function rewrite(wasm: Uint8Array, fuel: number): Rewritten {
  const r = new Reader(wasm, 8);
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let params: number[] | undefined;
  let importedFuncs = 0;
  let funcTypes: number[] = [];
  let rewritten = 0;
  let skipped = 0;
  while (r.p < wasm.length) {
    const start = r.p;
    const id = r.byte();
    const size = r.u32();
    const body = r.p;
    const end = body + size;
    if (end > wasm.length) throw new RangeError('section past the end');
    if (id === 0) {
      const nameLen = r.u32();
      const name = Buffer.from(wasm.subarray(r.p, r.p + nameLen)).toString('latin1');
      // Instruction offsets (branch hints, ...) no longer hold after the rewrite.
      if (!name.startsWith('metadata.code.')) parts.push(wasm.subarray(start, end));
    } else if (id === 1) {
      params = paramCounts(r, end);
      parts.push(wasm.subarray(start, end));
    } else if (id === 2) {
      const n = r.u32();
      for (let i = 0; i < n; i++) {
        r.skip(r.u32()); // module
        r.skip(r.u32()); // field
        const kind = r.byte();
        if (kind === 0x00) {
          importedFuncs++;
          r.u32();
        } else {
          // Policies import nothing (refused before instrumentation); nothing else to learn here.
          return { wasm, rewritten: 0, skipped: 0 };
        }
      }
      parts.push(wasm.subarray(start, end));
    } else if (id === 3) {
      const n = r.u32();
      funcTypes = [];
      for (let i = 0; i < n; i++) funcTypes.push(r.u32());
      parts.push(wasm.subarray(start, end));
    } else if (id === 10) {
      if (params === undefined) return { wasm, rewritten: 0, skipped: 0 };
      const n = r.u32();
      const bodies: Uint8Array[] = [];
      for (let i = 0; i < n; i++) {
        const sizeAt = r.p;
        const bsize = r.u32();
        const bstart = r.p;
        const np = params[funcTypes[i] as number];
        if (np === undefined) throw new RangeError(`function ${i + importedFuncs} has no type`);
        const out = rewriteBody(wasm, bstart, bstart + bsize, np, fuel);
        if (out === 'untouched' || out === 'bail') {
          if (out === 'bail') skipped++;
          bodies.push(wasm.subarray(sizeAt, bstart + bsize)); // the body as it was, size and all
        } else {
          rewritten++;
          bodies.push(Uint8Array.from(uleb(out.length)), out);
        }
        r.p = bstart + bsize;
      }
      const content = concat([Uint8Array.from(uleb(n)), ...bodies]);
      parts.push(Uint8Array.from([10, ...uleb(content.length)]), content);
    } else {
      parts.push(wasm.subarray(start, end));
    }
    r.p = end;
  }
  return { wasm: concat(parts), rewritten, skipped };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** One function body [start, end): the rewritten body, 'untouched' (no counter in it) or 'bail'. */
function rewriteBody(
  b: Uint8Array,
  start: number,
  end: number,
  nparams: number,
  fuel: number,
): Uint8Array | 'untouched' | 'bail' {
  const r = new Reader(b, start);
  const groups = r.u32();
  let nlocals = nparams;
  const localsStart = r.p;
  for (let i = 0; i < groups; i++) {
    nlocals += r.u32();
    skipValType(r);
  }
  if (nlocals + 1 > 50000) return 'bail'; // the engine limit on locals
  const localsEnd = r.p;
  const L = uleb(nlocals);
  const G = uleb(fuel);
  const flush = Uint8Array.from([0x20, ...L, 0x24, ...G]); // local.get L; global.set fuel
  const reload = Uint8Array.from([0x23, ...G, 0x21, ...L]); // global.get fuel; local.set L
  const getL = Uint8Array.from([0x20, ...L]);
  const setL = Uint8Array.from([0x21, ...L]);

  const out: Uint8Array[] = [
    Uint8Array.from(uleb(groups + 1)),
    b.subarray(localsStart, localsEnd),
    Uint8Array.from([1, 0x7f]), // one more i32 local: the counter
    reload,
  ];
  let copyFrom = r.p;
  let touched = false;
  let depth = 0; // enclosing blocks; a branch to label `depth` leaves the function
  /** Copy the pending original bytes up to (not including) `at`. */
  const copyTo = (at: number) => {
    if (at > copyFrom) out.push(b.subarray(copyFrom, at));
    copyFrom = at;
  };
  try {
    while (r.p < end) {
      const at = r.p;
      const op = r.byte();
      switch (op) {
        case 0x23:
        case 0x24: {
          const idx = r.u32();
          if (idx === fuel) {
            touched = true;
            copyTo(at);
            out.push(op === 0x23 ? getL : setL);
            copyFrom = r.p;
          }
          break;
        }
        case 0x10: // call
        case 0x14: // call_ref
        case 0x11: {
          // call_indirect
          r.u32();
          if (op === 0x11) r.u32();
          copyTo(at);
          out.push(flush);
          copyTo(r.p);
          out.push(reload);
          break;
        }
        case 0x12: // return_call
        case 0x15: // return_call_ref
        case 0x13: {
          // return_call_indirect
          r.u32();
          if (op === 0x13) r.u32();
          copyTo(at);
          out.push(flush);
          break;
        }
        case 0x00: // unreachable (the exhaustion trap among them)
        case 0x0f: // return
        case 0x0a: // throw_ref
          copyTo(at);
          out.push(flush);
          break;
        case 0x08: // throw
        case 0x09: // rethrow
          r.u32();
          copyTo(at);
          out.push(flush);
          break;
        case 0x07: // catch
          r.u32();
          copyTo(r.p);
          out.push(reload);
          break;
        case 0x19: // catch_all
          copyTo(r.p);
          out.push(reload);
          break;
        case 0x0c: // br
        case 0x0d: // br_if
        case 0xd5: // br_on_null
        case 0xd6: {
          // br_on_non_null
          const l = r.u32();
          if (l === depth) {
            copyTo(at);
            out.push(flush);
          }
          break;
        }
        case 0x0e: {
          // br_table
          const n = r.u32();
          let out1 = false;
          for (let i = 0; i <= n; i++) if (r.u32() === depth) out1 = true;
          if (out1) {
            copyTo(at);
            out.push(flush);
          }
          break;
        }
        case 0x02:
        case 0x03:
        case 0x04:
        case 0x06:
          skipBlockType(r);
          depth++;
          break;
        case 0x18: // delegate: ends a try
          r.u32();
          depth--;
          break;
        case 0x0b:
          if (depth === 0) {
            if (r.p !== end) throw new Bail('code after the function end');
            copyTo(at);
            out.push(flush);
          } else depth--;
          break;
        case 0x01:
        case 0x05:
        case 0x1a:
        case 0x1b:
        case 0xd1:
        case 0xd3:
        case 0xd4:
          break;
        case 0x1c: {
          const n = r.u32();
          for (let i = 0; i < n; i++) skipValType(r);
          break;
        }
        case 0x20:
        case 0x21:
        case 0x22:
        case 0x25:
        case 0x26:
        case 0x3f:
        case 0x40:
        case 0xd2:
          r.u32();
          break;
        case 0x41:
        case 0x42:
        case 0xd0:
          r.leb();
          break;
        case 0x43:
          r.skip(4);
          break;
        case 0x44:
          r.skip(8);
          break;
        case 0xfc: {
          const sub = r.u32();
          if (sub <= 7) break;
          if (sub === 8 || sub === 10 || sub === 12 || sub === 14) {
            r.u32();
            r.u32();
          } else if (sub <= 17) r.u32();
          else throw new Bail(`0xfc ${sub}`);
          break;
        }
        case 0xfd: {
          const sub = r.u32();
          if (sub <= 11 || sub === 92 || sub === 93) skipMemarg(r);
          else if (sub === 12 || sub === 13) r.skip(16);
          else if (sub >= 21 && sub <= 34) r.skip(1);
          else if (sub >= 84 && sub <= 91) {
            skipMemarg(r);
            r.skip(1);
          }
          break;
        }
        case 0xfe: {
          const sub = r.u32();
          if (sub === 0x03) r.skip(1);
          else skipMemarg(r);
          break;
        }
        default:
          if (op >= 0x28 && op <= 0x3e) skipMemarg(r);
          else if (op >= 0x45 && op <= 0xc4) {
            // numeric instructions: no immediates
          } else throw new Bail(`opcode 0x${op.toString(16)}`); // GC (0xfb), try_table, unknown
      }
    }
  } catch (err) {
    if (err instanceof Bail) return 'bail';
    throw err;
  }
  if (!touched) return 'untouched';
  copyTo(end);
  return concat(out);
}
