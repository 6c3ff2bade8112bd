// The per-chunk half of ledger verification: pure, so chunks can be checked on any thread in any
// order. A chunk is a run of whole JSONL lines; for each entry it recomputes the hash (SHA-256 of
// the RFC 8785 form without `hash`), and inside the chunk checks previous_hash links and seq
// continuity. What crosses chunk boundaries (the first entry's link and seq) is left to the
// sequential pass in verify-parallel.ts. Order of checks per entry follows the MO§ES verifier:
// hash first, then the link (MOSES-FORMAT.md "verify").
// Seals (chain/seal.ts): a ledger is sealed throughout or not at all; epochs never go back and step
// up by one only at a `seal.epoch` entry; with the operator secret every MAC is recomputed. What
// crosses a chunk boundary (the first entry's seal against the previous chunk's last) is left to the
// sequential pass, like links.
import { isUtf8 } from 'node:buffer';
import { canonicalObjectBytes, newTopSpans, TOP, type TopSpans } from './canonical-bytes.js';
import { canonicalMembers, type MemberSpan, withoutMember } from './canonical-line.js';
import { canonicalForms } from './entry.js';
import { HmacSha256, sha256Hex } from './hash.js';
import { EpochKeys, macEquals } from './seal.js';

export type ChunkFailureKind = 'parse' | 'hash' | 'link' | 'seq' | 'seal';

/** What the sequential pass needs of an entry's seal: whether it has one, its epoch, its kind. */
export interface SealInfo {
  sealed: boolean;
  epoch: number;
  /** The entry is a well-formed `seal.epoch` step to `epoch`. */
  step: boolean;
}

export interface ChunkOptions {
  wantHashes?: boolean;
  /** Operator secret: recompute every seal's MAC (counts as a keyed check). */
  secret?: string;
  /** Read every line as decoded text (the reference path the byte path is tested against). */
  textOnly?: boolean;
}

/** `next` may follow `prev`: same sealed-ness, same epoch, or one step up at a seal.epoch entry. */
export function sealFollows(prev: SealInfo, next: SealInfo): boolean {
  if (prev.sealed !== next.sealed) return false;
  if (!next.sealed) return true;
  return next.epoch === prev.epoch || (next.epoch === prev.epoch + 1 && next.step);
}

function sealInfo(seal: unknown, kind: unknown, payloadEpoch: () => unknown): SealInfo | undefined {
  if (seal === undefined) return { sealed: false, epoch: 0, step: false };
  if (typeof seal !== 'object' || seal === null) return undefined;
  const { epoch, mac } = seal as { epoch?: unknown; mac?: unknown };
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) return undefined;
  if (typeof mac !== 'string' || !/^[0-9a-f]{64}$/.test(mac)) return undefined;
  return { sealed: true, epoch, step: kind === 'seal.epoch' && payloadEpoch() === epoch };
}

export interface ChunkResult {
  /** Sequence number of this chunk in the file (assigned by the reader). */
  chunk: number;
  /** Entries (non-blank lines) in the chunk. */
  count: number;
  firstPrev: string | undefined;
  firstSeq: unknown;
  lastHash: string | undefined;
  lastSeq: unknown;
  /** With `wantHashes`: the raw 32-byte entry hashes of the chunk's entries, in order. */
  hashes?: Uint8Array;
  firstSeal?: SealInfo;
  lastSeal?: SealInfo;
  /** Seal MACs recomputed with the operator secret. */
  keyedChecks: number;
  /** The first failure inside the chunk, by 0-based position in the chunk. */
  failure?: { at: number; kind: ChunkFailureKind };
}

const NEWLINE = 0x0a;

/** What verification needs of one line, by whichever path could read it. */
interface EntryView {
  hash: unknown;
  hashInput: string;
  macInput: string | undefined;
  fields: { previous_hash: unknown; prev_hash: unknown; seq: unknown; seal: unknown; kind: unknown };
  payloadEpoch: () => unknown;
}

function jsonValue(line: string, m: MemberSpan | undefined): unknown {
  if (m === undefined) return undefined;
  const text = line.slice(m.valueStart, m.valueEnd);
  // Plain strings (hashes, kinds) need no parser.
  if (text.charCodeAt(0) === 0x22 && !text.includes('\\')) return text.slice(1, -1);
  return JSON.parse(text);
}

/**
 * Fast path for canonical lines (every line gavel writes): the hash input is the line minus its hash
 * member and the MAC input that text with the seal reduced to its epoch — both cut, not rebuilt.
 * Other lines (MO§ES lines, hand-edited ones) are parsed and canonicalized.
 */
function readEntry(line: string): EntryView | 'parse' | 'hash' {
  const members = canonicalMembers(line);
  const hashM = members?.get('hash');
  if (members !== undefined && hashM !== undefined) {
    const hashInput = withoutMember(line, members, 'hash') as string;
    const sealM = members.get('seal');
    const seal = jsonValue(line, sealM);
    let macInput: string | undefined;
    let general = false;
    if (sealM !== undefined) {
      const sv = seal as { epoch?: unknown; mac?: unknown } | null;
      if (
        typeof sv === 'object' &&
        sv !== null &&
        Object.keys(sv).length === 2 &&
        Number.isSafeInteger(sv.epoch) &&
        typeof sv.mac === 'string'
      ) {
        const shift = line.length - hashInput.length;
        macInput = `${hashInput.slice(0, sealM.valueStart - shift)}{"epoch":${sv.epoch as number}}${hashInput.slice(sealM.valueEnd - shift)}`;
      } else general = true;
    }
    if (!general) {
      return {
        hash: jsonValue(line, hashM),
        hashInput,
        macInput,
        fields: {
          previous_hash: jsonValue(line, members.get('previous_hash')),
          prev_hash: jsonValue(line, members.get('prev_hash')),
          seq: jsonValue(line, members.get('seq')),
          seal,
          kind: jsonValue(line, members.get('kind')),
        },
        payloadEpoch: () =>
          (jsonValue(line, members.get('payload')) as { epoch?: unknown } | undefined)?.epoch,
      };
    }
  }
  let e: Record<string, unknown>;
  try {
    e = JSON.parse(line) as Record<string, unknown>;
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return 'parse';
  } catch {
    return 'parse';
  }
  let forms: ReturnType<typeof canonicalForms>;
  try {
    forms = canonicalForms(e);
  } catch {
    return 'hash';
  }
  return {
    hash: e.hash,
    hashInput: forms.hashInput,
    macInput: forms.macInput,
    fields: {
      previous_hash: e.previous_hash,
      prev_hash: e.prev_hash,
      seq: e.seq,
      seal: e.seal,
      kind: e.kind,
    },
    payloadEpoch: () => (e.payload as { epoch?: unknown } | undefined)?.epoch,
  };
}

const keyCache = new Map<string, EpochKeys>();

function epochKeys(secret: string): EpochKeys {
  let k = keyCache.get(secret);
  if (k === undefined) {
    keyCache.clear();
    k = new EpochKeys(secret);
    keyCache.set(secret, k);
  }
  return k;
}

/** One HMAC state per epoch key, kept while the key stays the same (it changes once an epoch). */
let macState: { key: Uint8Array; hmac: HmacSha256 } | undefined;
function hmacFor(key: Uint8Array): HmacSha256 {
  if (macState?.key !== key) macState = { key, hmac: new HmacSha256(key) };
  return macState.hmac;
}

const SEAL_EPOCH = Buffer.from('"seal.epoch"', 'latin1');
const SEAL_HEAD = Buffer.from('{"epoch":', 'latin1');
const MAC_HEAD = Buffer.from(',"mac":"', 'latin1');
const HEX_LOWER = new Uint8Array(256);
for (const c of '0123456789abcdef') HEX_LOWER[c.charCodeAt(0)] = 1;

function bytesEqual(b: Uint8Array, at: number, lit: Uint8Array): boolean {
  for (let k = 0; k < lit.length; k++) if (b[at + k] !== lit[k]) return false;
  return true;
}

/** b[s..e) holds no backslash: a JSON string's inside that decodes to itself. */
function noEscape(b: Uint8Array, s: number, e: number): boolean {
  for (let k = s; k < e; k++) if (b[k] === 0x5c) return false;
  return true;
}

/** The digits b[s..e) as a number when they are 1-15 plain decimal digits; -1 otherwise. */
function smallInt(b: Uint8Array, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let k = s; k < e; k++) {
    const c = (b[k] as number) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/** The stored string b[s+1..e-1) equals `hex` (ASCII) — without decoding it. */
function storedEquals(b: Uint8Array, s: number, e: number, hex: string): boolean {
  if (e - s - 2 !== hex.length) return false;
  let diff = 0;
  for (let k = 0; k < hex.length; k++) diff |= (b[s + 1 + k] as number) ^ hex.charCodeAt(k);
  return diff === 0;
}

/**
 * Byte-level reading of a canonical native line (every line gavel writes): the hash and the seal MAC
 * are computed from the line's own bytes with the hash member (and the MAC) cut out — what
 * withoutMember() does to the decoded text, without decoding it. A line of any other shape makes
 * read() return false, and readEntry() takes it; on the lines it takes, the byte path's facts are
 * exactly readEntry()'s (test/chain/verify-bytes.test.ts).
 */
class ByteLines {
  private readonly top = newTopSpans();
  private scratch = Buffer.alloc(4096);
  // Facts of the last line read.
  hashOk = false;
  hash = '';
  prev: string | undefined;
  seq: number | undefined;
  seal: SealInfo | undefined;
  // Where the MAC input's pieces are: the hash member [cutStart, cutEnd) goes, and the seal value
  // keeps its head up to macComma, then `}`.
  private cutStart = 0;
  private cutEnd = 0;
  private macComma = -1;
  private macStart = -1;
  private sealEnd = -1;
  private s = 0;
  private e = 0;

  read(b: Buffer, s: number, e: number): boolean {
    const t = this.top;
    if (!canonicalObjectBytes(b, s, e, t)) return false;
    const hs = t[TOP.hash] as number;
    const hvs = t[TOP.hash + 1] as number;
    const hve = t[TOP.hash + 2] as number;
    if (hs < 0) return false;
    // previous_hash / prev_hash: absent or plain strings, else the general path decides.
    const pvs = t[TOP.previous_hash + 1] as number;
    const pve = t[TOP.previous_hash + 2] as number;
    if (pvs >= 0 && (b[pvs] !== 0x22 || !noEscape(b, pvs, pve))) return false;
    const ovs = t[TOP.prev_hash + 1] as number;
    const ove = t[TOP.prev_hash + 2] as number;
    if (ovs >= 0 && (b[ovs] !== 0x22 || !noEscape(b, ovs, ove))) return false;
    // seq: absent or a plain integer.
    const qvs = t[TOP.seq + 1] as number;
    let seq: number | undefined;
    if (qvs >= 0) {
      seq = smallInt(b, qvs, t[TOP.seq + 2] as number);
      if (seq < 0) return false;
    }
    // seal: absent or exactly {"epoch":<integer>,"mac":"<plain string>"}.
    const svs = t[TOP.seal + 1] as number;
    const sve = t[TOP.seal + 2] as number;
    let seal: SealInfo | undefined;
    this.macComma = -1;
    if (svs < 0) seal = { sealed: false, epoch: 0, step: false };
    else {
      if (!bytesEqual(b, svs, SEAL_HEAD)) return false;
      let d = svs + SEAL_HEAD.length;
      while (d < sve && (b[d] as number) >= 0x30 && (b[d] as number) <= 0x39) d++;
      const epoch = smallInt(b, svs + SEAL_HEAD.length, d);
      if (epoch < 0 || !bytesEqual(b, d, MAC_HEAD)) return false;
      const ms = d + MAC_HEAD.length;
      if (b[sve - 1] !== 0x7d || b[sve - 2] !== 0x22 || !noEscape(b, ms, sve - 2)) return false;
      this.macComma = d;
      this.macStart = ms;
      this.sealEnd = sve;
      // sealInfo(): a seal is well formed only with a 64-hex MAC.
      let hex = sve - 2 - ms === 64;
      for (let k = ms; hex && k < sve - 2; k++) if (HEX_LOWER[b[k] as number] !== 1) hex = false;
      if (hex) {
        const kvs = t[TOP.kind + 1] as number;
        const step =
          kvs >= 0 &&
          (t[TOP.kind + 2] as number) - kvs === SEAL_EPOCH.length &&
          bytesEqual(b, kvs, SEAL_EPOCH) &&
          payloadEpochOf(b, t) === epoch;
        seal = { sealed: true, epoch, step };
      }
    }
    // The hash input: the line without its hash member (withoutMember()).
    if (b[hve] === 0x2c) {
      this.cutStart = hs;
      this.cutEnd = hve + 1;
    } else {
      this.cutStart = b[hs - 1] === 0x2c ? hs - 1 : hs;
      this.cutEnd = hve;
    }
    const n = e - s - (this.cutEnd - this.cutStart);
    if (this.scratch.length < n) this.scratch = Buffer.alloc(2 * n);
    const h = this.scratch;
    b.copy(h, 0, s, this.cutStart);
    b.copy(h, this.cutStart - s, this.cutEnd, e);
    const computed = sha256Hex(new Uint8Array(h.buffer, h.byteOffset, n));
    this.hashOk = b[hvs] === 0x22 && storedEquals(b, hvs, hve, computed);
    this.hash = computed;
    this.prev =
      pvs >= 0 && pve - pvs > 2
        ? b.toString('utf8', pvs + 1, pve - 1)
        : ovs >= 0
          ? b.toString('utf8', ovs + 1, ove - 1)
          : undefined;
    this.seq = seq;
    this.seal = seal;
    this.s = s;
    this.e = e;
    return true;
  }

  /** The last line's seal MAC recomputed under `key` equals the stored one. */
  macOk(b: Buffer, key: Uint8Array): boolean {
    if (this.macComma < 0) return false;
    const { s, e, cutStart, cutEnd, macComma, sealEnd } = this;
    const n = e - s - (cutEnd - cutStart) - (sealEnd - macComma) + 1;
    const hm = hmacFor(key);
    const m = hm.messageBuffer(n);
    let at = 64 + b.copy(m, 64, s, cutStart);
    at += b.copy(m, at, cutEnd, macComma);
    m[at++] = 0x7d;
    b.copy(m, at, sealEnd, e);
    return storedEquals(b, this.macStart - 1, sealEnd - 1, hm.macOf(n));
  }
}

function payloadEpochOf(b: Buffer, t: TopSpans): unknown {
  const vs = t[TOP.payload + 1] as number;
  if (vs < 0) return undefined;
  return (JSON.parse(b.toString('utf8', vs, t[TOP.payload + 2] as number)) as { epoch?: unknown } | null)
    ?.epoch;
}

/** Facts of one line, by whichever path could read it. */
interface Facts {
  hash: unknown;
  hashOk: boolean;
  prev: string | undefined;
  seq: unknown;
  seal: SealInfo | undefined;
  storedMac: unknown;
}

function stringFacts(v: EntryView): Facts {
  const e = v.fields;
  // MO§ES: `previous_hash`, or when absent or empty the older `prev_hash`.
  const prev =
    typeof e.previous_hash === 'string' && e.previous_hash !== ''
      ? e.previous_hash
      : typeof e.prev_hash === 'string'
        ? e.prev_hash
        : undefined;
  return {
    hash: v.hash,
    hashOk: typeof v.hash === 'string' && sha256Hex(v.hashInput) === v.hash,
    prev,
    seq: e.seq,
    seal: sealInfo(e.seal, e.kind, v.payloadEpoch),
    storedMac: (e.seal as { mac?: unknown } | undefined)?.mac,
  };
}

export function checkChunk(chunk: number, bytes: Uint8Array, opts: ChunkOptions | boolean = {}): ChunkResult {
  const o: ChunkOptions = typeof opts === 'boolean' ? { wantHashes: opts } : opts;
  const wantHashes = o.wantHashes === true;
  const keys = o.secret !== undefined ? epochKeys(o.secret) : undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The byte path needs valid UTF-8 (then a line's bytes are what its decoded text encodes to); a
  // chunk holding anything else is decoded, replacement characters and all, and read as text.
  const bytePath = o.textOnly !== true && isUtf8(buf);
  const text = bytePath ? '' : buf.toString('utf8');
  const limit = bytePath ? buf.length : text.length;
  const lines = new ByteLines();
  const r: ChunkResult = {
    chunk,
    count: 0,
    firstPrev: undefined,
    firstSeq: undefined,
    lastHash: undefined,
    lastSeq: undefined,
    keyedChecks: 0,
  };
  let start = 0;
  let prevHash: string | undefined;
  let prevSeq: unknown;
  let prevSeal: SealInfo | undefined;
  const hashes: string[] = [];
  while (start < limit) {
    let end = bytePath ? buf.indexOf(NEWLINE, start) : text.indexOf('\n', start);
    if (end < 0) end = limit;
    const ls = start;
    start = end + 1;
    // Fast path: a canonical native line, read from its bytes.
    const fast = bytePath && buf[ls] === 0x7b && lines.read(buf, ls, end);
    let hash: unknown;
    let hashOk: boolean;
    let prev: string | undefined;
    let seq: unknown;
    let si: SealInfo | undefined;
    let slow: { macInput: string | undefined; storedMac: unknown } | undefined;
    const at = r.count;
    if (fast) {
      r.count++;
      hash = lines.hash;
      hashOk = lines.hashOk;
      prev = lines.prev;
      seq = lines.seq;
      si = lines.seal;
    } else {
      const line = bytePath ? buf.toString('utf8', ls, end) : text.slice(ls, end);
      if (line.trim() === '') continue;
      r.count++;
      const v = readEntry(line);
      if (v === 'parse' || v === 'hash') {
        r.failure = { at, kind: v };
        return r;
      }
      const f = stringFacts(v);
      hash = f.hash;
      hashOk = f.hashOk;
      prev = f.prev;
      seq = f.seq;
      si = f.seal;
      slow = { macInput: v.macInput, storedMac: f.storedMac };
    }
    if (!hashOk) {
      r.failure = { at, kind: 'hash' };
      return r;
    }
    if (at === 0) {
      r.firstPrev = prev;
      r.firstSeq = seq;
    } else {
      if (prev !== prevHash) {
        r.failure = { at, kind: 'link' };
        return r;
      }
      // seq continuity for native ledgers; MO§ES entries carry no seq at all.
      if ((seq !== undefined || prevSeq !== undefined) && !seqFollows(prevSeq, seq)) {
        r.failure = { at, kind: 'seq' };
        return r;
      }
    }
    // Seals: checked after the link, as MO§ES checks attestations last.
    if (si === undefined || (keys !== undefined && !si.sealed)) {
      r.failure = { at, kind: 'seal' };
      return r;
    }
    if (at === 0) r.firstSeal = si;
    else if (prevSeal !== undefined && !sealFollows(prevSeal, si)) {
      r.failure = { at, kind: 'seal' };
      return r;
    }
    if (keys !== undefined) {
      const key = keys.at(si.epoch);
      const ok =
        slow === undefined
          ? lines.macOk(buf, key)
          : slow.macInput !== undefined &&
            macEquals(hmacFor(key).macOfText(slow.macInput), slow.storedMac as string);
      if (!ok) {
        r.failure = { at, kind: 'seal' };
        return r;
      }
      r.keyedChecks++;
    }
    prevSeal = si;
    r.lastSeal = si;
    prevHash = hash as string;
    prevSeq = seq;
    r.lastHash = hash as string;
    if (wantHashes) hashes.push(hash as string);
    r.lastSeq = seq;
  }
  if (wantHashes) r.hashes = new Uint8Array(Buffer.from(hashes.join(''), 'hex'));
  return r;
}

/** `next` is `prev + 1` (both integers). */
export function seqFollows(prev: unknown, next: unknown): boolean {
  return typeof prev === 'number' && typeof next === 'number' && next === prev + 1;
}

/** Byte length of the longest prefix of `buf` that ends with a newline (0 if none). */
export function wholeLines(buf: Uint8Array, length: number): number {
  for (let i = length - 1; i >= 0; i--) if (buf[i] === NEWLINE) return i + 1;
  return 0;
}
