// The canonical-line test of canonical-line.ts, run on the UTF-8 bytes of a line instead of a decoded
// string: verify reads the ledger as bytes, and deciding canonical form there lets it hash and seal
// straight from the file's bytes with no UTF-8 decode, no substring and no re-encoding per entry.
//
// The caller must have checked that the bytes are valid UTF-8 (node:buffer isUtf8, which also refuses
// encoded surrogates). Then every byte >= 0x80 is part of a character that RFC 8785 writes literally,
// so only ASCII needs looking at: controls must be escaped (\b \f \n \r \t or lowercase \u00xx), `"`
// and `\` escaped, nothing else. Member names are compared as bytes, which is the RFC 8785 §3.2.3
// UTF-16 order only for ASCII names: a name with a non-ASCII byte or an escape makes the scanner
// answer "not canonical" and the caller takes the general path, as canonical-line.ts does.
//
// The top-level members verify needs are recorded by name into a reusable Int32Array (no Map, no
// per-member objects, no key strings): for each slot the member's start (its opening quote) and its
// value span, -1 when absent.

/** Slots of `TopSpans` (3 numbers each: member start, value start, value end). */
export const TOP = {
  hash: 0,
  seal: 3,
  previous_hash: 6,
  prev_hash: 9,
  seq: 12,
  kind: 15,
  payload: 18,
} as const;
export type TopSpans = Int32Array;
export function newTopSpans(): TopSpans {
  return new Int32Array(21);
}

// Byte classes inside a string: 0 needs no escape, 1 `"`, 2 `\`, 3 a control (must be escaped).
const CLS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) CLS[c] = 3;
CLS[0x22] = 1;
CLS[0x5c] = 2;

const HEX_LOWER = new Uint8Array(256);
for (const c of '0123456789abcdef') HEX_LOWER[c.charCodeAt(0)] = 1;

const NAMES: [number, Uint8Array][] = Object.entries(TOP).map(([k, v]) => [v, Buffer.from(k, 'latin1')]);

/** Index after the closing quote of the string opening at b[i]; -1 when it is not canonical. */
function stringEnd(b: Uint8Array, i: number, end: number): number {
  let j = i + 1;
  for (;;) {
    while (j < end && CLS[b[j] as number] === 0) j++;
    if (j >= end) return -1;
    const k = CLS[b[j] as number];
    if (k === 1) return j + 1;
    if (k === 3) return -1;
    // Backslash: only \" \\ \b \f \n \r \t, or \u00xx (lowercase) for controls without a short form.
    if (j + 2 > end) return -1;
    const e = b[j + 1];
    if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      j += 2;
      continue;
    }
    if (e !== 0x75 || b[j + 2] !== 0x30 || b[j + 3] !== 0x30 || j + 6 > end) return -1;
    const h = b[j + 4] as number;
    const l = b[j + 5] as number;
    if ((h !== 0x30 && h !== 0x31) || HEX_LOWER[l] !== 1) return -1;
    const code = (h - 0x30) * 16 + (l <= 0x39 ? l - 0x30 : l - 0x57);
    if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
    j += 6;
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Index after the number starting at b[i] when it is in ECMAScript Number-to-String form; else -1. */
function numberEnd(b: Uint8Array, i: number, end: number): number {
  let j = i;
  if (b[j] === 0x2d) j++;
  const intStart = j;
  if (b[j] === 0x30) j++;
  else if (j < end && isDigit(b[j])) while (j < end && isDigit(b[j])) j++;
  else return -1;
  const intDigits = j - intStart;
  let plain = true;
  if (j < end && b[j] === 0x2e) {
    plain = false;
    j++;
    if (!(j < end && isDigit(b[j]))) return -1;
    while (j < end && isDigit(b[j])) j++;
  }
  if (j < end && b[j] === 0x65) {
    plain = false;
    j++;
    if (b[j] === 0x2b || b[j] === 0x2d) j++;
    if (!(j < end && isDigit(b[j]))) return -1;
    while (j < end && isDigit(b[j])) j++;
  }
  // A plain integer of at most 15 digits is its own shortest form, except -0 (written 0).
  if (plain && intDigits <= 15) return b[i] === 0x2d && b[i + 1] === 0x30 ? -1 : j;
  if (shortDecimal(b, intStart, intDigits, j)) return j;
  const tok = Buffer.from(b.buffer, b.byteOffset + i, j - i).toString('latin1');
  return String(Number(tok)) === tok ? j : -1;
}

/**
 * A decimal d.ddd (no exponent) with at most 15 significant digits, no trailing zero, and at least
 * 1e-6 in magnitude is its own ECMAScript Number-to-String form: 15 digits identify a double
 * uniquely, so no shorter string names the same number, and the form is positional from 1e-6 up.
 */
function shortDecimal(b: Uint8Array, intStart: number, intDigits: number, end: number): boolean {
  const dot = intStart + intDigits;
  if (b[dot] !== 0x2e || b[end - 1] === 0x30) return false;
  for (let k = dot + 1; k < end; k++) if (!isDigit(b[k])) return false; // an exponent
  let sig = end - dot - 1;
  if (intDigits === 1 && b[intStart] === 0x30) {
    let zeros = 0;
    while (b[dot + 1 + zeros] === 0x30) zeros++;
    if (zeros >= 6) return false;
    sig -= zeros;
  } else sig += intDigits;
  return sig <= 15;
}

function literalEnd(b: Uint8Array, i: number, end: number, lit: readonly number[]): number {
  if (i + lit.length > end) return -1;
  for (let k = 0; k < lit.length; k++) if (b[i + k] !== lit[k]) return -1;
  return i + lit.length;
}
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

function valueEnd(b: Uint8Array, i: number, end: number, depth: number): number {
  const c = b[i];
  if (c === 0x22) return stringEnd(b, i, end);
  if (c === 0x7b) return objectEnd(b, i, end, depth + 1, undefined);
  if (c === 0x5b) {
    if (depth > 64) return -1;
    let j = i + 1;
    if (b[j] === 0x5d) return j + 1;
    for (;;) {
      j = valueEnd(b, j, end, depth + 1);
      if (j < 0 || j >= end) return -1;
      const d = b[j];
      if (d === 0x5d) return j + 1;
      if (d !== 0x2c) return -1;
      j++;
    }
  }
  if (c === 0x74) return literalEnd(b, i, end, TRUE);
  if (c === 0x66) return literalEnd(b, i, end, FALSE);
  if (c === 0x6e) return literalEnd(b, i, end, NULL);
  return numberEnd(b, i, end);
}

/** b[a0..a1) < b[c0..c1) as bytes (both ASCII member names). */
function nameLess(b: Uint8Array, a0: number, a1: number, c0: number, c1: number): boolean {
  const n = Math.min(a1 - a0, c1 - c0);
  for (let k = 0; k < n; k++) {
    const x = b[a0 + k] as number;
    const y = b[c0 + k] as number;
    if (x !== y) return x < y;
  }
  return a1 - a0 < c1 - c0;
}

function slotOf(b: Uint8Array, k0: number, k1: number): number {
  // Most top-level names are none of these: the length and first byte rule them out at once.
  const n = k1 - k0;
  const c = b[k0];
  if (
    !(
      (n === 4 && (c === 0x68 || c === 0x6b || c === 0x73)) ||
      (n === 3 && c === 0x73) ||
      ((n === 7 || n === 9 || n === 13) && c === 0x70)
    )
  )
    return -1;
  outer: for (const [slot, name] of NAMES) {
    if (name.length !== n) continue;
    for (let k = 0; k < n; k++) if (b[k0 + k] !== name[k]) continue outer;
    return slot;
  }
  return -1;
}

function objectEnd(b: Uint8Array, i: number, end: number, depth: number, top: TopSpans | undefined): number {
  if (depth > 64) return -1;
  let j = i + 1;
  if (b[j] === 0x7d) return j + 1;
  let p0 = -1;
  let p1 = -1;
  for (;;) {
    if (b[j] !== 0x22) return -1;
    const start = j;
    // Member names: plain ASCII only (an escape or a non-ASCII byte goes to the general path).
    let q = j + 1;
    while (q < end && CLS[b[q] as number] === 0 && (b[q] as number) < 0x80) q++;
    if (q >= end || b[q] !== 0x22) return -1;
    const k0 = j + 1;
    const k1 = q;
    if (p0 >= 0 && !nameLess(b, p0, p1, k0, k1)) return -1;
    p0 = k0;
    p1 = k1;
    if (b[q + 1] !== 0x3a) return -1;
    const vs = q + 2;
    const ve = valueEnd(b, vs, end, depth);
    if (ve < 0 || ve >= end) return -1;
    if (top !== undefined) {
      const slot = slotOf(b, k0, k1);
      if (slot >= 0) {
        top[slot] = start;
        top[slot + 1] = vs;
        top[slot + 2] = ve;
      }
    }
    const d = b[ve];
    if (d === 0x7d) return ve + 1;
    if (d !== 0x2c) return -1;
    j = ve + 1;
  }
}

/**
 * Whether b[start..end) is exactly the RFC 8785 canonical text of a JSON object (b valid UTF-8);
 * on true, `top` holds the spans of the members named in TOP (-1 for absent ones).
 */
export function canonicalObjectBytes(b: Uint8Array, start: number, end: number, top: TopSpans): boolean {
  top.fill(-1);
  if (b[start] !== 0x7b) return false;
  return objectEnd(b, start, end, 0, top) === end;
}
