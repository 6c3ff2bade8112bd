// What the proof commands need from a ledger: its size, one entry by seq, its entry hashes in order,
// and its Merkle tree. Uses the store (`Ledger`, chain/store.ts) when the ledger can be opened: as
// the writer when no other process holds it (the tree cache is then caught up and persisted), or
// read-only beside a running writer (the tree is completed in memory). The plain JSONL scan below
// is the fallback for ledgers the store will not open.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as chain from '../../chain/index.js';
import { type LedgerTree, type TreeOpenContext, TreeReader, TreeSidecar } from '../../chain/index.js';

export interface LedgerAccess {
  size: number;
  genesisHash: string | undefined;
  entry(seq: number): Promise<Record<string, unknown>>;
  hashes(from: number, to: number): AsyncIterable<string>;
  tree: LedgerTree;
  close(): Promise<void>;
}

/** The brief's `Ledger` surface, as far as the proof commands use it. */
interface StoreLedger {
  readonly size: number;
  get(seq: number): Promise<Record<string, unknown>>;
  range(from: number, to: number): AsyncIterable<{ hash: string }>;
  close(): Promise<void>;
}
interface StoreLedgerClass {
  open(path: string, opts?: Record<string, unknown>): Promise<StoreLedger>;
}

function storeLedger(): StoreLedgerClass | undefined {
  return (chain as unknown as { Ledger?: StoreLedgerClass }).Ledger;
}

async function* rangeHashes(l: StoreLedger, from: number, to: number): AsyncIterable<string> {
  if (to <= from) return;
  for await (const e of l.range(from, to)) yield e.hash;
}

async function first<T>(it: AsyncIterable<T>): Promise<T | undefined> {
  for await (const x of it) return x;
  return undefined;
}

async function viaStore(L: StoreLedgerClass, path: string): Promise<LedgerAccess> {
  // Writer first (persists the tree cache); if a daemon holds the ledger, a read-only view.
  const sidecar = new TreeSidecar();
  let ledger: StoreLedger;
  let tree: LedgerTree;
  try {
    ledger = await L.open(path, { sidecars: [sidecar], lockWaitMs: 200 });
    tree = sidecar;
  } catch (err) {
    if ((err as { code?: string }).code !== 'LOCKED') throw err;
    ledger = await L.open(path, { readOnly: true });
    const l = ledger;
    tree = await TreeReader.open({ path, size: l.size, readHashes: (f, t) => rangeHashes(l, f, t) });
  }
  const l = ledger;
  return {
    size: l.size,
    genesisHash: l.size > 0 ? await first(rangeHashes(l, 0, 1)) : undefined,
    entry: (seq) => l.get(seq),
    hashes: (f, t) => rangeHashes(l, f, t),
    tree,
    async close() {
      await tree.close();
      await l.close();
    },
  };
}

/** Fallback: a read-only scan of a JSONL ledger (one entry per line). */
async function* scanEntries(path: string): AsyncIterable<Record<string, unknown>> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') continue;
    let e: unknown;
    try {
      e = JSON.parse(line);
    } catch {
      throw new chain.ChainError('CORRUPT', `ledger line ${n} is not JSON`);
    }
    yield e as Record<string, unknown>;
  }
}

async function* scanHashes(path: string, from: number, to: number): AsyncIterable<string> {
  let i = 0;
  for await (const e of scanEntries(path)) {
    if (i >= to) return;
    if (i >= from) {
      if (typeof e.hash !== 'string')
        throw new chain.ChainError('CORRUPT', `ledger entry ${i + 1} has no hash`);
      yield e.hash;
    }
    i++;
  }
}

async function viaScan(path: string): Promise<LedgerAccess> {
  let size = 0;
  let genesisHash: string | undefined;
  for await (const e of scanEntries(path)) {
    if (size === 0) genesisHash = typeof e.hash === 'string' ? e.hash : undefined;
    size++;
  }
  const ctx: TreeOpenContext = { path, size, readHashes: (f, t) => scanHashes(path, f, t) };
  // Without the store there is no writer to race with: keep the tree cache persisted.
  const tree = new TreeSidecar();
  await tree.open(ctx);
  return {
    size,
    genesisHash,
    async entry(seq) {
      let i = 0;
      for await (const e of scanEntries(path)) if (i++ === seq) return e;
      throw new chain.ChainError('BAD_PROOF', `the ledger has no entry ${seq}`, { exitCode: 2 });
    },
    hashes: (f, t) => scanHashes(path, f, t),
    tree,
    close: () => tree.close(),
  };
}

export async function openLedgerAccess(path: string): Promise<LedgerAccess> {
  const L = storeLedger();
  return L !== undefined ? viaStore(L, path) : viaScan(path);
}

/** Entries straight from the ledger file, never via the tree cache (for verification). */
export function ledgerEntries(path: string): AsyncIterable<Record<string, unknown>> {
  return scanEntries(path);
}
