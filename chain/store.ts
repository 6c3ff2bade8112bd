// The append-only store: one JSONL file written by exactly one process (the lock decides), with
// group commit (one write + one fsync per batch; an append resolves only after its batch is on
// disk), torn-tail recovery recorded as a `chain.recovered` entry, forward-secure seals, the offset
// index, and sidecars (the Merkle tree cache) fed with every durable batch.
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { BuildThread, buildThreadAvailable, sharedBuffer } from './build-thread.js';
import {
  type BuiltLines,
  canonicalForms,
  type Entry,
  type EntryBody,
  type EntryInput,
  normalizeInput,
  type StagedEntry,
  sealOpening,
  stageEntry,
  writeLines,
} from './entry.js';
import { ChainError } from './errors.js';
import { HmacSha256, sha256Hex, ZERO_HASH } from './hash.js';
import { type ByteSink, SINK_FULL } from './jcs.js';
import { acquireLock, type LockHandle } from './lock.js';
import { OffsetIndex } from './offset-index.js';
import { EpochKeys, nextKey, readSealKey, type SealKeyState, writeSealKey } from './seal.js';

export interface LedgerSidecar {
  /** After open + recovery; `size` entries exist. Catch up (or rebuild) from readHashes if behind. */
  open(ctx: {
    path: string;
    size: number;
    readHashes(from: number, to: number): AsyncIterable<string>;
  }): Promise<void>;
  /** After a batch is written and fsynced, before its appends are acknowledged. */
  append(entries: readonly Entry[]): void | Promise<void>;
  close(): Promise<void>;
}

/** Anything that checks an entry's fields before it is written; throws to refuse it. */
export interface SecretScanner {
  scan<T>(value: T): T;
}

export interface LedgerOptions {
  /** Operator secret: enables sealing (k0 derives from it) and checks the seal key file against it. */
  secret?: string | Uint8Array;
  /** Data-sensitivity scan of every entry before it is written (chain/sensitivity.ts). */
  scanner?: SecretScanner;
  /** Checks kind and payload against the catalogue (chain/kinds.ts `validateEvent`). */
  validate?: (kind: string, payload: unknown) => void;
  sidecars?: LedgerSidecar[];
  /** How long to wait for the writer lock; 0 fails at once when another process holds it. */
  lockWaitMs?: number;
  /** Most entries in one group commit. */
  maxBatch?: number;
  /** No lock, no recovery, no writes: a view of the complete entries on disk. */
  readOnly?: boolean;
  /** Seal epoch length: a new epoch after this many entries ... */
  sealEpochEntries?: number;
  /** ... or after this many milliseconds, whichever comes first. */
  sealEpochMs?: number;
  /** Clock, for tests of time-based epochs. */
  now?: () => number;
  /** Build the lines of big batches (BUILD_THREAD_MIN entries or more: their hashes and MACs) on a
   *  worker thread, keeping this one free to take appends meanwhile; the same bytes. Worth it when
   *  this thread has other work (the daemon: +20% batch decisions/s); for a caller that only waits
   *  on its appends the round trip made sealed appendBatch(1000) ~10% slower, hence off by default. */
  buildThread?: boolean;
}

/** A checked entry waiting for its commit: its body and its staged canonical bytes. */
interface Prepared extends StagedEntry {
  body: EntryBody;
}

/** One append() (`one`) or appendBatch() call (`many`): its entries go into the same group commit,
 *  in order. An append() costs this and its Prepared, with no array or closure of its own: 20k
 *  waiting appends are that much less for the young-generation GC to copy. */
interface Pending {
  one: Prepared | undefined;
  many: Prepared[] | undefined;
  resolve: (v: never) => void;
  reject: (err: unknown) => void;
}

function entriesOf(p: Pending): number {
  return p.many === undefined ? 1 : p.many.length;
}

// A promise's resolving functions, taken by one shared executor (no closure per append) and handed
// to the Pending at once (nothing is held here between calls).
const noop = (): void => {};
let takenResolve: (v: never) => void = noop;
let takenReject: (err: unknown) => void = noop;
function take(resolve: (v: never) => void, reject: (err: unknown) => void): void {
  takenResolve = resolve;
  takenReject = reject;
}
function pendingOne(one: Prepared): Pending {
  const p: Pending = { one, many: undefined, resolve: takenResolve, reject: takenReject };
  takenResolve = noop;
  takenReject = noop;
  return p;
}

interface TailScan {
  count: number;
  end: number;
  head: Entry | undefined;
  genesis: string | undefined;
  /** Bytes past the last good line: a torn tail. */
  torn: { offset: number; bytes: number; sha256: string; reason: string } | undefined;
  offsets: number[];
}

/** Where the next entry goes: seq, link, file offset and seal state after a batch. */
interface Tip {
  seq: number;
  hash: string;
  size: number;
  seal: SealKeyState | undefined;
  entriesInEpoch: number;
}

/** A batch whose lines are built: `lines` go at offset `from.size`, and leave the ledger at `to`. */
interface Built {
  batch: Pending[];
  lines: Buffer;
  entries: Entry[];
  offsets: number[];
  newSeal: SealKeyState | undefined;
  from: Tip;
  to: Tip;
}

/** Backlog (entries) from which the next batch is built while the last one is being fsynced. */
const BUILD_AHEAD = 1024;
/** Batches from this size go to the build thread: below it the round trip (~0.1 ms) costs more
 *  than it frees. */
const BUILD_THREAD_MIN = 256;

const READ_CHUNK = 1 << 20;
const MAX_KEPT_BUFFER = 16 << 20;
/** Staging buffers for queued entries' canonical bytes (a bigger one for an entry that needs it). */
const STAGE_CHUNK = 1 << 20;

/** Stages `body` in `sink`, moving to a new buffer (from `alloc`) when the current one is full. */
function stage(sink: ByteSink, body: EntryBody, alloc: (size: number) => Buffer): StagedEntry {
  for (;;) {
    const start = sink.pos;
    try {
      return stageEntry(sink, body);
    } catch (err) {
      if (err !== SINK_FULL) {
        sink.pos = start;
        throw err;
      }
      // Earlier entries keep the buffer they were staged in; this one starts afresh in a new one.
      sink.buf = alloc(start === 0 ? 2 * sink.buf.length : STAGE_CHUNK);
      sink.pos = 0;
    }
  }
}

export class Ledger {
  private queue: Pending[] = [];
  /** Entries waiting in `queue`. */
  private queued = 0;
  private flushing: Promise<void> | undefined;
  private failed: Error | undefined;
  private closed = false;
  private sealState: SealKeyState | undefined;
  private entriesInEpoch = 0;
  /** Where batches' lines are built, two in turn (a batch may be built while the last is written). */
  private readonly outs: [Buffer | undefined, Buffer | undefined] = [undefined, undefined];
  private outTurn: 0 | 1 = 0;
  /** The head after the last batch built, while it (or one before it) is not yet durable. */
  private ahead: Tip | undefined;
  private hmacState: { key: Uint8Array; hmac: HmacSha256 } | undefined;
  /** Where queued entries' canonical bytes are staged (see stageEntry). */
  private readonly sink: ByteSink;
  /** Big batches' lines are built on this thread (opts.buildThread); its buffers are then shared. */
  private readonly thread: BuildThread | undefined;
  private readonly alloc: (size: number) => Buffer;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly index: OffsetIndex,
    private readonly lock: LockHandle | undefined,
    private readonly opts: LedgerOptions,
    private count: number,
    private fileSize: number,
    private headEntry: Entry | undefined,
    private genesis: string | undefined,
  ) {
    this.thread =
      !opts.readOnly && opts.buildThread === true && buildThreadAvailable() ? new BuildThread() : undefined;
    this.alloc = this.thread !== undefined ? sharedBuffer : Buffer.allocUnsafe;
    this.sink = { buf: this.alloc(STAGE_CHUNK), pos: 0 };
  }

  get size(): number {
    return this.count;
  }

  get head(): Entry | undefined {
    return this.headEntry;
  }

  /** The seal epoch new entries get, or undefined when the ledger is not sealed. */
  get sealEpoch(): number | undefined {
    return this.sealState?.epoch;
  }

  static async open(file: string, opts: LedgerOptions = {}): Promise<Ledger> {
    const readOnly = opts.readOnly === true;
    const lock = readOnly ? undefined : await acquireLock(file, { waitMs: opts.lockWaitMs ?? 0 });
    let fh: FileHandle | undefined;
    let index: OffsetIndex | undefined;
    try {
      fh = await openLedgerFile(file, readOnly);
      const scan = await locateTail(fh, file, readOnly);
      index = scan.index;
      const t = scan.tail;
      if (t.torn !== undefined && !readOnly) {
        await fh.truncate(t.end);
        await fh.sync();
      }
      await index.truncate(Math.min(index.count, t.count - t.offsets.length));
      await index.append(t.offsets, t.genesis);
      const ledger = new Ledger(file, fh, index, lock, opts, t.count, t.end, t.head, t.genesis);
      if (!readOnly) {
        await ledger.initSeal();
        for (const s of opts.sidecars ?? []) {
          await s.open({ path: file, size: ledger.count, readHashes: (a, b) => ledger.hashes(a, b) });
        }
        if (t.torn !== undefined) {
          await ledger.append({
            kind: 'chain.recovered',
            action: 'chain.recovered',
            outcome: 'recovered',
            detail: `cut ${t.torn.bytes} bytes of a torn tail at offset ${t.torn.offset}`,
            payload: {
              offset: t.torn.offset,
              cut_bytes: t.torn.bytes,
              cut_sha256: t.torn.sha256,
              reason: t.torn.reason,
              entries_kept: t.count,
            },
          });
        }
      }
      return ledger;
    } catch (err) {
      await index?.close().catch(() => {});
      await fh?.close().catch(() => {});
      await lock?.release();
      throw err;
    }
  }

  private async initSeal(): Promise<void> {
    const fromFile = await readSealKey(this.path);
    const headSeal = this.headEntry?.seal;
    const keys = this.opts.secret !== undefined ? new EpochKeys(this.opts.secret) : undefined;
    let state = fromFile;
    if (state === undefined && keys !== undefined) {
      if (this.headEntry !== undefined && headSeal === undefined) {
        throw new ChainError(
          'BAD_KEY',
          `ledger ${this.path} was started without seals; an operator secret cannot seal it part-way ` +
            '(a verifier holding the secret would reject its unsealed entries). Start a new ledger to seal it.',
          { exitCode: 2 },
        );
      }
      const epoch = headSeal?.epoch ?? 0;
      state = { epoch, key: keys.at(epoch), since: this.now() };
      await writeSealKey(this.path, state);
    }
    if (state === undefined) {
      if (headSeal !== undefined) {
        throw new ChainError(
          'BAD_KEY',
          `ledger ${this.path} is sealed but its key file ${this.path}.sealkey is missing; give the operator secret ` +
            '(GAVEL_OPERATOR_SECRET or --secret-file) to continue it',
          { exitCode: 2 },
        );
      }
      return;
    }
    // The ledger may be ahead of the key file (crash between the epoch entry and the key update).
    if (headSeal !== undefined && headSeal.epoch > state.epoch) {
      let key = state.key;
      for (let e = state.epoch; e < headSeal.epoch; e++) key = nextKey(key);
      state = { epoch: headSeal.epoch, key, since: this.now() };
      await writeSealKey(this.path, state);
    }
    if (keys !== undefined && !Buffer.from(keys.at(state.epoch)).equals(Buffer.from(state.key))) {
      throw new ChainError(
        'BAD_KEY',
        `the seal key file of ${this.path} does not belong to this operator secret`,
        {
          exitCode: 2,
        },
      );
    }
    this.sealState = state;
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** Checks an input and queues it; resolves with the entry once its batch is fsynced. */
  append(input: EntryInput): Promise<Entry> {
    let one: Prepared;
    try {
      this.writable();
      one = this.prepare(input);
    } catch (err) {
      return Promise.reject(err);
    }
    const promise = new Promise<Entry>(take);
    this.queue.push(pendingOne(one));
    this.queued++;
    this.schedule();
    return promise;
  }

  /** Appends all or none: every input is checked before any is queued; one write and fsync for the lot. */
  appendBatch(inputs: EntryInput[]): Promise<Entry[]> {
    return new Promise<Entry[]>((resolve, reject) => {
      try {
        this.writable();
        if (inputs.length === 0) {
          resolve([]);
          return;
        }
        this.queue.push({ one: undefined, many: inputs.map((i) => this.prepare(i)), resolve, reject });
        this.queued += inputs.length;
        this.schedule();
      } catch (err) {
        reject(err);
      }
    });
  }

  private writable(): void {
    if (this.closed) throw new ChainError('CLOSED', `ledger ${this.path} is closed`);
    if (this.opts.readOnly) throw new ChainError('READ_ONLY', `ledger ${this.path} is open read-only`);
    if (this.failed !== undefined) {
      throw new ChainError(
        'IO',
        `ledger ${this.path} stopped accepting entries after a write failure: ${this.failed.message}`,
        {
          cause: this.failed,
        },
      );
    }
  }

  private prepare(input: EntryInput): Prepared {
    const body = normalizeInput(input);
    this.opts.validate?.(body.kind, body.payload);
    const scanned = this.opts.scanner !== undefined ? this.opts.scanner.scan(body) : body;
    const s = stage(this.sink, scanned, this.alloc);
    return { body: scanned, buf: s.buf, at: s.at, a: s.a, b: s.b, c: s.c, d: s.d };
  }

  private schedule(): void {
    if (this.flushing !== undefined || this.queue.length === 0) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flushLoop());
  }

  private async flushLoop(): Promise<void> {
    try {
      // A pipeline one batch deep: while one batch is written and fsynced, the next is built (its
      // lines, hashes and seals are CPU work that needs only the previous batch's head, not its
      // fsync). Writes stay in order, each batch is acknowledged only after its own fsync, and if a
      // batch fails the one built behind it is rejected unwritten. The next batch is built early
      // only from a backlog of BUILD_AHEAD entries or more: with less waiting, waiting for the fsync
      // to end lets more appends join the batch, as group commit always did.
      // With a build thread (opts.buildThread) a big batch is built there, so this thread takes appends
      // meanwhile; it is still one build at a time, each on the head the one before it left.
      let inflight: Promise<void> | undefined;
      while (this.queue.length > 0 || inflight !== undefined) {
        let next: Built | Promise<Built> | undefined;
        let batch: Pending[] = [];
        if (
          this.queue.length > 0 &&
          this.failed === undefined &&
          (inflight === undefined || this.queued >= BUILD_AHEAD)
        ) {
          batch = this.takeBatch();
          try {
            next = this.build(batch);
          } catch (err) {
            this.fail(err, batch);
          }
        }
        if (inflight !== undefined) {
          await inflight;
          inflight = undefined;
        }
        if (next === undefined) continue;
        let built: Built;
        try {
          built = await next;
        } catch (err) {
          this.fail(err, batch);
          continue;
        }
        if (this.failed !== undefined) {
          this.fail(this.failed, built.batch);
          continue;
        }
        inflight = this.persist(built);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** The next group commit: whole calls only (a batch from appendBatch() is never split). */
  private takeBatch(): Pending[] {
    const max = this.opts.maxBatch ?? 8192;
    let n = 0;
    let k = 0;
    while (k < this.queue.length && (k === 0 || n + entriesOf(this.queue[k] as Pending) <= max)) {
      n += entriesOf(this.queue[k] as Pending);
      k++;
    }
    this.queued -= n;
    return this.queue.splice(0, k);
  }

  /** Stops the ledger after a failed commit: `batch` and everything queued are rejected. */
  private fail(err: unknown, batch: Pending[]): void {
    this.failed ??= err instanceof Error ? err : new Error(String(err));
    this.ahead = undefined;
    for (const p of batch) p.reject(err);
    for (const p of this.queue.splice(0)) p.reject(err);
    this.queued = 0;
  }

  private hmacFor(key: Uint8Array): HmacSha256 {
    if (this.hmacState?.key !== key) this.hmacState = { key, hmac: new HmacSha256(key) };
    return this.hmacState.hmac;
  }

  private epochDue(at: Tip): boolean {
    const s = at.seal;
    if (s === undefined) return false;
    const maxEntries = this.opts.sealEpochEntries ?? 1_000_000;
    const maxMs = this.opts.sealEpochMs ?? 3_600_000;
    return at.entriesInEpoch >= maxEntries || this.now() - s.since >= maxMs;
  }

  /** Builds a batch's lines on top of everything built so far (durable or not yet): here, or on the
   *  build thread when the batch is big (the same bytes either way). */
  private build(batch: Pending[]): Built | Promise<Built> {
    const from: Tip = this.ahead ?? {
      seq: this.count,
      hash: this.headEntry?.hash ?? ZERO_HASH,
      size: this.fileSize,
      seal: this.sealState,
      entriesInEpoch: this.entriesInEpoch,
    };
    const timestamp = new Date(this.now()).toISOString();
    const bodies: EntryBody[] = [];
    const staged: StagedEntry[] = [];
    let newSeal: SealKeyState | undefined;
    let seal = from.seal;
    if (seal !== undefined && this.epochDue(from)) {
      // The step is marked by a `seal.epoch` entry sealed under the new key; the key file is replaced
      // only after that entry is on disk, and open() evolves a lagging key file forward.
      newSeal = { epoch: seal.epoch + 1, key: nextKey(seal.key), since: this.now() };
      const previous = seal.epoch;
      seal = newSeal;
      const body = normalizeInput({
        kind: 'seal.epoch',
        action: 'seal.epoch',
        outcome: 'rotated',
        detail: `seal epoch ${previous} -> ${newSeal.epoch}`,
        payload: { epoch: newSeal.epoch, previous_epoch: previous },
      });
      this.opts.validate?.(body.kind, body.payload);
      bodies.push(body);
      staged.push(stage({ buf: this.alloc(4096), pos: 0 }, body, this.alloc));
    }
    for (const p of batch) {
      if (p.one !== undefined) {
        bodies.push(p.one.body);
        staged.push(p.one);
      } else
        for (const it of p.many as Prepared[]) {
          bodies.push(it.body);
          staged.push(it);
        }
    }
    const timestampTail = `${timestamp}"}`;
    timestampTail.charCodeAt(0); // flat: written a character at a time for every entry
    // Lines are written straight into one buffer for the batch (see writeStagedLine); two buffers
    // take turns, as one batch may be written while the next is built.
    const turn = this.outTurn;
    this.outTurn = turn === 0 ? 1 : 0;
    const out = this.outs[turn] ?? this.alloc(1 << 20);
    const finish = (l: BuiltLines): Built => {
      const entries: Entry[] = [];
      const offsets: number[] = [];
      let prev = from.hash;
      let start = 0;
      for (let i = 0; i < bodies.length; i++) {
        // The normalized body is ours alone: complete it in place rather than copy it.
        const e = bodies[i] as Entry;
        e.seq = from.seq + i;
        e.timestamp = timestamp;
        e.previous_hash = prev;
        if (seal !== undefined) e.seal = { epoch: seal.epoch, mac: (l.macs as string[])[i] as string };
        e.hash = l.hashes[i] as string;
        prev = e.hash;
        offsets.push(from.size + start);
        start = l.ends[i] as number;
        entries.push(e);
      }
      // The batch's staged bytes are spent: with nothing else queued, the staging buffer starts over.
      if (this.queue.length === 0) {
        this.sink.pos = 0;
        if (this.sink.buf.length > MAX_KEPT_BUFFER) this.sink.buf = this.alloc(STAGE_CHUNK);
      }
      // Keep a buffer of ordinary size for a later batch; a huge one goes with this batch.
      this.outs[turn] = l.out.length <= MAX_KEPT_BUFFER ? l.out : undefined;
      const to: Tip = {
        seq: from.seq + entries.length,
        hash: prev,
        size: from.size + l.end,
        seal,
        entriesInEpoch: (newSeal !== undefined ? 0 : from.entriesInEpoch) + entries.length,
      };
      this.ahead = to;
      return { batch, lines: l.out.subarray(0, l.end), entries, offsets, newSeal, from, to };
    };
    if (this.thread !== undefined && staged.length >= BUILD_THREAD_MIN) {
      const key = seal !== undefined ? { epoch: seal.epoch, key: seal.key } : undefined;
      return this.thread.build(out, staged, from.hash, from.seq, timestampTail, key).then(finish);
    }
    const sealWith =
      seal !== undefined ? { opening: sealOpening(seal.epoch), hmac: this.hmacFor(seal.key) } : undefined;
    return finish(writeLines(out, staged, from.hash, from.seq, timestampTail, sealWith, this.alloc));
  }

  /** Writes a built batch, fsyncs it and acknowledges its appends; never rejects (a failure stops
   *  the ledger and rejects what waits). Runs only once the batch before it is done. */
  private async persist(b: Built): Promise<void> {
    const { batch, lines, entries, offsets, newSeal } = b;
    try {
      if (b.from.seq !== this.count || b.from.size !== this.fileSize) {
        throw new ChainError(
          'IO',
          `ledger ${this.path}: a batch was built on a head that is not the ledger's`,
        );
      }
      let done = 0;
      while (done < lines.length) {
        const { bytesWritten } = await this.fh.write(lines, done, lines.length - done, this.fileSize + done);
        done += bytesWritten;
      }
      await this.fh.datasync();
      const genesis = this.genesis ?? entries[0]?.hash;
      this.genesis = genesis;
      // Durable now: the ledger's head becomes the one build() computed for this batch.
      this.fileSize = b.to.size;
      this.count = b.to.seq;
      this.headEntry = entries[entries.length - 1];
      if (newSeal !== undefined) await writeSealKey(this.path, newSeal);
      this.sealState = b.to.seal;
      this.entriesInEpoch = b.to.entriesInEpoch;
      if (this.ahead === b.to) this.ahead = undefined;
      await this.index.append(offsets, genesis);
      for (const s of this.opts.sidecars ?? []) await s.append(entries);
    } catch (err) {
      this.fail(err, batch);
      return;
    }
    let i = newSeal !== undefined ? 1 : 0;
    for (const p of batch) {
      if (p.one !== undefined) {
        (p.resolve as (e: Entry) => void)(entries[i] as Entry);
        i++;
      } else {
        const n = (p.many as Prepared[]).length;
        (p.resolve as (es: Entry[]) => void)(entries.slice(i, i + n));
        i += n;
      }
    }
  }

  /** Entry `seq`, read through the offset index. */
  async get(seq: number): Promise<Entry> {
    if (!Number.isSafeInteger(seq) || seq < 0 || seq >= this.count) {
      throw new ChainError('NOT_FOUND', `the ledger has no entry ${seq} (it has ${this.count})`, {
        exitCode: 2,
      });
    }
    for await (const e of this.range(seq, seq + 1)) return e;
    throw new ChainError('CORRUPT', `entry ${seq} could not be read`);
  }

  /** Entries [from, to) in order, streamed from their offset. */
  async *range(from: number, to: number): AsyncIterable<Entry> {
    const end = Math.min(to, this.count);
    if (from >= end) return;
    let pos = await this.index.offset(from);
    let seq = from;
    let carry = '';
    const buf = Buffer.alloc(READ_CHUNK);
    while (seq < end) {
      const { bytesRead } = await this.fh.read(buf, 0, READ_CHUNK, pos);
      if (bytesRead === 0) throw new ChainError('CORRUPT', `ledger ended before entry ${seq}`);
      pos += bytesRead;
      const text = carry + buf.toString('utf8', 0, bytesRead);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0 && seq < end; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl);
        start = nl + 1;
        if (line.trim() === '') continue;
        const e = JSON.parse(line) as Entry;
        if (e.seq !== seq)
          throw new ChainError('CORRUPT', `expected entry ${seq} at its offset, found seq ${String(e.seq)}`);
        yield e;
        seq++;
      }
      carry = text.slice(start);
    }
  }

  async *hashes(from: number, to: number): AsyncIterable<string> {
    for await (const e of this.range(from, to)) yield e.hash;
  }

  /** Waits for every queued append to be durable. */
  async flush(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    for (const s of this.opts.sidecars ?? []) await s.close();
    await this.thread?.close();
    await this.index.close();
    await this.fh.close();
    await this.lock?.release();
  }
}

async function openLedgerFile(file: string, readOnly: boolean): Promise<FileHandle> {
  try {
    return await open(file, readOnly ? 'r' : 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || readOnly) throw err;
  }
  const fh = await open(file, 'w+', 0o640);
  const dir = await open(path.dirname(path.resolve(file)), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return fh;
}

/** Reads whole lines from `start`, calling `onLine(line, offset)`; returns where the last newline ended. */
async function scanLines(
  fh: FileHandle,
  start: number,
  size: number,
  onLine: (line: string, offset: number) => boolean,
): Promise<number> {
  let pos = start;
  let lineStart = start;
  let carry = Buffer.alloc(0);
  const buf = Buffer.alloc(READ_CHUNK);
  while (pos < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(READ_CHUNK, size - pos), pos);
    if (bytesRead === 0) break;
    pos += bytesRead;
    const data =
      carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
    let from = 0;
    for (let nl = data.indexOf(0x0a, from); nl >= 0; nl = data.indexOf(0x0a, from)) {
      if (!onLine(data.toString('utf8', from, nl), lineStart)) return lineStart;
      lineStart += nl - from + 1;
      from = nl + 1;
    }
    carry = Buffer.from(data.subarray(from));
  }
  return lineStart;
}

function parseEntry(line: string): Entry | undefined {
  try {
    const e = JSON.parse(line) as Entry;
    return typeof e === 'object' && e !== null && !Array.isArray(e) ? e : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Finds the last good entry: trusts the offset index only after checking the entry it points at,
 * reads on from there, and classifies what follows the last good line. A torn tail is only what a
 * crash mid-append can leave — bytes after the last newline, or unreadable last lines; an unreadable
 * line with good entries after it is corruption, reported, never cut.
 */
async function locateTail(
  fh: FileHandle,
  file: string,
  readOnly: boolean,
): Promise<{ index: OffsetIndex; tail: TailScan }> {
  const { size } = await fh.stat();
  // The genesis entry names the ledger (and its index).
  let genesis: string | undefined;
  await scanLines(fh, 0, Math.min(size, 1 << 16), (line) => {
    genesis = parseEntry(line)?.hash;
    return false;
  });
  const index = await OffsetIndex.open(file, genesis, !readOnly);
  let startSeq = 0;
  let startOffset = 0;
  if (index.count > 0) {
    const n = index.count;
    const off = await index.offset(n - 1);
    let ok = false;
    if (off < size) {
      await scanLines(fh, off, size, (line) => {
        ok = parseEntry(line)?.seq === n - 1;
        return false;
      });
    }
    if (ok) {
      startSeq = n - 1;
      startOffset = off;
    } else {
      await index.reset(genesis);
    }
  }
  const indexed = index.count;
  const offsets: number[] = [];
  let head: Entry | undefined;
  let count = startSeq;
  let badAt: number | undefined;
  let badReason = '';
  let goodAfterBad = false;
  const end = await scanLines(fh, startOffset, size, (line, offset) => {
    if (line.trim() === '') return true;
    const e = parseEntry(line);
    const expected = count;
    if (badAt !== undefined) {
      if (e !== undefined) goodAfterBad = true;
      return true;
    }
    if (e === undefined || e.seq !== expected || (head !== undefined && e.previous_hash !== head.hash)) {
      badAt = offset;
      badReason = e === undefined ? 'unreadable line' : `entry out of sequence (expected seq ${expected})`;
      return true;
    }
    if (expected >= indexed) offsets.push(offset);
    head = e;
    count = expected + 1;
    return true;
  });
  if (goodAfterBad && badAt !== undefined) {
    throw new ChainError(
      'CORRUPT',
      `ledger ${file} has an unreadable or out-of-sequence line at byte ${badAt} followed by further entries; ` +
        'this is not a torn write. Run `gavel audit verify` to find the damage; nothing was changed.',
      { exitCode: 2 },
    );
  }
  const cutFrom = badAt ?? end;
  let torn: TailScan['torn'];
  if (cutFrom < size) {
    const cut = Buffer.alloc(size - cutFrom);
    await fh.read(cut, 0, cut.length, cutFrom);
    torn = {
      offset: cutFrom,
      bytes: cut.length,
      sha256: createHash('sha256').update(cut).digest('hex'),
      reason: badAt !== undefined ? badReason : 'no trailing newline',
    };
  }
  if (head !== undefined) checkHash(head, file);
  return { index, tail: { count, end: cutFrom, head, genesis, torn, offsets } };
}

/** The head is what every new entry links to: its hash must be its own. */
function checkHash(e: Entry, file: string): void {
  const { hashInput } = canonicalForms(e as unknown as Record<string, unknown>);
  if (sha256Hex(hashInput) !== e.hash) {
    throw new ChainError(
      'CORRUPT',
      `the last entry of ${file} (seq ${e.seq}) does not hash to its stored hash; refusing to extend a damaged ledger. ` +
        'Run `gavel audit verify`.',
      { exitCode: 2 },
    );
  }
}
