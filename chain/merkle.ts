// RFC 6962 Merkle tree hashing and proofs over the ledger's entry hashes (pure: no files, no clock).
//
//   leaf  = SHA-256(0x00 || 32-byte entry hash)          RFC 6962 §2.1 / RFC 9162 §2.1.1
//   node  = SHA-256(0x01 || left || right)
//   MTH({}) = SHA-256("")
//   MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k = largest power of two < n
//
// Proof generation follows RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF / SUBPROOF), expressed over a
// `NodeSource` that returns the hash of any *complete* subtree (level, index) — the hash of leaves
// [index·2^level, (index+1)·2^level). Every subtree the recursions need starts at a multiple of a
// power of two at least its size, so it is a left-to-right run of complete subtrees of decreasing
// size (`rangeRoot`), and a proof touches O(log² n) stored nodes at most, O(log n) typically.
// Verification is the iterative algorithm of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
// (consistency), which needs no tree at all.
import { hash as nodeCryptoHash } from 'node:crypto';

export const HASH_SIZE = 32;

const scratchLeaf = Buffer.alloc(1 + HASH_SIZE);
const scratchNode = Buffer.alloc(1 + 2 * HASH_SIZE);
scratchNode[0] = 0x01;

function sha256(data: Uint8Array): Uint8Array {
  // node:crypto's one-shot hash is ~2x faster than createHash or @noble for 33/65-byte inputs,
  // and the tree hashes twice per appended entry. Its 'buffer' output costs ~2x a latin1 string's
  // in Node 20 (the encoding name goes through a slow path): take the string, copy its 32 bytes.
  return Buffer.from(nodeCryptoHash('sha256', data, 'binary'), 'latin1');
}

/** RFC 6962 §2.1: the leaf hash of one ledger entry, from its 32-byte entry hash. */
export function leafHash(entryHash: Uint8Array): Uint8Array {
  if (entryHash.length !== HASH_SIZE) throw new RangeError('an entry hash is 32 bytes');
  scratchLeaf[0] = 0x00;
  scratchLeaf.set(entryHash, 1);
  return sha256(scratchLeaf);
}

/** Leaf hash from the ledger's hex `hash` field. */
export function leafHashHex(entryHashHex: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(entryHashHex)) throw new RangeError('an entry hash is 64 lowercase hex digits');
  return leafHash(Buffer.from(entryHashHex, 'hex'));
}

/** RFC 6962 §2.1: interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  scratchNode.set(left, 1);
  scratchNode.set(right, 1 + HASH_SIZE);
  return sha256(scratchNode);
}

/** MTH of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Uint8Array {
  return sha256(new Uint8Array(0));
}

/** Hash of the complete subtree at `level` (0 = leaves) covering leaves [index·2^level, (index+1)·2^level). */
export interface NodeSource {
  node(level: number, index: number): Uint8Array;
}

/** Largest power of two strictly less than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2(p: number): number {
  return Math.round(Math.log2(p));
}

/**
 * MTH(D[lo:hi]) where lo is a multiple of a power of two >= hi - lo (true of every range the
 * RFC 6962 recursions visit): the complete subtrees of the range, largest first, folded from the right.
 */
export function rangeRoot(src: NodeSource, lo: number, hi: number): Uint8Array {
  if (hi <= lo) throw new RangeError(`empty range [${lo}, ${hi})`);
  const parts: Uint8Array[] = [];
  let at = lo;
  while (at < hi) {
    let size = 1;
    while (size * 2 <= hi - at && at % (size * 2) === 0) size *= 2;
    parts.push(src.node(log2(size), at / size));
    at += size;
  }
  let h = parts[parts.length - 1] as Uint8Array;
  for (let i = parts.length - 2; i >= 0; i--) h = nodeHash(parts[i] as Uint8Array, h);
  return h;
}

/** MTH(D[0:n]), RFC 6962 §2.1. */
export function treeRoot(src: NodeSource, n: number): Uint8Array {
  checkSize(n);
  return n === 0 ? emptyRoot() : rangeRoot(src, 0, n);
}

function checkSize(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`tree size ${n} is not a non-negative integer`);
}

/** RFC 6962 §2.1.1 PATH(m, D[n]): the audit path for leaf `index` in the tree of `size` leaves. */
export function inclusionProof(src: NodeSource, index: number, size: number): Uint8Array[] {
  checkSize(size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is outside a tree of size ${size}`);
  }
  const out: Uint8Array[] = [];
  let lo = 0;
  let n = size;
  let m = index;
  // PATH appends the sibling of each level after the deeper path, so collect top-down and reverse.
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      out.push(rangeRoot(src, lo + k, lo + n));
      n = k;
    } else {
      out.push(rangeRoot(src, lo, lo + k));
      lo += k;
      m -= k;
      n -= k;
    }
  }
  return out.reverse();
}

/** RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true): consistency from size m to size n. */
export function consistencyProof(src: NodeSource, m: number, n: number): Uint8Array[] {
  checkSize(m);
  checkSize(n);
  if (m > n) throw new RangeError(`old size ${m} is larger than new size ${n}`);
  // RFC 9162 §2.1.4: the proof for m == n, and for m == 0, is empty.
  if (m === 0 || m === n) return [];
  const out: Uint8Array[] = [];
  let lo = 0;
  let size = n;
  let mm = m;
  let b = true;
  for (;;) {
    if (mm === size) {
      if (!b) out.push(rangeRoot(src, lo, lo + size));
      break;
    }
    const k = splitPoint(size);
    if (mm <= k) {
      out.push(rangeRoot(src, lo + k, lo + size));
      size = k;
    } else {
      out.push(rangeRoot(src, lo, lo + k));
      lo += k;
      mm -= k;
      size -= k;
      b = false;
    }
  }
  return out.reverse();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

function wellFormed(proof: readonly Uint8Array[]): boolean {
  return proof.every((p) => p instanceof Uint8Array && p.length === HASH_SIZE);
}

/**
 * RFC 9162 §2.1.3.2: the root that `proof` leads to from `leaf` at `index` in a tree of `size`,
 * or undefined when the proof has the wrong shape for (index, size).
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return undefined;
  if (leaf.length !== HASH_SIZE || !wellFormed(proof)) return undefined;
  // fn/sn as in the RFC; sizes stay below 2^53, so use arithmetic rather than 32-bit bit operators.
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2: does `proof` prove `leaf` at `index` in the tree of `size` with `root`? */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const r = rootFromInclusionProof(leaf, index, size, proof);
  return r !== undefined && equal(r, root);
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && 2 ** log2(n) === n;
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (m, oldRoot) is a prefix of the tree (n, newRoot)? */
export function verifyConsistency(
  m: number,
  n: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(m) || !Number.isSafeInteger(n) || m < 0 || m > n) return false;
  if (!wellFormed(proof)) return false;
  if (m === n) return proof.length === 0 && equal(oldRoot, newRoot);
  // Every tree extends the empty tree; there is nothing to prove (RFC 9162 §2.1.4).
  if (m === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(m) ? [oldRoot, ...proof] : [...proof];
  let fn = m - 1;
  let sn = n - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(fr, oldRoot) && equal(sr, newRoot);
}

/**
 * The incremental right edge of a tree: appending a leaf completes 0..log n subtrees, reported to
 * `emit` in storage order (the leaf, then each newly completed node bottom-up). Used by the
 * in-memory tree and the persisted `.tree` cache alike.
 */
export class TreeFrontier {
  /** frontier[l] = hash of the pending complete subtree at level l (valid when bit l of size is set). */
  private readonly frontier: Uint8Array[] = [];
  size: number;

  constructor(size = 0, frontier: Uint8Array[] = []) {
    this.size = size;
    this.frontier = frontier;
  }

  append(leaf: Uint8Array, emit: (level: number, index: number, hash: Uint8Array) => void): void {
    const j = this.size;
    emit(0, j, leaf);
    let h = leaf;
    let level = 0;
    let idx = j;
    while (idx % 2 === 1) {
      h = nodeHash(this.frontier[level] as Uint8Array, h);
      level++;
      idx = Math.floor(idx / 2);
      emit(level, idx, h);
    }
    this.frontier[level] = h;
    this.size = j + 1;
  }

  /** MTH of the leaves appended so far: the pending subtrees folded from the right (smallest first). */
  root(): Uint8Array {
    let h: Uint8Array | undefined;
    for (let level = 0; level < this.frontier.length; level++) {
      if (Math.floor(this.size / 2 ** level) % 2 === 1) {
        const f = this.frontier[level] as Uint8Array;
        h = h === undefined ? f : nodeHash(f, h);
      }
    }
    return h ?? emptyRoot();
  }

  /** Rebuilds the frontier for `size` leaves from complete subtrees already stored. */
  static fromSource(src: NodeSource, size: number): TreeFrontier {
    const frontier: Uint8Array[] = [];
    let at = 0;
    for (let level = 52; level >= 0; level--) {
      const p = 2 ** level;
      if (Math.floor(size / p) % 2 === 1) {
        frontier[level] = src.node(level, at / p);
        at += p;
      }
    }
    return new TreeFrontier(size, frontier);
  }
}

/**
 * Position of complete subtree (level, index) in append-only storage order, where each appended
 * leaf j is followed by the nodes it completes: stored(j) = 2j - popcount(j) hashes precede leaf j,
 * and node (level, index) is completed by leaf j = (index+1)·2^level - 1, right after it at +level.
 */
export function storageIndex(level: number, index: number): number {
  const j = (index + 1) * 2 ** level - 1;
  return storedCount(j) + level;
}

/** Number of hashes stored for a tree of n leaves: 2n - popcount(n). */
export function storedCount(n: number): number {
  let pop = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) pop += x % 2;
  return 2 * n - pop;
}

/** Largest n with storedCount(n) <= count (a torn cache file holds a valid prefix of this size). */
export function leavesForStoredCount(count: number): number {
  // storedCount is increasing and lies in [2n - log2(n) - 1, 2n]: start near count/2 and step.
  let n = Math.floor(count / 2) + 1;
  while (n > 0 && storedCount(n) > count) n--;
  while (storedCount(n + 1) <= count) n++;
  return n;
}

/** A whole tree in memory (tests, small ledgers, read-only overlays). */
export class MemoryTree implements NodeSource {
  readonly levels: Uint8Array[][] = [];
  private readonly edge = new TreeFrontier();

  get size(): number {
    return this.edge.size;
  }

  appendLeaf(leaf: Uint8Array): void {
    this.edge.append(leaf, (level, index, hash) => {
      let row = this.levels[level];
      if (row === undefined) {
        row = [];
        this.levels[level] = row;
      }
      row[index] = hash;
    });
  }

  node(level: number, index: number): Uint8Array {
    const h = this.levels[level]?.[index];
    if (h === undefined) throw new RangeError(`no complete subtree at level ${level} index ${index}`);
    return h;
  }

  root(size = this.size): Uint8Array {
    return treeRoot(this, size);
  }
}
