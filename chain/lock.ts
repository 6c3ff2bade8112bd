// The single-writer lock: `<ledger>.lock` created exclusively (O_EXCL) and holding the holder's pid.
// A lock whose pid no longer runs is stale and is broken by renaming it away (only one breaker can
// win the rename); a live holder makes the caller wait up to `waitMs`, then fail with LOCKED.

import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { ChainError } from './errors.js';

export interface LockHandle {
  readonly path: string;
  release(): Promise<void>;
}

export function lockPath(ledgerPath: string): string {
  return `${ledgerPath}.lock`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  host: string;
}

async function readHolder(p: string): Promise<Holder | undefined> {
  try {
    const text = await readFile(p, 'utf8');
    const [pid, host] = text.trim().split(/\s+/);
    const n = Number(pid);
    return Number.isSafeInteger(n) && n > 0 ? { pid: n, host: host ?? '' } : { pid: 0, host: host ?? '' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Breaks the lock if it still names the dead holder we saw; true when it is gone. */
async function breakStale(p: string, seen: Holder): Promise<boolean> {
  const aside = `${p}.stale.${process.pid}.${Date.now()}`;
  try {
    await rename(p, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  const moved = await readHolder(aside);
  if (moved !== undefined && moved.pid !== seen.pid) {
    // Someone re-took the lock between our read and our rename: put theirs back.
    await link(aside, p).catch(() => {});
  }
  await unlink(aside).catch(() => {});
  return true;
}

export async function acquireLock(ledgerPath: string, opts: { waitMs?: number } = {}): Promise<LockHandle> {
  const p = lockPath(ledgerPath);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const me = `${process.pid} ${hostname()}\n`;
  let delay = 2;
  for (;;) {
    try {
      const fh = await open(p, 'wx', 0o644);
      try {
        await fh.writeFile(me);
      } finally {
        await fh.close();
      }
      let released = false;
      return {
        path: p,
        async release() {
          if (released) return;
          released = true;
          const h = await readHolder(p);
          if (h?.pid === process.pid) await unlink(p).catch(() => {});
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(p);
    if (holder === undefined) continue;
    // A pid from another host cannot be checked; an unreadable pid (torn write by a killed holder
    // during creation) counts as dead once it has stayed unreadable past a retry.
    const sameHost = holder.host === '' || holder.host === hostname();
    if (sameHost && (holder.pid === 0 || !alive(holder.pid)) && holder.pid !== process.pid) {
      if (holder.pid === 0) await sleep(20);
      const again = await readHolder(p);
      if (again === undefined || (again.pid === holder.pid && (await breakStale(p, holder)))) continue;
    }
    if (Date.now() >= deadline) {
      throw new ChainError(
        'LOCKED',
        `ledger ${ledgerPath} is held by process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''}; ` +
          'if a gavel daemon owns it, send your request to the daemon (--daemon)',
        { exitCode: 2 },
      );
    }
    await sleep(Math.min(delay, Math.max(1, deadline - Date.now())));
    delay = Math.min(delay * 2, 50);
  }
}
