// The persisted Merkle tree beside a ledger, `<ledger>.tree`: a rebuildable cache of every complete
// subtree hash, so that roots, inclusion proofs and consistency proofs of any size need O(log n)
// reads and no rescan of the ledger.
//
// File layout (all hashes 32 bytes):
//   0..8    magic "GVLTREE1"
//   8       clean flag: 1 after an orderly close, 0 while a writer has it open
//   16..48  the genesis entry hash (binds the cache to its ledger; zero until the first leaf)
//   64..    every complete subtree hash in append order (merkle.ts `storageIndex`): leaf j, then the
//           nodes leaf j completes, bottom-up. A tree of n leaves is exactly the first 2n - popcount(n)
//           hashes, so any prefix of the file is the tree of a smaller size, and a torn tail is cut
//           back to the largest whole tree.
//
// Durability: the cache is never fsynced. Everything in it is derived from the ledger, which is
// fsynced before `append` is called; if the machine or process dies, `open` finds the cache short
// (it catches up from the ledger) or inconsistent with the ledger (it is rebuilt). An fsync per batch
// would double the fsyncs of the append path for no durability gain.
//
// Validation on open (cheap, O(log n)): header, genesis hash, the last leaf against the ledger's
// entry hash, and the nodes the last leaf completed. A full check is `gavel audit verify
// --checkpoint`, which recomputes the root from the ledger without this cache.
import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ChainError } from './errors.js';
import {
  consistencyProof,
  HASH_SIZE,
  inclusionProof,
  leafHashHex,
  leavesForStoredCount,
  type NodeSource,
  nodeHash,
  storageIndex,
  storedCount,
  TreeFrontier,
  treeRoot,
} from './merkle.js';

const MAGIC = Buffer.from('GVLTREE1', 'latin1');
const HEADER = 64;
const CLEAN_AT = 8;
const GENESIS_AT = 16;

/** What the ledger hands its sidecars (structurally the brief's `LedgerSidecar` context). */
export interface TreeOpenContext {
  path: string;
  size: number;
  readHashes(from: number, to: number): AsyncIterable<string>;
}

/** The entry fields the tree needs. */
export interface HashedEntry {
  hash: string;
}

export function treePath(ledgerPath: string): string {
  return `${ledgerPath}.tree`;
}

async function hashAt(ctx: TreeOpenContext, i: number): Promise<string | undefined> {
  for await (const h of ctx.readHashes(i, i + 1)) return h;
  return undefined;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/**
 * Complete-subtree hashes in storage order: a prefix held in the file (`fileCount` hashes) and a tail
 * in memory (new nodes not yet written, or — for a read-only view — nodes the file lacks).
 */
class NodeStore implements NodeSource {
  tail: Buffer = Buffer.alloc(64 * HASH_SIZE);
  tailCount = 0;

  constructor(
    public fd: number | undefined,
    public fileCount: number,
  ) {}

  node(level: number, index: number): Uint8Array {
    const pos = storageIndex(level, index);
    if (pos < this.fileCount) {
      const out = Buffer.allocUnsafe(HASH_SIZE);
      const got = readSync(this.fd as number, out, 0, HASH_SIZE, HEADER + pos * HASH_SIZE);
      if (got !== HASH_SIZE) throw new ChainError('CORRUPT', 'Merkle tree cache is shorter than expected');
      return out;
    }
    const t = pos - this.fileCount;
    if (t >= this.tailCount) throw new RangeError(`no complete subtree at level ${level} index ${index}`);
    return this.tail.subarray(t * HASH_SIZE, (t + 1) * HASH_SIZE);
  }

  push(hash: Uint8Array): void {
    if ((this.tailCount + 1) * HASH_SIZE > this.tail.length) {
      const bigger = Buffer.alloc(this.tail.length * 2);
      this.tail.copy(bigger, 0, 0, this.tailCount * HASH_SIZE);
      this.tail = bigger;
    }
    this.tail.set(hash, this.tailCount * HASH_SIZE);
    this.tailCount++;
  }

  /** Writes the in-memory tail to the file in one write (writer only). */
  flushTail(): void {
    if (this.tailCount === 0 || this.fd === undefined) return;
    const bytes = this.tailCount * HASH_SIZE;
    let off = 0;
    while (off < bytes) {
      off += writeSync(this.fd, this.tail, off, bytes - off, HEADER + this.fileCount * HASH_SIZE + off);
    }
    this.fileCount += this.tailCount;
    this.tailCount = 0;
    if (this.tail.length > 1 << 20) this.tail = Buffer.alloc(64 * HASH_SIZE);
  }
}

/** A Merkle tree over a ledger's entries: roots and proofs for any size up to `size`. */
export class LedgerTree {
  protected store: NodeStore | undefined;
  protected edge = new TreeFrontier();
  protected genesis: string | undefined;

  get size(): number {
    return this.edge.size;
  }

  protected nodes(): NodeStore {
    if (this.store === undefined) throw new ChainError('CLOSED', 'Merkle tree is not open');
    return this.store;
  }

  protected checkSize(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0 || n > this.size) {
      throw new ChainError('BAD_PROOF', `tree size ${n} is outside 0..${this.size} (the ledger's size)`, {
        exitCode: 2,
      });
    }
  }

  /** RFC 6962 root of the first `n` entries (default: all). */
  root(n = this.size): Uint8Array {
    this.checkSize(n);
    return treeRoot(this.nodes(), n);
  }

  /** Leaf hash of entry `index`. */
  leaf(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) {
      throw new ChainError('BAD_PROOF', `entry ${index} is outside 0..${this.size - 1}`, { exitCode: 2 });
    }
    return this.nodes().node(0, index);
  }

  inclusionProof(index: number, n = this.size): Uint8Array[] {
    this.checkSize(n);
    if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
      throw new ChainError('BAD_PROOF', `entry ${index} is not in a tree of size ${n}`, { exitCode: 2 });
    }
    return inclusionProof(this.nodes(), index, n);
  }

  consistencyProof(m: number, n = this.size): Uint8Array[] {
    this.checkSize(n);
    if (!Number.isSafeInteger(m) || m < 0 || m > n) {
      throw new ChainError('BAD_PROOF', `old size ${m} is outside 0..${n}`, { exitCode: 2 });
    }
    return consistencyProof(this.nodes(), m, n);
  }

  /** Resolves once every appended entry is in the tree (background writers only). */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.store = undefined;
  }

  protected appendHex(hex: string): void {
    if (this.edge.size === 0) this.genesis = hex;
    const store = this.nodes();
    this.edge.append(leafHashHex(hex), (_l, _i, h) => store.push(h));
  }

  /**
   * Opens the file's valid prefix, checked against the ledger; returns the number of leaves kept.
   * `fix` (writers only) truncates a torn or foreign file; read-only views just use less of it.
   */
  protected async adopt(fd: number, ctx: TreeOpenContext, fix: boolean): Promise<number> {
    const st = fstatSync(fd);
    const header = Buffer.alloc(HEADER);
    let keep = 0;
    if (
      st.size >= HEADER &&
      readSync(fd, header, 0, HEADER, 0) === HEADER &&
      header.subarray(0, 8).equals(MAGIC)
    ) {
      const have = leavesForStoredCount(Math.floor((st.size - HEADER) / HASH_SIZE));
      keep = Math.min(have, ctx.size);
      this.store = new NodeStore(fd, storedCount(keep));
      if (keep > 0 && !(await this.consistentWithLedger(header, keep, ctx))) {
        // A writer in another process may be mid-write at the end of the file: an older prefix is
        // whole. Failing that too, the cache belongs to something else and is rebuilt.
        keep = Math.max(0, keep - 4096);
        if (keep > 0 && !(await this.consistentWithLedger(header, keep, ctx))) keep = 0;
      }
    }
    if (fix) {
      if (keep === 0) {
        header.fill(0);
        MAGIC.copy(header, 0);
        writeSync(fd, header, 0, HEADER, 0);
      }
      ftruncateSync(fd, HEADER + storedCount(keep) * HASH_SIZE);
    }
    this.store = new NodeStore(fd, storedCount(keep));
    this.edge = keep > 0 ? TreeFrontier.fromSource(this.store, keep) : new TreeFrontier();
    this.genesis =
      keep > 0 ? Buffer.from(header.subarray(GENESIS_AT, GENESIS_AT + 32)).toString('hex') : undefined;
    return keep;
  }

  private async consistentWithLedger(header: Buffer, keep: number, ctx: TreeOpenContext): Promise<boolean> {
    const store = this.store as NodeStore;
    try {
      const genesis = await hashAt(ctx, 0);
      if (
        genesis === undefined ||
        Buffer.from(header.subarray(GENESIS_AT, GENESIS_AT + 32)).toString('hex') !== genesis
      ) {
        return false;
      }
      const last = await hashAt(ctx, keep - 1);
      if (last === undefined || !equal(store.node(0, keep - 1), leafHashHex(last))) return false;
      // The nodes completed by the last leaf must be the hashes of their children (torn or garbage tail).
      let idx = keep - 1;
      for (let level = 1; idx % 2 === 1; level++) {
        idx = Math.floor(idx / 2);
        const expect = nodeHash(store.node(level - 1, 2 * idx), store.node(level - 1, 2 * idx + 1));
        if (!equal(store.node(level, idx), expect)) return false;
      }
      return true;
    } catch {
      return false;
    }
  }

  protected async catchUp(ctx: TreeOpenContext, from: number, write: boolean): Promise<void> {
    const store = this.nodes();
    for await (const hex of ctx.readHashes(from, ctx.size)) {
      this.appendHex(hex);
      if (write && store.tailCount >= 1 << 15) store.flushTail();
    }
    if (write) store.flushTail();
    if (this.size !== ctx.size) {
      throw new ChainError(
        'CORRUPT',
        `ledger gave ${this.size - from} entry hashes, expected ${ctx.size - from}`,
      );
    }
  }
}

// Background hashing (TreeSidecar `{ background: true }`): a worker thread owns the right edge and
// appends nodes to the file; the writer only converts each batch's hex hashes to bytes and posts
// them. On a two-core machine this takes the two SHA-256 per entry off the append path. The worker
// is plain JS (eval) so it runs the same from TS sources (tests) and from dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const { writeSync } = require('node:fs');
const { fd, header } = workerData;
let fileCount = workerData.fileCount;
let size = workerData.size;
// Hashes are held as 32-character latin1 strings: node:crypto's one-shot hash gives one in about
// half the time of a Buffer (whose encoding name takes a slow path in Node 20).
const frontier = workerData.frontier.map((b) => (b === undefined || b === null ? b : Buffer.from(b).toString('latin1')));
const leafBuf = Buffer.alloc(33);
const nodeBuf = Buffer.alloc(65);
nodeBuf[0] = 1;
function put(buf, at, h) {
  for (let j = 0; j < 32; j++) buf[at + j] = h.charCodeAt(j);
}
parentPort.on('message', (batch) => {
  try {
    const hashes = Buffer.from(batch, 'hex');
    const n = hashes.length / 32;
    const out = Buffer.allocUnsafe((2 * n + 64) * 32);
    let k = 0;
    for (let i = 0; i < n; i++) {
      hashes.copy(leafBuf, 1, i * 32, i * 32 + 32);
      let h = hash('sha256', leafBuf, 'binary');
      put(out, k++ * 32, h);
      let level = 0;
      let idx = size;
      while (idx % 2 === 1) {
        put(nodeBuf, 1, frontier[level]);
        put(nodeBuf, 33, h);
        h = hash('sha256', nodeBuf, 'binary');
        put(out, k++ * 32, h);
        level++;
        idx = Math.floor(idx / 2);
      }
      frontier[level] = h;
      size++;
    }
    let off = 0;
    const bytes = k * 32;
    while (off < bytes) off += writeSync(fd, out, off, bytes - off, header + fileCount * 32 + off);
    fileCount += k;
    parentPort.postMessage({ size, fileCount });
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  }
});
`;

/**
 * The writer's tree, maintained as entries are appended: a `LedgerSidecar` for `Ledger.open`.
 * Each batch costs two SHA-256 per entry (leaf + on average one node) and one write — inline by
 * default, or on a worker thread with `{ background: true }` (then call `await flush()` before
 * reading roots or proofs that must include the latest appends; `size` is what has been hashed).
 */
export class TreeSidecar extends LedgerTree {
  private fd: number | undefined;
  private worker: Worker | undefined;
  private posted = 0;
  private acked = 0;
  private failure: Error | undefined;
  private waiters: (() => void)[] = [];
  private readonly background: boolean;

  constructor(opts: { background?: boolean } = {}) {
    super();
    this.background = opts.background ?? false;
  }

  override get size(): number {
    return this.worker === undefined ? this.edge.size : this.acked;
  }

  async open(ctx: TreeOpenContext): Promise<void> {
    const file = treePath(ctx.path);
    let fd: number;
    try {
      fd = openSync(file, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      fd = openSync(file, 'w+', 0o644);
    }
    this.fd = fd;
    const keep = await this.adopt(fd, ctx, true);
    writeSync(fd, Buffer.from([0]), 0, 1, CLEAN_AT);
    await this.catchUp(ctx, keep, true);
    this.writeGenesis();
    if (this.background) this.startWorker();
  }

  private startWorker(): void {
    const store = this.nodes();
    const frontier: Uint8Array[] = [];
    // The right edge: the pending complete subtree at each set bit of size.
    for (let level = 0; 2 ** level <= this.edge.size; level++) {
      const p = 2 ** level;
      if (Math.floor(this.edge.size / p) % 2 === 1) {
        frontier[level] = store.node(level, Math.floor(this.edge.size / p) - 1);
      }
    }
    this.posted = this.edge.size;
    this.acked = this.edge.size;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      // The source is CommonJS; an inherited --input-type=module would make it ESM.
      execArgv: [],
      workerData: { fd: this.fd, header: HEADER, fileCount: store.fileCount, size: this.edge.size, frontier },
    });
    w.on('message', (m: { size?: number; fileCount?: number; error?: string }) => {
      if (m.error !== undefined) this.failure = new ChainError('IO', `Merkle tree worker: ${m.error}`);
      else {
        this.acked = m.size as number;
        store.fileCount = m.fileCount as number;
      }
      this.wake();
    });
    w.on('error', (err) => {
      this.failure = err;
      this.wake();
    });
    w.unref();
    this.worker = w;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const f of ws) f();
  }

  /** Resolves once every appended entry is in the tree (no-op unless in the background). */
  override async flush(): Promise<void> {
    // The worker is unref'd so an idle tree never keeps the process alive; while someone waits on
    // it, it must hold the event loop open or Node would exit under the pending promise.
    const w = this.worker;
    w?.ref();
    try {
      while (this.worker !== undefined && this.acked < this.posted && this.failure === undefined) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
      }
    } finally {
      w?.unref();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  private writeGenesis(): void {
    if (this.fd !== undefined && this.genesis !== undefined) {
      writeSync(this.fd, Buffer.from(this.genesis, 'hex'), 0, 32, GENESIS_AT);
    }
  }

  append(entries: readonly HashedEntry[]): void {
    if (entries.length === 0) return;
    // Check the whole batch first: a bad hash must not leave the tree half-way through a batch.
    // One joined string and one regex is ~10x cheaper on the append path than a check per entry.
    const joined = entries.map((e) => e.hash).join('');
    if (joined.length !== entries.length * 64 || !/^[0-9a-f]*$/.test(joined)) {
      const bad = entries.find((e) => typeof e.hash !== 'string' || !/^[0-9a-f]{64}$/.test(e.hash));
      throw new ChainError(
        'BAD_ENTRY',
        `entry hash ${JSON.stringify(bad?.hash)} is not 64 lowercase hex digits`,
      );
    }
    if (this.worker === undefined) {
      const hadGenesis = this.size > 0;
      for (const e of entries) this.appendHex(e.hash);
      this.nodes().flushTail();
      if (!hadGenesis) this.writeGenesis();
      return;
    }
    if (this.posted === 0) {
      this.genesis = (entries[0] as HashedEntry).hash;
      this.writeGenesis();
    }
    this.posted += entries.length;
    // The worker decodes the hex: the writer thread only joins and posts one string.
    this.worker.postMessage(joined);
  }

  override async close(): Promise<void> {
    if (this.fd === undefined) return;
    if (this.worker !== undefined) {
      try {
        await this.flush();
      } finally {
        await this.worker.terminate();
        this.worker = undefined;
        // Keep reporting what was hashed (the worker owned the right edge).
        this.edge = new TreeFrontier(this.acked);
      }
    } else {
      this.nodes().flushTail();
    }
    writeSync(this.fd, Buffer.from([1]), 0, 1, CLEAN_AT);
    closeSync(this.fd);
    this.fd = undefined;
    this.store = undefined;
  }
}

/**
 * A read-only view of the tree of a ledger held by another process (or none): uses the valid prefix
 * of `<ledger>.tree` and computes whatever it lacks in memory, writing nothing.
 */
export class TreeReader extends LedgerTree {
  private fd: number | undefined;

  static async open(ctx: TreeOpenContext): Promise<TreeReader> {
    const r = new TreeReader();
    let keep = 0;
    try {
      r.fd = openSync(treePath(ctx.path), 'r');
      keep = await r.adopt(r.fd, ctx, false);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      r.store = new NodeStore(undefined, 0);
    }
    await r.catchUp(ctx, keep, false);
    return r;
  }

  override async close(): Promise<void> {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.store = undefined;
  }
}
