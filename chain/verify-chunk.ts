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
import { canonicalMembers, type MemberSpan, withoutMember } from './canonical-line.js';
import { canonicalForms } from './entry.js';
import { sha256Hex } from './hash.js';
import { EpochKeys, macEquals, sealMac } from './seal.js';

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

export function checkChunk(chunk: number, bytes: Uint8Array, opts: ChunkOptions | boolean = {}): ChunkResult {
  const o: ChunkOptions = typeof opts === 'boolean' ? { wantHashes: opts } : opts;
  const wantHashes = o.wantHashes === true;
  const keys = o.secret !== undefined ? epochKeys(o.secret) : undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
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
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    const at = r.count++;
    const v = readEntry(line);
    if (v === 'parse' || v === 'hash') {
      r.failure = { at, kind: v };
      return r;
    }
    const e = v.fields;
    if (typeof v.hash !== 'string' || sha256Hex(v.hashInput) !== v.hash) {
      r.failure = { at, kind: 'hash' };
      return r;
    }
    // MO§ES: `previous_hash`, or when absent or empty the older `prev_hash`.
    const prev =
      typeof e.previous_hash === 'string' && e.previous_hash !== ''
        ? e.previous_hash
        : typeof e.prev_hash === 'string'
          ? e.prev_hash
          : undefined;
    if (at === 0) {
      r.firstPrev = prev;
      r.firstSeq = e.seq;
    } else {
      if (prev !== prevHash) {
        r.failure = { at, kind: 'link' };
        return r;
      }
      // seq continuity for native ledgers; MO§ES entries carry no seq at all.
      if ((e.seq !== undefined || prevSeq !== undefined) && !seqFollows(prevSeq, e.seq)) {
        r.failure = { at, kind: 'seq' };
        return r;
      }
    }
    // Seals: checked after the link, as MO§ES checks attestations last.
    const si = sealInfo(e.seal, e.kind, v.payloadEpoch);
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
      const mac = (e.seal as { mac: string }).mac;
      if (v.macInput === undefined || !macEquals(sealMac(keys.at(si.epoch), v.macInput), mac)) {
        r.failure = { at, kind: 'seal' };
        return r;
      }
      r.keyedChecks++;
    }
    prevSeal = si;
    r.lastSeal = si;
    prevHash = v.hash;
    prevSeq = e.seq;
    r.lastHash = v.hash;
    if (wantHashes) hashes.push(v.hash);
    r.lastSeq = e.seq;
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
