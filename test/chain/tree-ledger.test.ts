// The tree sidecar on the real store: maintained batch by batch, rebuilt when deleted, caught up when
// the ledger grew without it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as chain from '../../chain/index.js';
import { leafHashHex, MemoryTree, TreeSidecar, treePath } from '../../chain/index.js';

interface L {
  size: number;
  appendBatch(i: Record<string, unknown>[]): Promise<{ hash: string }[]>;
  append(i: Record<string, unknown>): Promise<{ hash: string }>;
  close(): Promise<void>;
}
const Ledger = (chain as unknown as { Ledger?: { open(p: string, o?: Record<string, unknown>): Promise<L> } })
  .Ledger;

function fileRoot(file: string, n?: number): string {
  const t = new MemoryTree();
  for (const line of readFileSync(file, 'utf8').split('\n'))
    if (line.trim()) t.appendLeaf(leafHashHex(JSON.parse(line).hash));
  return Buffer.from(t.root(n ?? t.size)).toString('hex');
}

describe.skipIf(Ledger === undefined)('tree sidecar on the ledger store', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-tree-ledger-'));
  const input = (i: number) => ({ kind: 'gate.decision', action: `a${i}`, agent: 'agent-7', payload: { i } });

  it('tracks appends, rebuilds when deleted, catches up when the ledger grew without it', async () => {
    const L = Ledger as NonNullable<typeof Ledger>;
    const file = path.join(dir, 'l.jsonl');
    for (const background of [false, true]) {
      rmSync(file, { force: true });
      rmSync(treePath(file), { force: true });
      const tree = new TreeSidecar({ background });
      const l = await L.open(file, { sidecars: [tree] });
      for (let b = 0; b < 5; b++)
        await l.appendBatch(Array.from({ length: 97 }, (_, i) => input(b * 97 + i)));
      await l.append(input(9999));
      await tree.flush();
      expect(tree.size).toBe(l.size);
      expect(Buffer.from(tree.root()).toString('hex')).toBe(fileRoot(file));
      await l.close();
    }
    const plain = await L.open(file);
    await plain.appendBatch(Array.from({ length: 50 }, (_, i) => input(i)));
    await plain.close();
    const t2 = new TreeSidecar();
    const l2 = await L.open(file, { sidecars: [t2] });
    expect(Buffer.from(t2.root()).toString('hex')).toBe(fileRoot(file));
    await l2.close();
    rmSync(treePath(file));
    const t3 = new TreeSidecar();
    const l3 = await L.open(file, { sidecars: [t3] });
    expect(Buffer.from(t3.root(100)).toString('hex')).toBe(fileRoot(file, 100));
    await l3.close();
  });
});
