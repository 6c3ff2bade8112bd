// "Does this ledger extend that signed checkpoint?" — the check behind `gavel audit verify
// --checkpoint`. One pass over the ledger file (both cores, verify-parallel.ts) recomputes every
// entry hash, checks the links, and rebuilds the RFC 6962 tree from the file itself (never from the
// `.tree` cache); the root of the first `size` entries must be the signed root. A truncated ledger
// has fewer entries; a rewritten-and-rechained tail gives another root, even with every link intact.
import type { VerifierKey } from './keys.js';
import { ledgerOrigin, openCheckpoint } from './note.js';
import { type ParallelVerifyOptions, verifyLedgerParallel } from './verify-parallel.js';

export interface CheckpointVerifyReport {
  ok: boolean;
  exitCode: 0 | 1;
  message: string;
  origin: string;
  checkpointSize: number;
  /** Entries that verified (all of them when ok). */
  ledgerSize: number;
  /** 1-based entry number when the chain itself is broken. */
  failedEntry?: number;
  reason?: string;
  signers?: string[];
}

/** Throws ChainError BAD_NOTE when the note is malformed or not signed by a trusted key. */
export async function verifyLedgerAgainstCheckpoint(
  ledgerPath: string,
  noteText: string,
  verifiers: VerifierKey[],
  opts: Omit<ParallelVerifyOptions, 'treeAt'> = {},
): Promise<CheckpointVerifyReport> {
  const c = openCheckpoint(noteText, verifiers);
  const v = await verifyLedgerParallel(ledgerPath, { ...opts, treeAt: c.size });
  const base = { origin: c.origin, checkpointSize: c.size, ledgerSize: v.entries, signers: c.signers };
  const fail = (reason: string, failedEntry?: number): CheckpointVerifyReport => ({
    ...base,
    ok: false,
    exitCode: 1,
    message: `[VERIFY FAILED] Checkpoint ${c.origin} at size ${c.size}: ${reason}`,
    reason,
    ...(failedEntry === undefined ? {} : { failedEntry }),
  });
  if (!v.ok) {
    return { ...fail(v.message.replace(/^\[VERIFY FAILED\] /, ''), v.failedEntry), message: v.message };
  }
  if (v.entries < c.size) {
    return fail(
      `the ledger has ${v.entries} entries, fewer than the ${c.size} the checkpoint signed: it was truncated.`,
    );
  }
  if (
    v.genesisHash !== undefined &&
    c.origin.startsWith('gavel.local/') &&
    c.origin !== ledgerOrigin(v.genesisHash)
  ) {
    return fail(`the checkpoint is for ${c.origin}, this ledger is ${ledgerOrigin(v.genesisHash)}.`);
  }
  if (v.rootAt === undefined || !Buffer.from(v.rootAt).equals(c.root)) {
    return fail(`the first ${c.size} entries do not hash to the signed root: history was rewritten.`);
  }
  return {
    ...base,
    ok: true,
    exitCode: 0,
    message: `[VERIFY OK] Ledger extends checkpoint ${c.origin} at size ${c.size} (now ${v.entries} entries).`,
  };
}
