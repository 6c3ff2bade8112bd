// Forward-secure HMAC seals (DESIGN.md "The ledger"; the idea of journald's Forward Secure Sealing):
//   k(0)   = HMAC-SHA256(operator secret, "gavel/seal/v1/k0")
//   k(e+1) = SHA-256("gavel/seal/v1" || k(e))
// The writer keeps only the current epoch key (`<ledger>.sealkey`, 0600), overwriting it at each step,
// so a thief of today's key cannot derive an earlier one and cannot forge an earlier entry. A
// verifier holding the operator secret derives every epoch's key. Every entry's epoch is checked and
// epochs may never go back (the CVE-2023-31439 lesson: journald accepted entries out of epoch order).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ChainError } from './errors.js';
import { hmacSha256Hex } from './hash.js';

const STEP_PREFIX = Buffer.from('gavel/seal/v1', 'utf8');

export function secretBytes(secret: string | Uint8Array): Uint8Array {
  const b = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (b.length === 0) throw new ChainError('BAD_KEY', 'the operator secret is empty');
  return b;
}

export function initialKey(secret: string | Uint8Array): Uint8Array {
  return createHmac('sha256', secretBytes(secret)).update('gavel/seal/v1/k0').digest();
}

export function nextKey(key: Uint8Array): Uint8Array {
  return createHash('sha256').update(STEP_PREFIX).update(key).digest();
}

/** Derives epoch keys from the operator secret, remembering the latest so a forward walk is O(1) a step. */
export class EpochKeys {
  private epoch = 0;
  private key: Uint8Array;
  private readonly k0: Uint8Array;
  constructor(secret: string | Uint8Array) {
    this.k0 = initialKey(secret);
    this.key = this.k0;
  }
  at(epoch: number): Uint8Array {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new ChainError('BAD_ENTRY', `bad seal epoch ${epoch}`);
    if (epoch < this.epoch) {
      this.epoch = 0;
      this.key = this.k0;
    }
    while (this.epoch < epoch) {
      this.key = nextKey(this.key);
      this.epoch++;
    }
    return this.key;
  }
}

export function sealMac(key: Uint8Array, macInput: string): string {
  return hmacSha256Hex(key, macInput);
}

export function macEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

export function sealKeyPath(ledgerPath: string): string {
  return `${ledgerPath}.sealkey`;
}

export interface SealKeyState {
  epoch: number;
  key: Uint8Array;
  /** When this epoch began (ms since the epoch), for time-based rotation. */
  since: number;
}

/** Reads `<ledger>.sealkey`; undefined when there is none. Refuses a key file others can read. */
export async function readSealKey(ledgerPath: string): Promise<SealKeyState | undefined> {
  const p = sealKeyPath(ledgerPath);
  let text: string;
  try {
    const st = await stat(p);
    if ((st.mode & 0o077) !== 0)
      throw new ChainError(
        'BAD_KEY',
        `${p} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
        { exitCode: 2 },
      );
    text = await readFile(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const j = JSON.parse(text) as { v?: unknown; epoch?: unknown; key?: unknown; since?: unknown };
    if (
      j.v !== 1 ||
      typeof j.epoch !== 'number' ||
      typeof j.key !== 'string' ||
      !/^[0-9a-f]{64}$/.test(j.key)
    )
      throw new Error('bad fields');
    return {
      epoch: j.epoch,
      key: Buffer.from(j.key, 'hex'),
      since: typeof j.since === 'number' ? j.since : Date.now(),
    };
  } catch {
    throw new ChainError('BAD_KEY', `${p} is not a gavel seal key file`, { exitCode: 2 });
  }
}

/** Atomically replaces `<ledger>.sealkey` (write, fsync, rename, fsync dir): the old key is gone. */
export async function writeSealKey(ledgerPath: string, s: SealKeyState): Promise<void> {
  const p = sealKeyPath(ledgerPath);
  const tmp = `${p}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(
      JSON.stringify({ v: 1, epoch: s.epoch, key: Buffer.from(s.key).toString('hex'), since: s.since }),
    );
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, p);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
  const dir = await open(path.dirname(p), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
