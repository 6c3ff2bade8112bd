// RFC 8785 JSON Canonicalization Scheme (JCS), the form every gavel entry is hashed and sealed in.
// Our own serializer because it sits on the hot path of append and verify (a gate decision's payload:
// ~1.3 us, against ~3.9 us for sort-copy + JSON.stringify; `canonicalize` is slower still);
// test/chain/jcs.test.ts proves it against the RFC 8785 test vectors and, differentially, against
// `canonicalize` on random documents.
//  - §3.2.2.2 strings: ECMAScript JSON.stringify escaping (lone surrogates are not valid I-JSON:
//    refused, RFC 8785 §3.1 / RFC 7493 §2.1).
//  - §3.2.2.3 numbers: ECMAScript Number-to-String (JSON.stringify), finite only, -0 as 0.
//  - §3.2.3 object members sorted by their names' UTF-16 code units (Array.prototype.sort's default).
// As JSON.stringify does, object members whose value is undefined or a function are left out and
// `toJSON` is honoured, so canonical text describes exactly what JSON.stringify would send.
import { ChainError } from './errors.js';

function fail(message: string): never {
  throw new ChainError('BAD_ENTRY', `cannot canonicalize: ${message}`);
}

// String.prototype.isWellFormed is in Node 20 (V8 11.3) but in TypeScript's lib only from ES2024.
interface WellFormed {
  isWellFormed(): boolean;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what JSON must escape.
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

export function canonicalString(s: string): string {
  // Fast path: nothing to escape and no surrogate at all (the common case for ledger text).
  if (!NEEDS_CARE.test(s)) return `"${s}"`;
  if (!(s as unknown as WellFormed).isWellFormed())
    fail('a string holds a lone UTF-16 surrogate (not valid I-JSON)');
  return JSON.stringify(s);
}

function member(item: unknown): boolean {
  return item !== undefined && typeof item !== 'function' && typeof item !== 'symbol';
}

// Member plans: an object's members are emitted in sorted order from a plan made once per key list
// (the names sorted, each already written as `"name":`), so objects of one shape — every entry of a
// batch, every gate decision — cost no sort and no name escaping after the first. A plan is found by
// the object's first key and used only when its whole key list is the same, in the same order; the
// cache is small and cleared when full, so hostile key sets cannot grow it.
interface Plan {
  keys: string[];
  sorted: string[];
  names: string[];
}
const plans = new Map<string, Plan>();
const MAX_PLANS = 512;

function planFor(o: object): Plan {
  const keys = Object.keys(o);
  const first = keys.length > 0 ? (keys[0] as string) : '';
  const p = plans.get(first);
  if (p !== undefined && p.keys.length === keys.length) {
    let same = true;
    for (let i = 1; i < keys.length; i++) {
      if (p.keys[i] !== keys[i]) {
        same = false;
        break;
      }
    }
    if (same) return p;
  }
  const sorted = [...keys].sort();
  const plan = { keys, sorted, names: sorted.map((k) => `${canonicalString(k)}:`) };
  if (plans.size >= MAX_PLANS) plans.clear();
  plans.set(first, plan);
  return plan;
}

function write(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return NEEDS_CARE.test(v) ? canonicalString(v) : `"${v}"`;
    case 'number':
      if (!Number.isFinite(v)) fail(`the number ${v} has no JSON form`);
      // Number-to-String is JSON.stringify's number form (RFC 8785 §3.2.2.3); -0 gives "0".
      return `${v}`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      const withJson = v as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') return write(withJson.toJSON());
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const item: unknown = v[i];
          out += (i > 0 ? ',' : '') + (member(item) ? write(item) : 'null');
        }
        return `${out}]`;
      }
      const o = v as Record<string, unknown>;
      const { sorted, names } = planFor(o);
      let out = '{';
      let n = 0;
      for (let i = 0; i < sorted.length; i++) {
        const item = o[sorted[i] as string];
        if (!member(item)) continue;
        out += (n++ > 0 ? ',' : '') + (names[i] as string) + write(item);
      }
      return `${out}}`;
    }
    default:
      return fail(`a ${typeof v} value has no JSON form`);
  }
}

/** The RFC 8785 canonical JSON text of `value`. Throws ChainError BAD_ENTRY for non-JSON data. */
export function canonicalJson(value: unknown): string {
  const text = write(value);
  // `write` builds a rope of many small pieces. Reading a character makes V8 flatten it into one
  // string now: a payload's text waits in the append queue until its batch is committed, and a
  // queue of ropes (tens of objects each) made young-generation GC copy far more: 20k concurrent
  // gate-decision appends went from ~67k to ~90k entries/s with this alone.
  text.charCodeAt(0);
  return text;
}

// The same canonical text written straight into bytes (UTF-8), for the append path: a queued entry
// keeps its canonical parts as bytes rather than as strings (no ropes to build and flatten, nothing
// for the young-generation GC to copy while 20k appends wait for their commit), and the common
// string — short, ASCII, nothing to escape — is copied a character at a time with no native call.
// Anything else goes through canonicalString, so the bytes are always UTF-8(canonicalJson(value))
// (test/chain/jcs.test.ts checks that differentially).

/** Where writeCanonical() writes: from buf[pos], advancing pos. */
export interface ByteSink {
  buf: Buffer;
  pos: number;
}

/** Thrown when a ByteSink has no room left; the caller gives it a bigger buffer and writes again. */
export const SINK_FULL: unique symbol = Symbol('SINK_FULL');

function room(sk: ByteSink, n: number): void {
  if (sk.pos + n > sk.buf.length) throw SINK_FULL;
}

/** Bytes of text known to be ASCII (member names, literals, numbers, hex, timestamps). */
export function putAscii(sk: ByteSink, s: string): void {
  const n = s.length;
  room(sk, n);
  const b = sk.buf;
  let p = sk.pos;
  for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
  sk.pos = p;
}

export function putBytes(sk: ByteSink, bytes: Uint8Array): void {
  const n = bytes.length;
  room(sk, n);
  const b = sk.buf;
  let p = sk.pos;
  for (let i = 0; i < n; i++) b[p++] = bytes[i] as number;
  sk.pos = p;
}

/** UTF-8 of canonicalString(s). */
export function putString(sk: ByteSink, s: string): void {
  const n = s.length;
  // An escape-free string takes at most 3 bytes per UTF-16 unit, plus its quotes.
  room(sk, 3 * n + 2);
  const b = sk.buf;
  const start = sk.pos;
  let p = start;
  b[p++] = 0x22;
  if (n <= 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) break;
      b[p++] = c;
    }
    if (i === n) {
      b[p++] = 0x22;
      sk.pos = p;
      return;
    }
  } else if (!NEEDS_CARE.test(s)) {
    p += b.write(s, p, 'utf8');
    b[p++] = 0x22;
    sk.pos = p;
    return;
  }
  // Something to escape, or non-ASCII: the general form.
  sk.pos = start;
  putText(sk, canonicalString(s));
}

/** `name` (ASCII, with its punctuation: `,"name":`) followed by the UTF-8 of canonicalString(value). */
export function putMember(sk: ByteSink, name: string, value: string): void {
  putAscii(sk, name);
  putString(sk, value);
}

/** UTF-8 of any text. */
function putText(sk: ByteSink, text: string): void {
  room(sk, 3 * text.length);
  sk.pos += sk.buf.write(text, sk.pos, 'utf8');
}

/** The UTF-8 of each plan's member names (`"name":`), made on first use. */
const planBytes = new WeakMap<Plan, Uint8Array[]>();
function nameBytes(plan: Plan): Uint8Array[] {
  let nb = planBytes.get(plan);
  if (nb === undefined) {
    nb = plan.names.map((n) => Buffer.from(n, 'utf8'));
    planBytes.set(plan, nb);
  }
  return nb;
}

/** Writes the UTF-8 of canonicalJson(value) into `sk` (throws SINK_FULL when out of room, leaving
 *  sk.pos anywhere: the caller restarts from where it began). */
export function writeCanonical(sk: ByteSink, v: unknown): void {
  switch (typeof v) {
    case 'string':
      putString(sk, v);
      return;
    case 'number':
      if (!Number.isFinite(v)) fail(`the number ${v} has no JSON form`);
      putAscii(sk, `${v}`);
      return;
    case 'boolean':
      putAscii(sk, v ? 'true' : 'false');
      return;
    case 'object': {
      if (v === null) {
        putAscii(sk, 'null');
        return;
      }
      const withJson = v as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') {
        writeCanonical(sk, withJson.toJSON());
        return;
      }
      if (Array.isArray(v)) {
        room(sk, 1);
        sk.buf[sk.pos++] = 0x5b;
        for (let i = 0; i < v.length; i++) {
          if (i > 0) {
            room(sk, 1);
            sk.buf[sk.pos++] = 0x2c;
          }
          const item: unknown = v[i];
          if (member(item)) writeCanonical(sk, item);
          else putAscii(sk, 'null');
        }
        room(sk, 1);
        sk.buf[sk.pos++] = 0x5d;
        return;
      }
      const o = v as Record<string, unknown>;
      const plan = planFor(o);
      const { sorted } = plan;
      const names = nameBytes(plan);
      room(sk, 1);
      sk.buf[sk.pos++] = 0x7b;
      let n = 0;
      for (let i = 0; i < sorted.length; i++) {
        const item = o[sorted[i] as string];
        if (!member(item)) continue;
        if (n++ > 0) {
          room(sk, 1);
          sk.buf[sk.pos++] = 0x2c;
        }
        putBytes(sk, names[i] as Uint8Array);
        writeCanonical(sk, item);
      }
      room(sk, 1);
      sk.buf[sk.pos++] = 0x7d;
      return;
    }
    default:
      fail(`a ${typeof v} value has no JSON form`);
  }
}

/** The UTF-8 of canonicalJson(value), through writeCanonical (for tests and one-off use). */
export function canonicalBytes(value: unknown): Buffer {
  for (let size = 1024; ; size *= 4) {
    const sk: ByteSink = { buf: Buffer.allocUnsafe(size), pos: 0 };
    try {
      writeCanonical(sk, value);
      return sk.buf.subarray(0, sk.pos);
    } catch (err) {
      if (err !== SINK_FULL) throw err;
    }
  }
}
