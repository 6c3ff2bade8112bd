// The ledger's build thread: a big batch's lines — each staged entry completed with its link, seq and
// timestamp, MACed and hashed (entry.ts writeLines) — are built on a worker thread, so the thread
// taking appends (the daemon's event loop) is free meanwhile; on a 1,000-decision batch that work is
// a quarter of the daemon's main thread. Nothing is copied either way: entries are staged in, and
// lines written to, SharedArrayBuffers; the worker returns only the hashes and MACs. It keeps no chain
// state (each job carries its link, seq, time and seal key), so the store's order and failure rules
// are unchanged: the store sends one batch at a time and writes what comes back itself.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BuiltLines, StagedEntry } from './entry.js';
import { ChainError } from './errors.js';

/** A batch for the worker: staged entries by (staging buffer, parts), and where the lines go. */
export interface BuildJob {
  id: number;
  /** Staging buffers. */
  bufs: SharedView[];
  /** Per entry: staging buffer index, at, a, b, c, d. */
  parts: Int32Array;
  out: SharedView;
  prev: string;
  seq: number;
  tail: string;
  seal: { epoch: number; key: Uint8Array } | undefined;
}

export type BuildReply =
  | {
      id: number;
      end: number;
      ends: number[];
      hashes: string[];
      macs: string[] | undefined;
      /** Set when the lines outgrew the job's buffer: the worker's bigger one. */
      grown: SharedView | undefined;
    }
  | { id: number; error: string };

/** A Buffer over shared memory (what staging and line buffers are when a build thread is used). */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/** A shared Buffer as it crosses to the other thread: [SharedArrayBuffer, byteOffset, length]. */
export type SharedView = [SharedArrayBuffer, number, number];

export function shared(b: Buffer): SharedView {
  if (!(b.buffer instanceof SharedArrayBuffer))
    throw new ChainError('IO', 'a ledger build job holds a buffer that is not shared memory');
  return [b.buffer, b.byteOffset, b.length];
}

/** The Buffer a SharedView stands for, on this side. */
export function fromShared(v: SharedView): Buffer {
  return Buffer.from(v[0], v[1], v[2]);
}

function workerFile(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  const local = join(dirname(here), 'build-worker.js');
  if (!here.endsWith('.ts') && existsSync(local)) return local;
  // From TypeScript sources (vitest) the worker comes from the build (npm test builds first).
  const built = join(dirname(here), '..', 'dist', 'chain', 'build-worker.js');
  return existsSync(built) ? built : undefined;
}

/** Whether a build thread can be started (the compiled worker exists). */
export function buildThreadAvailable(): boolean {
  return workerFile() !== undefined;
}

export class BuildThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<
    number,
    { resolve: (r: BuiltLines) => void; reject: (e: Error) => void; out: Buffer }
  >();
  private nextId = 0;
  private dead: Error | undefined;

  private start(): Worker {
    if (this.worker !== undefined) return this.worker;
    const file = workerFile();
    if (file === undefined)
      throw new ChainError('IO', 'the ledger build thread is not built (npm run build)');
    const w = new Worker(file);
    w.unref(); // idle, it never keeps the process alive; ref'd while a job is out
    w.on('message', (m: BuildReply) => this.settle(m));
    w.on('error', (err) => this.die(err));
    w.on('exit', (code) => this.die(new Error(`it exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  private die(err: Error): void {
    this.dead ??= new ChainError('IO', `the ledger build thread stopped: ${err.message}`, { cause: err });
    this.worker = undefined;
    for (const w of this.waiting.values()) w.reject(this.dead);
    this.waiting.clear();
  }

  private settle(m: BuildReply): void {
    const w = this.waiting.get(m.id);
    if (w === undefined) return;
    this.waiting.delete(m.id);
    if (this.waiting.size === 0) this.worker?.unref();
    if ('error' in m) {
      w.reject(new ChainError('IO', `the ledger build thread failed: ${m.error}`));
      return;
    }
    const out = m.grown !== undefined ? fromShared(m.grown) : w.out;
    w.resolve({ out, end: m.end, ends: m.ends, hashes: m.hashes, macs: m.macs });
  }

  /** writeLines() of `staged` on the worker; every buffer involved must be shared memory. */
  build(
    out: Buffer,
    staged: readonly StagedEntry[],
    prev: string,
    seq: number,
    tail: string,
    seal: { epoch: number; key: Uint8Array } | undefined,
  ): Promise<BuiltLines> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    try {
      const w = this.start();
      const bufs: SharedView[] = [];
      const seen = new Map<Buffer, number>();
      const parts = new Int32Array(6 * staged.length);
      for (let i = 0; i < staged.length; i++) {
        const s = staged[i] as StagedEntry;
        let k = seen.get(s.buf);
        if (k === undefined) {
          k = bufs.length;
          seen.set(s.buf, k);
          bufs.push(shared(s.buf));
        }
        parts.set([k, s.at, s.a, s.b, s.c, s.d], 6 * i);
      }
      const id = this.nextId++;
      const job: BuildJob = { id, bufs, parts, out: shared(out), prev, seq, tail, seal };
      const done = new Promise<BuiltLines>((resolve, reject) =>
        this.waiting.set(id, { resolve, reject, out }),
      );
      if (this.waiting.size === 1) w.ref();
      w.postMessage(job, [parts.buffer]);
      return done;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.dead ??= new ChainError('CLOSED', 'the ledger build thread is closed');
    this.worker = undefined;
    if (w !== undefined) {
      w.removeAllListeners('exit');
      await w.terminate();
    }
  }
}
