// What the proof commands need from a ledger: its size, one entry by seq, its genesis hash and its
// Merkle tree. Opened as the writer when no other process holds the ledger (the `.tree` cache is then
// caught up and persisted), or read-only beside a running writer such as the daemon (the tree is
// read from the cache and completed in memory; nothing is written).
import { Ledger, type LedgerTree, TreeReader, TreeSidecar } from '../../chain/index.js';

export interface LedgerAccess {
  size: number;
  genesisHash: string | undefined;
  entry(seq: number): Promise<Record<string, unknown>>;
  tree: LedgerTree;
  close(): Promise<void>;
}

async function* hashes(l: Ledger, from: number, to: number): AsyncIterable<string> {
  for await (const e of l.range(from, to)) yield e.hash;
}

export async function openLedgerAccess(path: string): Promise<LedgerAccess> {
  const sidecar = new TreeSidecar();
  let ledger: Ledger;
  let tree: LedgerTree;
  try {
    ledger = await Ledger.open(path, { sidecars: [sidecar], lockWaitMs: 200 });
    tree = sidecar;
  } catch (err) {
    if ((err as { code?: string }).code !== 'LOCKED') throw err;
    ledger = await Ledger.open(path, { readOnly: true });
    const l = ledger;
    tree = await TreeReader.open({ path, size: l.size, readHashes: (f, t) => hashes(l, f, t) });
  }
  const l = ledger;
  let genesisHash: string | undefined;
  for await (const h of hashes(l, 0, 1)) genesisHash = h;
  return {
    size: l.size,
    genesisHash,
    entry: async (seq) => (await l.get(seq)) as unknown as Record<string, unknown>,
    tree,
    async close() {
      await tree.close();
      await l.close();
    },
  };
}
