// `gavel audit checkpoint | prove | check-proof` and the `--checkpoint` check of `gavel audit verify`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  buildConsistencyFile,
  buildProofFile,
  ChainError,
  type Checkpoint,
  type CheckpointVerifyReport,
  checkConsistencyFile,
  checkProofFile,
  ledgerOrigin,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  type SignerKey,
  signCheckpoint,
  type VerifierKey,
  verifyLedgerAgainstCheckpoint,
} from '../../chain/index.js';
import { UsageError } from '../errors.js';
import { type LedgerAccess, openLedgerAccess } from './ledger-access.js';

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw Object.assign(new Error(`cannot read ${what} ${file}: ${code ?? (err as Error).message}`), {
      code: code ?? 'EIO',
    });
  }
}

/** `--vkey` takes the verifier key itself (name+id+key) or a file holding one per line. */
export function loadVerifiers(values: string[]): VerifierKey[] {
  const out: VerifierKey[] = [];
  for (const v of values) {
    const looksLikeKey = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(v.trim());
    const lines = looksLikeKey ? [v] : readText(v, 'verifier key file').split('\n');
    for (const line of lines) {
      if (line.trim() === '' || line.trim().startsWith('#')) continue;
      try {
        out.push(parseVerifierKey(line));
      } catch (err) {
        throw new UsageError(`--vkey ${v}: ${(err as Error).message}`);
      }
    }
  }
  if (out.length === 0) throw new UsageError('--vkey gave no verifier key');
  return out;
}

function parseSize(s: string | undefined, what: string): number | undefined {
  if (s === undefined) return undefined;
  if (!/^(?:0|[1-9][0-9]*)$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`${what} must be a non-negative integer, got ${JSON.stringify(s)}`);
  }
  return Number(s);
}

function originOf(access: LedgerAccess, override: string | undefined): string {
  if (override !== undefined) return override;
  if (access.genesisHash === undefined) {
    throw new ChainError('BAD_ENTRY', 'the ledger is empty: there is nothing to checkpoint', { exitCode: 1 });
  }
  return ledgerOrigin(access.genesisHash);
}

/** Notes and proofs are public (they are made to be handed out): 0644, replaced atomically. */
function writePublicFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

function output(text: string, out: string | undefined): void {
  if (out === undefined) process.stdout.write(text);
  else writePublicFile(out, text);
}

/** The latest checkpoint signed for a ledger is kept beside it, so that no inconsistent one is signed. */
function lastSignedPath(ledger: string): string {
  return `${ledger}.checkpoint`;
}

function lastSigned(ledger: string, origin: string): Checkpoint | undefined {
  let text: string;
  try {
    text = readFileSync(lastSignedPath(ledger), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const c = noteBody(text);
  return c.origin === origin ? c : undefined;
}

/**
 * Signs a checkpoint of the ledger, unless the ledger no longer extends the last checkpoint signed
 * for it (tlog-checkpoint §Signatures: a log MUST NOT sign a checkpoint inconsistent with one it
 * signed); remembers the newest one signed.
 */
function signGuarded(ledger: string, access: LedgerAccess, c: Checkpoint, key: SignerKey): string {
  const last = lastSigned(ledger, c.origin);
  if (last !== undefined) {
    if (last.size > access.size || !Buffer.from(access.tree.root(last.size)).equals(last.root)) {
      throw new ChainError(
        'INCONSISTENT',
        `refusing to sign: the ledger no longer extends the checkpoint signed at size ${last.size} ` +
          `(${lastSignedPath(ledger)}); it was truncated or rewritten. Investigate with gavel audit verify --checkpoint.`,
      );
    }
  }
  const note = signCheckpoint(c, key);
  if (last === undefined || c.size > last.size) writePublicFile(lastSignedPath(ledger), note);
  return note;
}

export async function checkpointCommand(opts: {
  ledger: string;
  key: string;
  size?: string;
  origin?: string;
  out?: string;
  json?: boolean;
}): Promise<void> {
  const key = parseSignerKey(readText(opts.key, 'key file'));
  const access = await openLedgerAccess(opts.ledger);
  try {
    const size = parseSize(opts.size, '--size') ?? access.size;
    if (size > access.size) {
      throw new UsageError(`--size ${size} is larger than the ledger (${access.size} entries)`);
    }
    if (size === 0)
      throw new UsageError('a checkpoint of an empty tree proves nothing; the ledger has no entries');
    const c: Checkpoint = { origin: originOf(access, opts.origin), size, root: access.tree.root(size) };
    const note = signGuarded(opts.ledger, access, c, key);
    if (opts.json) {
      output(
        `${JSON.stringify({ origin: c.origin, size, root: Buffer.from(c.root).toString('base64'), note })}\n`,
        opts.out,
      );
    } else output(note, opts.out);
  } finally {
    await access.close();
  }
}

export async function proveCommand(opts: {
  ledger: string;
  seq: string;
  checkpoint?: string;
  key?: string;
  out?: string;
}): Promise<void> {
  const seq = parseSize(opts.seq, '--seq') as number;
  if (opts.checkpoint === undefined && opts.key === undefined) {
    throw new UsageError(
      'give --checkpoint NOTEFILE (a signed checkpoint) or --key KEYFILE (to sign one now)',
    );
  }
  const access = await openLedgerAccess(opts.ledger);
  try {
    let note: string;
    let c: Checkpoint;
    if (opts.checkpoint !== undefined) {
      note = readText(opts.checkpoint, 'checkpoint');
      c = noteBody(note);
      matchLedger(access, c, 'checkpoint');
    } else {
      const key = parseSignerKey(readText(opts.key as string, 'key file'));
      c = { origin: originOf(access, undefined), size: access.size, root: access.tree.root() };
      note = signGuarded(opts.ledger, access, c, key);
    }
    if (seq >= c.size) {
      throw new UsageError(`--seq ${seq} is not in the checkpoint's tree of ${c.size} entries`);
    }
    const entry = await access.entry(seq);
    const path = access.tree.inclusionProof(seq, c.size);
    output(buildProofFile({ index: seq, entry, path, checkpoint: note }), opts.out);
    if (opts.out !== undefined) {
      process.stderr.write(`proof of entry ${seq} in ${c.origin} at size ${c.size} written to ${opts.out}\n`);
    }
  } finally {
    await access.close();
  }
}

function noteBody(note: string): Checkpoint {
  // The producer only checks that a note describes this ledger; the auditor checks the signature.
  const sep = note.lastIndexOf('\n\n');
  return parseCheckpoint(sep < 0 ? note : note.slice(0, sep + 1));
}

function matchLedger(access: LedgerAccess, c: Checkpoint, what: string): void {
  if (c.size > access.size) {
    throw new ChainError(
      'BAD_PROOF',
      `${what} is of ${c.size} entries but the ledger has only ${access.size}: it was truncated or is another ledger`,
    );
  }
  if (!Buffer.from(access.tree.root(c.size)).equals(c.root)) {
    throw new ChainError(
      'BAD_PROOF',
      `${what} root does not match this ledger at its size: wrong ledger or rewritten history`,
    );
  }
}

export async function consistencyCommand(opts: {
  ledger: string;
  from: string;
  to?: string;
  key?: string;
  out?: string;
}): Promise<void> {
  if ((opts.to === undefined) === (opts.key === undefined)) {
    throw new UsageError('give either --to NOTEFILE (a later checkpoint) or --key KEYFILE (to sign one now)');
  }
  const fromNote = readText(opts.from, 'checkpoint');
  const from = noteBody(fromNote);
  const access = await openLedgerAccess(opts.ledger);
  try {
    matchLedger(access, from, '--from checkpoint');
    let toNote: string;
    let to: Checkpoint;
    if (opts.to !== undefined) {
      toNote = readText(opts.to, 'checkpoint');
      to = noteBody(toNote);
      matchLedger(access, to, '--to checkpoint');
    } else {
      const key = parseSignerKey(readText(opts.key as string, 'key file'));
      to = { origin: from.origin, size: access.size, root: access.tree.root() };
      toNote = signGuarded(opts.ledger, access, to, key);
    }
    if (to.size < from.size)
      throw new UsageError(`--to (${to.size} entries) is older than --from (${from.size})`);
    const path = access.tree.consistencyProof(from.size, to.size);
    output(buildConsistencyFile({ from: fromNote, to: toNote, path }), opts.out);
  } finally {
    await access.close();
  }
}

export async function checkProofCommand(
  file: string,
  opts: { vkey: string[]; json?: boolean },
): Promise<void> {
  const verifiers = loadVerifiers(opts.vkey);
  const text = readText(file, 'proof file');
  try {
    if (/"format":\s*"gavel\.consistency\//.test(text)) {
      const c = checkConsistencyFile(text, verifiers);
      const j = { ok: true, origin: c.to.origin, from: c.from.size, to: c.to.size, signers: c.signers };
      const msg = `[PROOF OK] ${c.to.origin} at size ${c.to.size} extends size ${c.from.size} (signed by ${c.signers.join(', ')}).`;
      process.stdout.write(opts.json ? `${JSON.stringify(j)}\n` : `${msg}\n`);
      return;
    }
    const r = checkProofFile(text, verifiers);
    const msg = `[PROOF OK] Entry ${r.index} is in ${r.checkpoint.origin} at size ${r.checkpoint.size} (signed by ${r.signers.join(', ')}).`;
    process.stdout.write(
      opts.json
        ? `${JSON.stringify({ ok: true, index: r.index, origin: r.checkpoint.origin, size: r.checkpoint.size, signers: r.signers, hash: r.entry.hash })}\n`
        : `${msg}\n`,
    );
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'BAD_PROOF' && code !== 'BAD_NOTE') throw err;
    const reason = (err as Error).message;
    process.stdout.write(
      opts.json ? `${JSON.stringify({ ok: false, reason })}\n` : `[PROOF FAILED] ${reason}\n`,
    );
    process.exitCode = 1;
  }
}

export async function verifyCheckpointCommand(opts: {
  ledger: string;
  checkpoint: string;
  vkey: string[];
  json?: boolean;
  /** Operator secret: seals are checked in the same pass. */
  secret?: string;
  threads?: number;
}): Promise<CheckpointVerifyReport> {
  const verifiers = loadVerifiers(opts.vkey);
  const note = readText(opts.checkpoint, 'checkpoint');
  let r: CheckpointVerifyReport;
  try {
    r = await verifyLedgerAgainstCheckpoint(opts.ledger, note, verifiers, {
      ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
      ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
    });
  } catch (err) {
    if ((err as { code?: string }).code !== 'BAD_NOTE') throw err;
    const reason = (err as Error).message;
    r = {
      ok: false,
      exitCode: 1,
      message: `[VERIFY FAILED] Checkpoint: ${reason}`,
      checkpointSize: 0,
      ledgerSize: 0,
      origin: '',
      reason,
    };
  }
  process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${r.message}\n`);
  if (!r.ok) process.exitCode = 1;
  return r;
}
