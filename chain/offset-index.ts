// The offset index `<ledger>.idx`: a cache mapping seq -> byte offset of its line, so the tail and
// any entry are read without scanning the ledger. Layout: 16-byte header ("GVLIDX01" + the first 8
// bytes of the genesis entry's hash, so an index never serves another ledger), then one little-endian
// uint64 offset per entry. It is never fsynced: after a crash it may lag the ledger or be torn, and
// the store checks it against the ledger on every open and extends or rebuilds it.
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';

const MAGIC = Buffer.from('GVLIDX01', 'ascii');
export const INDEX_HEADER = 16;

export function indexPath(ledgerPath: string): string {
  return `${ledgerPath}.idx`;
}

export class OffsetIndex {
  /** Offsets held in memory for entries the file does not have (read-only opens, failed writes). */
  private extra: number[] = [];
  private constructor(
    private readonly fh: FileHandle | undefined,
    private fileCount: number,
    private readonly writable: boolean,
  ) {}

  get count(): number {
    return this.fileCount + this.extra.length;
  }

  /**
   * Opens the index for a ledger whose genesis hash is `genesisHash` (undefined for an empty
   * ledger). A header that does not match is treated as no index at all.
   */
  static async open(
    ledgerPath: string,
    genesisHash: string | undefined,
    writable: boolean,
  ): Promise<OffsetIndex> {
    let fh: FileHandle | undefined;
    // 'r+' rather than 'a+': Linux ignores the position of writes to a file opened for appending.
    try {
      fh = await open(indexPath(ledgerPath), writable ? 'r+' : 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (!writable) return new OffsetIndex(undefined, 0, false);
      fh = await open(indexPath(ledgerPath), 'w+');
    }
    const { size } = await fh.stat();
    const header = Buffer.alloc(INDEX_HEADER);
    if (size >= INDEX_HEADER) await fh.read(header, 0, INDEX_HEADER, 0);
    const want = OffsetIndex.header(genesisHash);
    const valid = size >= INDEX_HEADER && header.equals(want);
    if (!valid) {
      if (!writable) return new OffsetIndex(fh, 0, false);
      await fh.truncate(0);
      if (genesisHash !== undefined) await fh.write(want, 0, INDEX_HEADER, 0);
      return new OffsetIndex(fh, 0, true);
    }
    return new OffsetIndex(fh, Math.floor((size - INDEX_HEADER) / 8), writable);
  }

  private static header(genesisHash: string | undefined): Buffer {
    const h = Buffer.alloc(INDEX_HEADER);
    MAGIC.copy(h, 0);
    if (genesisHash !== undefined) Buffer.from(genesisHash.slice(0, 16), 'hex').copy(h, 8);
    return h;
  }

  /** Offset of entry `seq`'s line. */
  async offset(seq: number): Promise<number> {
    if (seq >= this.fileCount) {
      const v = this.extra[seq - this.fileCount];
      if (v === undefined) throw new RangeError(`no offset for entry ${seq}`);
      return v;
    }
    const b = Buffer.alloc(8);
    await (this.fh as FileHandle).read(b, 0, 8, INDEX_HEADER + seq * 8);
    return Number(b.readBigUInt64LE(0));
  }

  /** Keeps only the first `n` offsets (the ledger was cut, or the index ran ahead of it). */
  async truncate(n: number): Promise<void> {
    if (n >= this.count) return;
    if (n < this.fileCount) {
      this.extra = [];
      this.fileCount = n;
      if (this.writable) await (this.fh as FileHandle).truncate(INDEX_HEADER + n * 8);
    } else {
      this.extra.length = n - this.fileCount;
    }
  }

  /** Starts the index over for a ledger whose first entry has `genesisHash`. */
  async reset(genesisHash: string | undefined): Promise<void> {
    this.extra = [];
    this.fileCount = 0;
    if (!this.writable) return;
    const fh = this.fh as FileHandle;
    await fh.truncate(0);
    if (genesisHash !== undefined) await fh.write(OffsetIndex.header(genesisHash), 0, INDEX_HEADER, 0);
  }

  /** Appends offsets for the next entries; `genesisHash` is needed when the index is still empty. */
  async append(offsets: readonly number[], genesisHash?: string): Promise<void> {
    if (offsets.length === 0) return;
    if (!this.writable || this.extra.length > 0) {
      this.extra.push(...offsets);
      return;
    }
    const fh = this.fh as FileHandle;
    if (this.fileCount === 0) {
      await fh.truncate(0);
      await fh.write(OffsetIndex.header(genesisHash), 0, INDEX_HEADER, 0);
    }
    const b = Buffer.alloc(offsets.length * 8);
    // Little-endian u64 as two u32 halves (offsets are safe integers): no BigInt per entry.
    for (let i = 0; i < offsets.length; i++) {
      const off = offsets[i] as number;
      b.writeUInt32LE(off >>> 0, i * 8);
      b.writeUInt32LE(Math.floor(off / 0x1_0000_0000), i * 8 + 4);
    }
    try {
      let done = 0;
      while (done < b.length) {
        const { bytesWritten } = await fh.write(
          b,
          done,
          b.length - done,
          INDEX_HEADER + this.fileCount * 8 + done,
        );
        done += bytesWritten;
      }
      this.fileCount += offsets.length;
    } catch {
      // The index is a cache: keep serving from memory; the next open rebuilds the file.
      this.extra.push(...offsets);
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
  }
}
