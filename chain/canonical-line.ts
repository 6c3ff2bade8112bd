// Verify's fast path: gavel writes every native line in RFC 8785 canonical form, so when a line IS
// canonical, its canonical text without `hash` is the line with the hash member cut out — no
// JSON.parse, no re-serialization. This scanner decides, in one pass over the text, whether a line
// is exactly the canonical JSON of the object it denotes, and returns the spans of its top-level
// members. Anything it is unsure of (escaped member names, unusual numbers) makes it answer
// "not canonical", and the caller takes the general path (parse + canonicalize), so the fast path
// can only ever agree with the slow one (test/chain/canonical-line.test.ts checks exactly that).
//
// Canonical per RFC 8785 §3.2: no whitespace; members sorted by UTF-16 code units, no duplicates;
// strings escaped only as \" \\ \b \f \n \r \t and \u00xx (lowercase) for other controls, every
// surrogate paired; numbers in ECMAScript Number-to-String form; literals true, false, null.

export interface MemberSpan {
  /** Index of the member's opening quote. */
  start: number;
  /** Value span [valueStart, valueEnd). */
  valueStart: number;
  valueEnd: number;
}

class NotCanonical {}
const NO = new NotCanonical();

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?/y;

// A run of characters that need no escape, then the closing quote: matched in place (sticky), so the
// common string costs one native scan and no substring.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters a canonical string must escape.
const PLAIN_STRING = /[^"\\\u0000-\u001f\ud800-\udfff]*"/y;

function stringEnd(s: string, i: number): number {
  // s[i] === '"'; returns the index after the closing quote. Most strings hold nothing to escape.
  PLAIN_STRING.lastIndex = i + 1;
  if (PLAIN_STRING.test(s)) return PLAIN_STRING.lastIndex;
  return stringEndSlow(s, i);
}

function stringEndSlow(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const c = s.charCodeAt(j);
    if (Number.isNaN(c)) throw NO;
    if (c === 0x22) return j + 1;
    if (c < 0x20) throw NO;
    if (c === 0x5c) {
      const e = s.charCodeAt(j + 1);
      if (e === 0x22 || e === 0x5c || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        j += 2;
        continue;
      }
      // \u00xx only for controls without a short form, lowercase hex.
      if (e !== 0x75 || s.charCodeAt(j + 2) !== 0x30 || s.charCodeAt(j + 3) !== 0x30) throw NO;
      const h = s.slice(j + 4, j + 6);
      if (!/^[01][0-9a-f]$/.test(h)) throw NO;
      const code = Number.parseInt(h, 16);
      if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) throw NO;
      j += 6;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const lo = s.charCodeAt(j + 1);
      if (c > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff)) throw NO;
      j += 2;
      continue;
    }
    j++;
  }
}

function valueEnd(s: string, i: number, depth: number): number {
  const c = s.charCodeAt(i);
  if (c === 0x22) return stringEnd(s, i);
  if (c === 0x7b) return objectEnd(s, i, depth + 1, undefined);
  if (c === 0x5b) {
    if (depth > 64) throw NO;
    let j = i + 1;
    if (s.charCodeAt(j) === 0x5d) return j + 1;
    for (;;) {
      j = valueEnd(s, j, depth + 1);
      const d = s.charCodeAt(j);
      if (d === 0x5d) return j + 1;
      if (d !== 0x2c) throw NO;
      j++;
    }
  }
  if (s.startsWith('true', i)) return i + 4;
  if (s.startsWith('false', i)) return i + 5;
  if (s.startsWith('null', i)) return i + 4;
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(s);
  if (m === null) throw NO;
  const tok = m[0];
  // Only the ECMAScript form of the number is canonical (no "1.0", "1E3", "-0", "1e+2" for 100).
  if (String(Number(tok)) !== tok) throw NO;
  return i + tok.length;
}

function objectEnd(s: string, i: number, depth: number, top: Map<string, MemberSpan> | undefined): number {
  if (depth > 64) throw NO;
  let j = i + 1;
  if (s.charCodeAt(j) === 0x7d) return j + 1;
  let prev: string | undefined;
  for (;;) {
    if (s.charCodeAt(j) !== 0x22) throw NO;
    const start = j;
    const keyEnd = stringEnd(s, j);
    const key = s.slice(j + 1, keyEnd - 1);
    // Escaped member names are rare; leave them to the general path.
    if (key.includes('\\')) throw NO;
    if (prev !== undefined && !(prev < key)) throw NO;
    prev = key;
    if (s.charCodeAt(keyEnd) !== 0x3a) throw NO;
    const vs = keyEnd + 1;
    const ve = valueEnd(s, vs, depth);
    top?.set(key, { start, valueStart: vs, valueEnd: ve });
    const d = s.charCodeAt(ve);
    if (d === 0x7d) return ve + 1;
    if (d !== 0x2c) throw NO;
    j = ve + 1;
  }
}

/**
 * The top-level members of `line` when it is exactly the RFC 8785 canonical text of a JSON object;
 * undefined when it is not (or when this scanner cannot tell).
 */
export function canonicalMembers(line: string): Map<string, MemberSpan> | undefined {
  if (line.charCodeAt(0) !== 0x7b) return undefined;
  const top = new Map<string, MemberSpan>();
  try {
    if (objectEnd(line, 0, 0, top) !== line.length) return undefined;
  } catch (err) {
    if (err === NO) return undefined;
    throw err;
  }
  return top;
}

/** `line` without the top-level member `name` (and its separating comma). */
export function withoutMember(
  line: string,
  members: Map<string, MemberSpan>,
  name: string,
): string | undefined {
  const m = members.get(name);
  if (m === undefined) return undefined;
  if (line.charCodeAt(m.valueEnd) === 0x2c) return line.slice(0, m.start) + line.slice(m.valueEnd + 1);
  // Last member: drop the comma before it (or nothing, when it is the only one).
  const before = line.charCodeAt(m.start - 1) === 0x2c ? m.start - 1 : m.start;
  return line.slice(0, before) + line.slice(m.valueEnd);
}
