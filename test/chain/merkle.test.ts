import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  leavesForStoredCount,
  MemoryTree,
  storageIndex,
  storedCount,
  verifyConsistency,
  verifyInclusion,
} from '../../chain/merkle.js';

// Independent RFC 6962 §2.1 reference (recursive MTH), written in python3 so that it shares no code
// with ours. Entry hashes are SHA-256 of the decimal index.
const PY_REFERENCE = `
import hashlib, sys
def h(b): return hashlib.sha256(b).digest()
def mth(d):
    n = len(d)
    if n == 0: return h(b'')
    if n == 1: return h(b'\\x00' + d[0])
    k = 1
    while k * 2 < n: k *= 2
    return h(b'\\x01' + mth(d[:k]) + mth(d[k:]))
entries = [h(str(i).encode()) for i in range(64)]
for n in range(1, 65): print(mth(entries[:n]).hex())
`;

function entryHash(i: number): Uint8Array {
  return createHash('sha256').update(String(i)).digest();
}

function build(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.appendLeaf(leafHash(entryHash(i)));
  return t;
}

function flipEach(proof: Uint8Array[], check: (p: Uint8Array[]) => boolean): void {
  for (let j = 0; j < proof.length; j++) {
    for (let bit = 0; bit < 256; bit++) {
      const p = proof.map((x) => new Uint8Array(x));
      const q = p[j] as Uint8Array;
      q[bit >> 3] = (q[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(check(p)).toBe(false);
    }
  }
}

describe('RFC 6962 Merkle tree', () => {
  const tree = build(64);

  it('roots match an independent python3 RFC 6962 reference for sizes 1..64', () => {
    const ref = execFileSync('python3', ['-c', PY_REFERENCE], { encoding: 'utf8' }).trim().split('\n');
    expect(ref).toHaveLength(64);
    for (let n = 1; n <= 64; n++) expect(Buffer.from(tree.root(n)).toString('hex')).toBe(ref[n - 1]);
    expect(Buffer.from(tree.root(0)).toString('hex')).toBe(createHash('sha256').digest('hex'));
  });

  it('inclusion proofs verify for every (i, n) up to 64 and fail at any other index or size', () => {
    for (let n = 1; n <= 64; n++) {
      const root = tree.root(n);
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(tree, i, n);
        const leaf = tree.node(0, i);
        expect(verifyInclusion(leaf, i, n, proof, root)).toBe(true);
        if (n > 1) expect(verifyInclusion(leaf, (i + 1) % n, n, proof, root)).toBe(false);
        if (n < 64) expect(verifyInclusion(leaf, i, n + 1, proof, tree.root(n + 1))).toBe(false);
        if (proof.length > 0) expect(verifyInclusion(leaf, i, n, proof.slice(1), root)).toBe(false);
        expect(verifyInclusion(leaf, i, n, [...proof, leaf], root)).toBe(false);
      }
    }
  });

  it('consistency proofs verify for every (m, n) up to 64 and fail against the wrong roots', () => {
    for (let n = 1; n <= 64; n++) {
      const rn = tree.root(n);
      for (let m = 1; m <= n; m++) {
        const rm = tree.root(m);
        const proof = consistencyProof(tree, m, n);
        expect(verifyConsistency(m, n, rm, rn, proof)).toBe(true);
        if (m < n) {
          const otherOld = new Uint8Array(rm);
          otherOld[0] = (otherOld[0] as number) ^ 1;
          expect(verifyConsistency(m, n, otherOld, rn, proof)).toBe(false);
          expect(verifyConsistency(m, n, rm, tree.root(n - 1), proof)).toBe(false);
          expect(verifyConsistency(m, n, rm, rn, proof.slice(0, -1))).toBe(false);
        }
      }
    }
  });

  it('every single-bit change to an inclusion or consistency proof fails', () => {
    const n = 45;
    const root = tree.root(n);
    for (const i of [0, 17, 31, 44]) {
      flipEach(inclusionProof(tree, i, n), (p) => verifyInclusion(tree.node(0, i), i, n, p, root));
    }
    for (const m of [1, 13, 32]) {
      flipEach(consistencyProof(tree, m, n), (p) => verifyConsistency(m, n, tree.root(m), root, p));
    }
  });

  it('random pairs in a 100,000-entry tree', () => {
    const big = build(100_000);
    let seed = 12345;
    const rand = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % k;
    };
    for (let t = 0; t < 300; t++) {
      const n = 1 + rand(100_000);
      const i = rand(n);
      const m = 1 + rand(n);
      const rn = big.root(n);
      expect(verifyInclusion(big.node(0, i), i, n, inclusionProof(big, i, n), rn)).toBe(true);
      expect(verifyConsistency(m, n, big.root(m), rn, consistencyProof(big, m, n))).toBe(true);
    }
  });

  it('storage order: positions are a bijection and a prefix holds exactly the smaller tree', () => {
    const seen = new Set<number>();
    for (let level = 0; level < 7; level++)
      for (let idx = 0; idx < 64 >> level; idx++) seen.add(storageIndex(level, idx));
    expect(seen.size).toBe(storedCount(64));
    expect([...seen].sort((a, b) => a - b).at(-1)).toBe(storedCount(64) - 1);
    for (let n = 0; n < 2000; n++) {
      expect(leavesForStoredCount(storedCount(n))).toBe(n);
      if (storedCount(n + 1) - 1 > storedCount(n))
        expect(leavesForStoredCount(storedCount(n + 1) - 1)).toBe(n);
    }
  });
});
