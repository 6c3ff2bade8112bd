// The native entry: a superset of the MO§ES fields (DESIGN.md "The ledger"), hashed as
//   hash = SHA-256(UTF-8(JCS(entry without `hash`)))                      (the MO§ES rule)
//   seal.mac = HMAC-SHA256(epoch key, JCS(entry without `hash` and without `seal.mac`))
// Lines are written in canonical form themselves (members in JCS order, `hash` included), so a
// line is byte-for-byte the canonical text plus its hash, and readers that re-canonicalize (Python's
// json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)) get the same bytes.
import { ChainError } from './errors.js';
import { type HmacSha256, sha256Hex } from './hash.js';
import {
  type ByteSink,
  canonicalJson,
  putAscii,
  putBytes,
  putMember,
  putString,
  writeCanonical,
} from './jcs.js';

export interface EntryInput {
  kind: string;
  source?: string;
  agent?: string;
  component?: string;
  action?: string;
  detail?: string;
  outcome?: string;
  mode?: string;
  posture?: string;
  role?: string;
  session_hash?: string | null;
  payload?: Record<string, unknown>;
}

export interface Seal {
  epoch: number;
  mac: string;
}

export interface Entry {
  seq: number;
  timestamp: string;
  kind: string;
  source: string;
  agent: string;
  component: string;
  action: string;
  detail: string;
  outcome: string;
  mode: string;
  posture: string;
  role: string;
  session_hash: string | null;
  payload: Record<string, unknown>;
  previous_hash: string;
  seal?: Seal;
  hash: string;
}

/** Defaults for fields a caller leaves out (MO§ES defaults where MO§ES has one). */
export const ENTRY_DEFAULTS = {
  source: 'gavel',
  agent: 'gavel',
  component: 'gavel',
  detail: '',
  outcome: 'logged',
  mode: 'high-integrity',
  posture: 'defense',
  role: 'primary',
} as const;

/** Every top-level member a native entry has (`seal` only when sealed). */
export const ENTRY_FIELDS: readonly string[] = [
  'seq',
  'timestamp',
  'kind',
  'source',
  'agent',
  'component',
  'action',
  'detail',
  'outcome',
  'mode',
  'posture',
  'role',
  'session_hash',
  'payload',
  'previous_hash',
  'seal',
  'hash',
];

function str(v: unknown, field: string, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new ChainError('BAD_ENTRY', `${field} must be a string, got ${typeof v}`);
  return v;
}

/** The entry's fields (without seq, timestamp, links, seal, hash), defaults applied and types checked. */
export function normalizeInput(
  input: EntryInput,
): Omit<Entry, 'seq' | 'timestamp' | 'previous_hash' | 'seal' | 'hash'> {
  if (typeof input !== 'object' || input === null)
    throw new ChainError('BAD_ENTRY', 'an entry must be an object');
  if (typeof input.kind !== 'string' || input.kind === '')
    throw new ChainError('BAD_ENTRY', 'kind is required');
  const sh = input.session_hash;
  if (sh !== undefined && sh !== null && typeof sh !== 'string')
    throw new ChainError('BAD_ENTRY', 'session_hash must be a string or null');
  const payload = input.payload ?? {};
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new ChainError('BAD_ENTRY', 'payload must be a JSON object');
  return {
    kind: input.kind,
    source: str(input.source, 'source', ENTRY_DEFAULTS.source),
    agent: str(input.agent, 'agent', ENTRY_DEFAULTS.agent),
    component: str(input.component, 'component', ENTRY_DEFAULTS.component),
    action: str(input.action, 'action', input.kind),
    detail: str(input.detail, 'detail', ENTRY_DEFAULTS.detail),
    outcome: str(input.outcome, 'outcome', ENTRY_DEFAULTS.outcome),
    mode: str(input.mode, 'mode', ENTRY_DEFAULTS.mode),
    posture: str(input.posture, 'posture', ENTRY_DEFAULTS.posture),
    role: str(input.role, 'role', ENTRY_DEFAULTS.role),
    session_hash: sh ?? null,
    payload,
  };
}

export type EntryBody = ReturnType<typeof normalizeInput>;

/**
 * A new entry's canonical parts that do not depend on its place in the chain, written as UTF-8 when
 * it is appended (stageEntry) and completed when its batch is committed (writeStagedLine). Members
 * are in JCS order (action, agent, component, detail, [hash], kind, mode, outcome, payload, posture,
 * previous_hash, role, [seal], seq, session_hash, source, timestamp), so the parts are, in `buf`:
 *   [at, b): `{"action":…,"agent":…,"component":…,"detail":…,` then `"kind":…,"mode":…,"outcome":…,
 *            "payload":…,"posture":…,"previous_hash":"` — the hash member goes in at `a`, between them;
 *   [b, c): `","role":…`;
 *   [c, d): `,"session_hash":…,"source":…,"timestamp":"`.
 */
export interface StagedEntry {
  buf: Buffer;
  at: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

/**
 * The bytes a run of members was last staged as, and the values they were staged for. Most members
 * of an entry repeat from one entry to the next (a daemon's source and role, a batch's agent, gate
 * and kind): when the values are the same strings again, the bytes are copied instead of written
 * and checked for escapes a character at a time.
 */
interface Run {
  x: string | null | undefined;
  y: string | null | undefined;
  z: string | null | undefined;
  bytes: Uint8Array;
  /** Where a part boundary falls inside the bytes (the tail's `c`). */
  mark: number;
}
const MAX_RUN_BYTES = 1024;
const NO_BYTES = new Uint8Array(0);
const runs: Run[] = Array.from({ length: 3 }, () => ({
  x: undefined,
  y: undefined,
  z: undefined,
  bytes: NO_BYTES,
  mark: 0,
}));

function again(r: Run, x: string | null, y: string | null, z: string | null): boolean {
  return r.x === x && r.y === y && r.z === z && r.bytes.length > 0;
}

function keep(
  r: Run,
  sk: ByteSink,
  from: number,
  mark: number,
  x: string | null,
  y: string | null,
  z: string | null,
): void {
  r.mark = mark;
  if (sk.pos - from > MAX_RUN_BYTES) {
    // Long values are written each time, not kept (they would outlive their entry).
    r.x = r.y = r.z = undefined;
    r.bytes = NO_BYTES;
    return;
  }
  r.x = x;
  r.y = y;
  r.z = z;
  r.bytes = Uint8Array.prototype.slice.call(sk.buf, from, sk.pos);
}

/** Writes the staged parts of `body` into `sk` (SINK_FULL when out of room: stage again in a bigger
 *  buffer). Throws ChainError BAD_ENTRY for text or a payload with no canonical form. */
export function stageEntry(sk: ByteSink, body: EntryBody): StagedEntry {
  const at = sk.pos;
  const head = runs[0] as Run;
  if (again(head, body.action, body.agent, body.component)) putBytes(sk, head.bytes);
  else {
    putMember(sk, '{"action":', body.action);
    putMember(sk, ',"agent":', body.agent);
    putMember(sk, ',"component":', body.component);
    putAscii(sk, ',"detail":');
    keep(head, sk, at, 0, body.action, body.agent, body.component);
  }
  putString(sk, body.detail);
  putAscii(sk, ',');
  const a = sk.pos;
  const kind = runs[1] as Run;
  if (again(kind, body.kind, body.mode, null)) putBytes(sk, kind.bytes);
  else {
    putMember(sk, '"kind":', body.kind);
    putMember(sk, ',"mode":', body.mode);
    putAscii(sk, ',"outcome":');
    keep(kind, sk, a, 0, body.kind, body.mode, null);
  }
  putString(sk, body.outcome);
  putAscii(sk, ',"payload":');
  writeCanonical(sk, body.payload);
  putMember(sk, ',"posture":', body.posture);
  putAscii(sk, ',"previous_hash":"');
  const b = sk.pos;
  const tail = runs[2] as Run;
  if (again(tail, body.role, body.session_hash, body.source)) putBytes(sk, tail.bytes);
  else {
    putMember(sk, '","role":', body.role);
    const mark = sk.pos - b;
    putAscii(sk, ',"session_hash":');
    if (body.session_hash === null) putAscii(sk, 'null');
    else putString(sk, body.session_hash);
    putMember(sk, ',"source":', body.source);
    putAscii(sk, ',"timestamp":"');
    keep(tail, sk, b, mark, body.role, body.session_hash, body.source);
  }
  const c = b + tail.mark;
  return { buf: sk.buf, at, a, b, c, d: sk.pos };
}

/** Bytes writeStagedLine() may need at most for `s`. */
export function stagedLineMaxBytes(s: StagedEntry): number {
  return s.d - s.at + 512;
}

function ascii(out: Buffer, p: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[p++] = text.charCodeAt(i);
  return p;
}

/** The decimal digits of a non-negative safe integer (what `${n}` gives), written in place. */
function digits(out: Buffer, p: number, n: number): number {
  let len = 1;
  for (let t = n; t >= 10; t = Math.floor(t / 10)) len++;
  let q = p + len;
  let t = n;
  do {
    out[--q] = 0x30 + (t % 10);
    t = Math.floor(t / 10);
  } while (t > 0);
  return p + len;
}

/** `,"seal":{"epoch":<epoch>}`: the seal of a MAC input, made once per batch and epoch. */
export function sealOpening(epoch: number): string {
  const text = `,"seal":{"epoch":${epoch}}`;
  // A flat string: written a character at a time for every entry of the batch.
  text.charCodeAt(0);
  return text;
}

function copyBytes(src: Buffer, from: number, to: number, out: Buffer, p: number): number {
  if (to - from > 64) return p + src.copy(out, p, from, to);
  for (let k = from; k < to; k++) out[p++] = src[k] as number;
  return p;
}

/**
 * Writes the stored line of a staged entry and its newline into `out` at `at` (room:
 * stagedLineMaxBytes), completed with its link, seq and timestamp, sealed with `hmac` under `epoch`
 * (`seal.opening` is sealOpening(epoch)) when given; returns where it ends with the hash and MAC. `previousHash` is 64 hex digits (ours, or
 * the checked head's) and `timestampTail` is the RFC 3339 timestamp followed by `"}`: ASCII both.
 * The text is written once as the MAC input (the seal holding only its epoch), MACed from there,
 * the MAC member slid in, the result — now the hash input — hashed where it lies, and the hash member
 * slid in after the first part: no string is built and no per-entry buffer is allocated.
 */
export function writeStagedLine(
  out: Buffer,
  at: number,
  s: StagedEntry,
  previousHash: string,
  seq: number,
  timestampTail: string,
  seal: { opening: string; hmac: HmacSha256 } | undefined,
): { end: number; hash: string; mac: string | undefined } {
  const src = s.buf;
  let p = at + src.copy(out, at, s.at, s.b);
  const headEnd = at + (s.a - s.at);
  p = ascii(out, p, previousHash);
  p = copyBytes(src, s.b, s.c, out, p);
  let sealClose = -1;
  if (seal !== undefined) {
    p = ascii(out, p, seal.opening);
    sealClose = p - 1;
  }
  p = digits(out, ascii(out, p, ',"seq":'), seq);
  p = copyBytes(src, s.c, s.d, out, p);
  p = ascii(out, p, timestampTail);
  let mac: string | undefined;
  if (seal !== undefined) {
    const n = p - at;
    out.copy(seal.hmac.messageBuffer(n), 64, at, p);
    mac = seal.hmac.macOf(n);
    // `,"mac":"<64 hex>"` (73 bytes) goes before the seal's closing brace.
    out.copyWithin(sealClose + 73, sealClose, p);
    ascii(out, ascii(out, sealClose, ',"mac":"'), mac);
    out[sealClose + 72] = 0x22;
    p += 73;
  }
  const hash = sha256Hex(new Uint8Array(out.buffer, out.byteOffset + at, p - at));
  // `"hash":"<64 hex>",` (74 bytes) goes right after the first part (members in JCS order).
  out.copyWithin(headEnd + 74, headEnd, p);
  ascii(out, ascii(out, headEnd, '"hash":"'), hash);
  out[headEnd + 72] = 0x22;
  out[headEnd + 73] = 0x2c;
  p += 74;
  out[p++] = 0x0a;
  return { end: p, hash, mac };
}

/** A batch's lines as writeLines() left them: `out[0, end)`, line i ending at `ends[i]`. */
export interface BuiltLines {
  out: Buffer;
  end: number;
  ends: number[];
  hashes: string[];
  /** Each line's MAC when sealed. */
  macs: string[] | undefined;
}

/**
 * The stored lines of staged entries, in order from `seq`, the first linked to `previousHash`, each
 * to the one before: writeStagedLine for each, into `out` from 0 (a bigger buffer, made by `grow`,
 * when it runs out of room). Run on the thread taking appends or on the ledger's build thread.
 */
export function writeLines(
  out: Buffer,
  staged: readonly StagedEntry[],
  previousHash: string,
  seq: number,
  timestampTail: string,
  seal: { opening: string; hmac: HmacSha256 } | undefined,
  grow: (size: number) => Buffer,
): BuiltLines {
  let used = 0;
  let prev = previousHash;
  const ends: number[] = [];
  const hashes: string[] = [];
  const macs: string[] | undefined = seal !== undefined ? [] : undefined;
  for (let i = 0; i < staged.length; i++) {
    const s = staged[i] as StagedEntry;
    const room = stagedLineMaxBytes(s);
    if (out.length - used < room) {
      const bigger = grow(Math.max(2 * out.length, used + room));
      out.copy(bigger, 0, 0, used);
      out = bigger;
    }
    const w = writeStagedLine(out, used, s, prev, seq + i, timestampTail, seal);
    used = w.end;
    ends.push(used);
    hashes.push(w.hash);
    macs?.push(w.mac as string);
    prev = w.hash;
  }
  return { out, end: used, ends, hashes, macs };
}

/** Hash of any parsed entry: SHA-256 of the canonical form without `hash`. */
export function entryHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

/**
 * Canonical text of a parsed entry without `hash`, and (when sealed) the HMAC input, which is the
 * same text with the top-level seal reduced to its epoch. The seal is cut out of the text rather than
 * re-serialized when it is the last structured member (as in every native entry: only scalar members
 * sort after "seal"); anything else takes the general path.
 */
export function canonicalForms(entry: Record<string, unknown>): { hashInput: string; macInput?: string } {
  const { hash: _hash, ...rest } = entry;
  const hashInput = canonicalJson(rest);
  const seal = rest.seal as { epoch?: unknown; mac?: unknown } | undefined;
  if (seal === undefined || typeof seal !== 'object' || seal === null) return { hashInput };
  const { mac: _mac, ...sealWithoutMac } = seal;
  if (typeof seal.mac === 'string' && Number.isSafeInteger(seal.epoch) && Object.keys(seal).length === 2) {
    const member = `"seal":{"epoch":${seal.epoch as number},"mac":${canonicalJson(seal.mac)}}`;
    const at = hashInput.lastIndexOf(member);
    const after = at < 0 ? '' : hashInput.slice(at + member.length);
    if (at > 0 && !after.includes('{') && !after.includes('[') && after.indexOf('}') === after.length - 1) {
      return {
        hashInput,
        macInput: `${hashInput.slice(0, at)}"seal":{"epoch":${seal.epoch as number}}${after}`,
      };
    }
  }
  return { hashInput, macInput: canonicalJson({ ...rest, seal: sealWithoutMac }) };
}
