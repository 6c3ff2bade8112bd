// Shared by the daemon anchoring tests: the ledger read back as lines, the anchor steps of one
// anchor, and a poll with a deadline.
import { readFileSync } from 'node:fs';

export interface Line {
  seq: number;
  kind: string;
  hash: string;
  payload: Record<string, unknown>;
}

/** The four steps of an anchor that completed without a retry. */
export const ANCHOR_STEPS = ['anchor.scheduled', 'anchor.submitted', 'anchor.confirmed', 'anchor.finalized'];

export const lines = (p: string): Line[] =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);

/** anchor.* entries of the ledger, of one anchor id when given. */
export const anchorSteps = (p: string, id?: string): Line[] =>
  lines(p).filter((e) => e.kind.startsWith('anchor.') && (id === undefined || e.payload.anchor_id === id));

/** The first finalized anchor whose checkpoint covers at least `size` entries. */
export const finalizedCovering = (p: string, size: number): Line | undefined =>
  anchorSteps(p).find(
    (e) => e.kind === 'anchor.finalized' && (e.payload.checkpoint as { size: number }).size >= size,
  );

/** Polls `f` until it returns something (not undefined/false); throws naming `what` after `ms`. */
export async function waitFor<T>(
  what: string,
  f: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 45_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
