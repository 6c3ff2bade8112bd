// The per-chunk half of ledger verification: pure, so chunks can be checked on any thread in any
// order. A chunk is a run of whole JSONL lines; for each entry it recomputes the hash (SHA-256 of
// the RFC 8785 form without `hash`), and inside the chunk checks previous_hash links and seq
// continuity. What crosses chunk boundaries (the first entry's link and seq) is left to the
// sequential pass in verify-parallel.ts. Order of checks per entry follows the MO§ES verifier:
// hash first, then the link (MOSES-FORMAT.md "verify").
// Integration note: the ledger part's chain/verify.ts owns the full per-entry rules (seals, epochs);
// when it exports a chunk function with this result shape, verify-worker.ts should call it instead.
import { computeEntryHash } from './proof-file.js';

export type ChunkFailureKind = 'parse' | 'hash' | 'link' | 'seq';

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
  /** The first failure inside the chunk, by 0-based position in the chunk. */
  failure?: { at: number; kind: ChunkFailureKind };
}

const NEWLINE = 0x0a;

export function checkChunk(chunk: number, bytes: Uint8Array, wantHashes = false): ChunkResult {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const r: ChunkResult = {
    chunk,
    count: 0,
    firstPrev: undefined,
    firstSeq: undefined,
    lastHash: undefined,
    lastSeq: undefined,
  };
  let start = 0;
  let prevHash: string | undefined;
  let prevSeq: unknown;
  const hashes: string[] = [];
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.trim() === '') continue;
    const at = r.count++;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
      if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('not an object');
    } catch {
      r.failure = { at, kind: 'parse' };
      return r;
    }
    if (typeof e.hash !== 'string' || computeEntryHash(e) !== e.hash) {
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
    prevHash = e.hash;
    prevSeq = e.seq;
    r.lastHash = e.hash;
    if (wantHashes) hashes.push(e.hash);
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
