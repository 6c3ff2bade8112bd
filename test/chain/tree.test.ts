import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leafHashHex, MemoryTree, verifyConsistency, verifyInclusion } from '../../chain/merkle.js';
import { TreeReader, TreeSidecar, treePath } from '../../chain/tree.js';

const hashes = (from: number, to: number, salt = '') =>
  Array.from({ length: to - from }, (_, k) =>
    createHash('sha256')
      .update(`${salt}${from + k}`)
      .digest('hex'),
  );

function ctx(file: string, all: string[]) {
  return {
    path: file,
    size: all.length,
    async *readHashes(from: number, to: number) {
      for (let i = from; i < to; i++) yield all[i] as string;
    },
  };
}

function reference(all: string[]): MemoryTree {
  const t = new MemoryTree();
  for (const h of all) t.appendLeaf(leafHashHex(h));
  return t;
}

const popcount = (n: number) => n.toString(2).replace(/0/g, '').length;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('persisted Merkle tree cache (<ledger>.tree)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-tree-'));

  it('is maintained batch by batch, survives reopen, and catches up with a ledger that grew', async () => {
    const file = path.join(dir, 'a.jsonl');
    const all = hashes(0, 1000);
    const t = new TreeSidecar();
    await t.open(ctx(file, []));
    for (let i = 0; i < 600; i += 37) t.append(all.slice(i, Math.min(i + 37, 600)).map((hash) => ({ hash })));
    expect(hex(t.root())).toBe(hex(reference(all.slice(0, 600)).root()));
    expect(() => t.append([{ hash: all[600] as string }, { hash: 'XYZ' }])).toThrow(/64 lowercase hex/);
    expect(t.size).toBe(600);
    await t.close();
    expect(readFileSync(treePath(file))[8]).toBe(1);

    const t2 = new TreeSidecar();
    await t2.open(ctx(file, all));
    const ref = reference(all);
    expect(t2.size).toBe(1000);
    expect(hex(t2.root())).toBe(hex(ref.root()));
    for (const [i, n] of [
      [0, 1],
      [599, 1000],
      [999, 1000],
      [5, 600],
    ] as const) {
      expect(verifyInclusion(ref.node(0, i), i, n, t2.inclusionProof(i, n), ref.root(n))).toBe(true);
    }
    expect(verifyConsistency(600, 1000, ref.root(600), ref.root(1000), t2.consistencyProof(600))).toBe(true);
    await t2.close();
  });

  it('in the background (worker thread) gives the same tree, and the file reopens inline', async () => {
    const file = path.join(dir, 'bg.jsonl');
    const all = hashes(0, 5000);
    const ref = reference(all);
    const t = new TreeSidecar({ background: true });
    await t.open(ctx(file, all.slice(0, 100)));
    for (let i = 100; i < 5000; i += 333)
      t.append(all.slice(i, Math.min(i + 333, 5000)).map((hash) => ({ hash })));
    await t.flush();
    expect(t.size).toBe(5000);
    expect(hex(t.root())).toBe(hex(ref.root()));
    expect(verifyInclusion(ref.node(0, 4321), 4321, 5000, t.inclusionProof(4321), ref.root())).toBe(true);
    await t.close();
    const again = new TreeSidecar();
    await again.open(ctx(file, all));
    expect(hex(again.root(2500))).toBe(hex(ref.root(2500)));
    await again.close();
  });

  it('a background tree lets a plain script finish: close() waits for the worker without hanging or exiting early', () => {
    const dist = path.resolve(import.meta.dirname, '../../dist/chain/tree.js');
    const file = path.join(dir, 'script.jsonl');
    const script = `
      import { TreeSidecar } from ${JSON.stringify(dist)};
      import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
      const t = new TreeSidecar({ background: true });
      await t.open({ path: ${JSON.stringify(file)}, size: 0, async *readHashes() {} });
      for (let b = 0; b < 50; b++) t.append(Array.from({ length: 1000 }, (_, i) => ({ hash: createHash('sha256').update(String(b * 1000 + i)).digest('hex') })));
      await t.close();
      console.log('closed', t.size);`;
    const r = spawnSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('closed 50000');
    expect(statSync(treePath(file)).size).toBe(64 + 32 * (2 * 50000 - popcount(50000)));
  });

  it('cuts a torn tail, rebuilds a cache of another ledger or with a garbage tail', async () => {
    const file = path.join(dir, 'b.jsonl');
    const all = hashes(0, 300);
    const ref = reference(all);
    const t = new TreeSidecar();
    await t.open(ctx(file, all));
    await t.close();
    const full = statSync(treePath(file)).size;

    truncateSync(treePath(file), full - 45);
    const t2 = new TreeSidecar();
    await t2.open(ctx(file, all));
    expect(hex(t2.root())).toBe(hex(ref.root()));
    await t2.close();
    expect(statSync(treePath(file)).size).toBe(full);

    const garbage = readFileSync(treePath(file));
    garbage.fill(7, garbage.length - 64);
    writeFileSync(treePath(file), garbage);
    const t3 = new TreeSidecar();
    await t3.open(ctx(file, all));
    expect(hex(t3.root())).toBe(hex(ref.root()));
    await t3.close();

    const other = hashes(0, 300, 'other');
    const t4 = new TreeSidecar();
    await t4.open(ctx(file, other));
    expect(hex(t4.root())).toBe(hex(reference(other).root()));
    await t4.close();

    writeFileSync(treePath(file), 'not a tree');
    const t5 = new TreeSidecar();
    await t5.open(ctx(file, all.slice(0, 120)));
    expect(hex(t5.root())).toBe(hex(ref.root(120)));
    await t5.close();
  });

  it('a read-only view uses the cache prefix, computes what is missing in memory and writes nothing', async () => {
    const file = path.join(dir, 'c.jsonl');
    const all = hashes(0, 500);
    const ref = reference(all);
    const t = new TreeSidecar();
    await t.open(ctx(file, all.slice(0, 200)));
    await t.close();
    const before = readFileSync(treePath(file));
    const r = await TreeReader.open(ctx(file, all));
    expect(hex(r.root())).toBe(hex(ref.root()));
    expect(verifyInclusion(ref.node(0, 450), 450, 500, r.inclusionProof(450), ref.root())).toBe(true);
    await r.close();
    expect(readFileSync(treePath(file)).equals(before)).toBe(true);
    const shorter = await TreeReader.open(ctx(file, all.slice(0, 150)));
    expect(hex(shorter.root())).toBe(hex(ref.root(150)));
    await shorter.close();
    const none = await TreeReader.open(ctx(path.join(dir, 'none.jsonl'), all.slice(0, 10)));
    expect(hex(none.root())).toBe(hex(ref.root(10)));
  });
});
