// Ledger verification on every core: hashing is independent per entry, so worker threads check
// chunks of whole lines (verify-chunk.ts) while the main thread only reads the file and runs the
// sequential pass — the links and seq steps across chunk boundaries, in file order. Results and
// failing entry numbers are those of a one-core pass over the same function (`threads: 0`).
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { leafHash, TreeFrontier } from './merkle.js';
import {
  type ChunkFailureKind,
  type ChunkResult,
  checkChunk,
  type SealInfo,
  sealFollows,
  seqFollows,
  wholeLines,
} from './verify-chunk.js';

export interface ParallelVerifyReport {
  ok: boolean;
  exitCode: 0 | 1;
  entries: number;
  message: string;
  /** 1-based number of the first failing entry. */
  failedEntry?: number;
  reason?: ChunkFailureKind;
  threads: number;
  /** With `treeAt`: RFC 6962 root of the first `treeAt` entries (when the ledger has that many). */
  rootAt?: Uint8Array;
  /** With `treeAt`: the first entry's hash (the ledger id's source). */
  genesisHash?: string;
  /** With `treeAt`: RFC 6962 root of all the entries verified. */
  root?: Uint8Array;
  /** Seal MACs recomputed with the operator secret. */
  keyedChecks: number;
}

export interface ParallelVerifyOptions {
  /** Worker threads; 0 = check every chunk on this thread. Default: the cores available (max 2 used
   * productively on this machine), or 0 for files under `minParallelBytes`. */
  threads?: number;
  chunkBytes?: number;
  minParallelBytes?: number;
  /** Also build the Merkle tree from the entry hashes as they are verified (one pass for
   * `verify --checkpoint`) and report the root at this size and at the end. */
  treeAt?: number;
  /** Operator secret: every seal's MAC is recomputed (the report counts them as keyed checks). */
  secret?: string;
  /** Called now and then with the bytes checked so far (for a progress bar). */
  onProgress?: (bytesDone: number) => void;
}

const MESSAGES: Record<ChunkFailureKind, string> = {
  parse: 'not a JSON entry. Chain broken.',
  hash: 'hash mismatch. Chain broken.',
  link: 'previous_hash broken. Chain tampered.',
  seq: 'seq out of order. Chain tampered.',
  seal: 'seal invalid. State tampered.',
};

const workerUrl = new URL('./verify-worker.js', import.meta.url);

/** Worker threads need the compiled worker; from TS sources (tests) everything runs on this thread. */
function workerAvailable(): boolean {
  return workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));
}

class SequentialPass {
  entries = 0;
  edge: TreeFrontier | undefined;
  rootAt: Uint8Array | undefined;
  genesisHash: string | undefined;
  constructor(private readonly treeAt?: number) {
    if (treeAt !== undefined) this.edge = new TreeFrontier();
  }
  private lastHash: string | undefined;
  private lastSeq: unknown;
  private lastSeal: SealInfo | undefined;
  keyedChecks = 0;
  failure: { entry: number; kind: ChunkFailureKind } | undefined;

  /** Consumes chunk results in file order; returns false once a failure is found. */
  take(r: ChunkResult): boolean {
    if (r.count === 0) return true;
    const base = this.entries;
    const f = r.failure;
    if (f !== undefined && f.at === 0) {
      this.failure = { entry: base + 1, kind: f.kind };
      return false;
    }
    if (base === 0) {
      // Native ledgers start at seq 0; MO§ES ledgers have no seq.
      if (r.firstSeq !== undefined && r.firstSeq !== 0) {
        this.failure = { entry: 1, kind: 'seq' };
        return false;
      }
    } else {
      if (r.firstPrev !== this.lastHash) {
        this.failure = { entry: base + 1, kind: 'link' };
        return false;
      }
      if ((r.firstSeq !== undefined || this.lastSeq !== undefined) && !seqFollows(this.lastSeq, r.firstSeq)) {
        this.failure = { entry: base + 1, kind: 'seq' };
        return false;
      }
      if (
        this.lastSeal !== undefined &&
        r.firstSeal !== undefined &&
        !sealFollows(this.lastSeal, r.firstSeal)
      ) {
        this.failure = { entry: base + 1, kind: 'seal' };
        return false;
      }
    }
    this.keyedChecks += r.keyedChecks;
    if (f !== undefined) {
      this.failure = { entry: base + f.at + 1, kind: f.kind };
      return false;
    }
    if (this.edge !== undefined && r.hashes !== undefined) {
      if (base === 0) this.genesisHash = Buffer.from(r.hashes.subarray(0, 32)).toString('hex');
      const noop = () => {};
      for (let k = 0; k < r.count; k++) {
        this.edge.append(leafHash(r.hashes.subarray(k * 32, k * 32 + 32)), noop);
        if (this.edge.size === this.treeAt) this.rootAt = this.edge.root();
      }
    }
    this.entries += r.count;
    this.lastHash = r.lastHash;
    this.lastSeq = r.lastSeq;
    this.lastSeal = r.lastSeal;
    return true;
  }
}

/**
 * Reads whole-line chunks of the file in order. The next read is issued before a chunk is handed out,
 * so the disk (or page cache) read overlaps the checking of the chunk before it.
 */
async function* chunks(path: string, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const fh = await open(path, 'r');
  const readNext = async (): Promise<{ raw: Uint8Array; bytesRead: number }> => {
    const raw = new Uint8Array(chunkBytes);
    const { bytesRead } = await fh.read(raw, 0, chunkBytes, null);
    return { raw, bytesRead };
  };
  let pending: Promise<{ raw: Uint8Array; bytesRead: number }> | undefined;
  try {
    let carry: Uint8Array = new Uint8Array(0);
    pending = readNext();
    while (pending !== undefined) {
      const got: { raw: Uint8Array; bytesRead: number } = await pending;
      const { raw, bytesRead } = got;
      pending = bytesRead > 0 ? readNext() : undefined;
      if (bytesRead === 0) {
        if (carry.length > 0) yield carry;
        return;
      }
      let buf = raw;
      if (carry.length > 0) {
        buf = new Uint8Array(carry.length + bytesRead);
        buf.set(carry, 0);
        buf.set(raw.subarray(0, bytesRead), carry.length);
      }
      const filled = carry.length + bytesRead;
      const cut = wholeLines(buf, filled);
      if (cut === 0) {
        carry = buf.slice(0, filled);
        continue;
      }
      carry = buf.slice(cut, filled);
      yield buf.subarray(0, cut);
    }
  } finally {
    await pending?.catch(() => {});
    await fh.close();
  }
}

function report(pass: SequentialPass, threads: number): ParallelVerifyReport {
  const r = baseReport(pass, threads);
  if (pass.edge !== undefined) {
    if (pass.rootAt !== undefined) r.rootAt = pass.rootAt;
    if (pass.genesisHash !== undefined) r.genesisHash = pass.genesisHash;
    if (r.ok) r.root = pass.edge.root();
  }
  return r;
}

function baseReport(pass: SequentialPass, threads: number): ParallelVerifyReport {
  if (pass.failure !== undefined) {
    return {
      ok: false,
      exitCode: 1,
      entries: pass.entries,
      failedEntry: pass.failure.entry,
      reason: pass.failure.kind,
      message: `[VERIFY FAILED] Entry ${pass.failure.entry}: ${MESSAGES[pass.failure.kind]}`,
      threads,
      keyedChecks: pass.keyedChecks,
    };
  }
  if (pass.entries === 0)
    return {
      ok: true,
      exitCode: 0,
      entries: 0,
      message: '[VERIFY] Ledger is empty.',
      threads,
      keyedChecks: 0,
    };
  return {
    ok: true,
    exitCode: 0,
    entries: pass.entries,
    message:
      pass.keyedChecks > 0
        ? `[VERIFY OK] Chain intact. ${pass.entries} entries verified | ${pass.keyedChecks} seals verified.`
        : `[VERIFY OK] Chain intact. ${pass.entries} entries verified.`,
    threads,
    keyedChecks: pass.keyedChecks,
  };
}

export async function verifyLedgerParallel(
  path: string,
  opts: ParallelVerifyOptions = {},
): Promise<ParallelVerifyReport> {
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  let threads = opts.threads ?? os.availableParallelism();
  if (opts.threads === undefined) {
    const { size } = await (await import('node:fs/promises')).stat(path);
    if (size < (opts.minParallelBytes ?? 8 << 20)) threads = 0;
  }
  if (!workerAvailable()) threads = 0;
  const pass = new SequentialPass(opts.treeAt);
  const wantHashes = opts.treeAt !== undefined;

  if (threads === 0) {
    let n = 0;
    let bytes = 0;
    for await (const c of chunks(path, chunkBytes)) {
      bytes += c.length;
      if (!pass.take(checkChunk(n++, c, { wantHashes, secret: opts.secret }))) break;
      opts.onProgress?.(bytes);
    }
    return report(pass, 0);
  }

  const workers = Array.from({ length: threads }, () => new Worker(workerUrl));
  const done = new Map<number, ChunkResult>();
  let next = 0; // next chunk the sequential pass needs
  let failed = false;
  let wake: (() => void) | undefined;
  let error: unknown;
  for (const w of workers) {
    w.on('message', (r: ChunkResult) => {
      done.set(r.chunk, r);
      wake?.();
    });
    w.on('error', (err) => {
      error = err;
      wake?.();
    });
  }
  const drain = () => {
    for (let r = done.get(next); r !== undefined; r = done.get(next)) {
      done.delete(next);
      next++;
      if (!pass.take(r)) {
        failed = true;
        return;
      }
    }
  };
  const waitForProgress = () => new Promise<void>((resolve) => (wake = resolve));
  try {
    let sent = 0;
    let sentBytes = 0;
    const maxInFlight = threads * 3;
    for await (const c of chunks(path, chunkBytes)) {
      while (sent - next >= maxInFlight && !failed && error === undefined) {
        drain();
        if (sent - next >= maxInFlight && !failed) await waitForProgress();
      }
      if (failed || error !== undefined) break;
      const w = workers[sent % threads] as Worker;
      sentBytes += c.length;
      w.postMessage({ chunk: sent, bytes: c, wantHashes, secret: opts.secret }, [c.buffer as ArrayBuffer]);
      sent++;
      drain();
      opts.onProgress?.(sentBytes);
    }
    while (next < sent && !failed && error === undefined) {
      drain();
      if (next < sent && !failed) await waitForProgress();
    }
    if (error !== undefined) throw error;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return report(pass, threads);
}
