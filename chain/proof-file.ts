// A self-contained inclusion proof for an offline auditor: one ledger entry, the RFC 6962 audit path
// from its leaf to a tree root, and the signed checkpoint (C2SP signed note) naming that root.
// With only this file and the operator's verifier key an auditor can check that the entry is, byte
// for byte, entry `index` of the ledger the checkpoint (and any anchor of it) commits to.
//
// Format (JSON, compact; `format` is the version):
//   { "format": "gavel.proof/v1",
//     "index": <seq of the entry = its leaf index>,
//     "entry": { ...the full ledger entry, including "hash" },
//     "path": "<base64 of the audit path hashes, 32 bytes each, leaf level first (RFC 6962 §2.1.1)>",
//     "checkpoint": "<the signed checkpoint note text>" }
// The tree size and root are in the checkpoint; the path is one base64 string, not a list, to keep a
// proof in a 1,000,000-entry tree (20 hashes) near 1 KB.
import { entryHash } from './entry.js';
import { ChainError } from './errors.js';
import type { VerifierKey } from './keys.js';
import { HASH_SIZE, leafHashHex, rootFromInclusionProof, verifyConsistency } from './merkle.js';
import { type Checkpoint, openCheckpoint } from './note.js';

export const PROOF_FORMAT = 'gavel.proof/v1';

export interface ProofFile {
  format: typeof PROOF_FORMAT;
  index: number;
  entry: Record<string, unknown>;
  path: string;
  checkpoint: string;
}

export interface CheckedProof {
  index: number;
  entry: Record<string, unknown>;
  checkpoint: Checkpoint;
  signers: string[];
}

function bad(message: string): ChainError {
  return new ChainError('BAD_PROOF', message);
}

/** SHA-256 of the RFC 8785 canonical JSON of the entry without `hash`: the store's own rule (entry.ts). */
export function buildProofFile(p: {
  index: number;
  entry: Record<string, unknown>;
  path: readonly Uint8Array[];
  checkpoint: string;
}): string {
  const file: ProofFile = {
    format: PROOF_FORMAT,
    index: p.index,
    entry: p.entry,
    path: Buffer.concat(p.path.map((h) => Buffer.from(h))).toString('base64'),
    checkpoint: p.checkpoint,
  };
  return `${JSON.stringify(file)}\n`;
}

function decodePath(s: unknown): Uint8Array[] {
  if (typeof s !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw bad('"path" is not a base64 string');
  const raw = Buffer.from(s, 'base64');
  if (raw.toString('base64') !== s) throw bad('"path" is not canonical base64');
  if (raw.length % HASH_SIZE !== 0)
    throw bad(`"path" length ${raw.length} is not a multiple of ${HASH_SIZE} bytes`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < raw.length; i += HASH_SIZE) out.push(raw.subarray(i, i + HASH_SIZE));
  return out;
}

/**
 * Checks a proof file completely: the checkpoint's signature under `verifiers`, the entry's hash
 * recomputed from its canonical form, its seq against the index, and the audit path from its leaf
 * to the checkpoint's root. Throws ChainError BAD_PROOF (or BAD_NOTE) naming what does not hold.
 */
export function checkProofFile(json: string | unknown, verifiers: VerifierKey[]): CheckedProof {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (err) {
      throw bad(`proof file is not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw bad('proof file is not a JSON object');
  const f = doc as Partial<Record<keyof ProofFile, unknown>>;
  if (f.format !== PROOF_FORMAT)
    throw bad(`unknown proof format ${JSON.stringify(f.format)} (expected ${PROOF_FORMAT})`);
  const index = f.index;
  if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0)
    throw bad('"index" is not an entry index');
  const entry = f.entry;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw bad('"entry" is not an object');
  if (typeof f.checkpoint !== 'string') throw bad('"checkpoint" is not a signed note');
  const path = decodePath(f.path);

  const { signers, ...checkpoint } = openCheckpoint(f.checkpoint, verifiers);
  const e = entry as Record<string, unknown>;
  if (e.seq !== index) throw bad(`entry seq ${JSON.stringify(e.seq)} is not the proof's index ${index}`);
  if (typeof e.hash !== 'string' || !/^[0-9a-f]{64}$/.test(e.hash)) throw bad('entry has no valid "hash"');
  const recomputed = entryHash(e);
  if (recomputed !== e.hash)
    throw bad(`entry hash mismatch: the entry was changed (its content hashes to ${recomputed})`);
  if (index >= checkpoint.size) {
    throw bad(`entry ${index} is not in the checkpoint's tree of ${checkpoint.size} entries`);
  }
  const root = rootFromInclusionProof(leafHashHex(e.hash), index, checkpoint.size, path);
  if (root === undefined) {
    throw bad(`inclusion path has ${path.length} hashes, wrong for entry ${index} of ${checkpoint.size}`);
  }
  if (!Buffer.from(root).equals(checkpoint.root)) {
    throw bad('inclusion path does not lead to the checkpoint root: the entry is not in the signed tree');
  }
  return { index, entry: e, checkpoint, signers };
}

// Consistency between two signed checkpoints of one ledger (RFC 6962 §2.1.2, verified per RFC 9162
// §2.1.4.2): shows the later tree extends the earlier one, so nothing in the first `from.size`
// entries was changed or cut. Format:
//   { "format": "gavel.consistency/v1", "from": "<signed note>", "to": "<signed note>", "path": "<base64>" }
export const CONSISTENCY_FORMAT = 'gavel.consistency/v1';

export function buildConsistencyFile(p: { from: string; to: string; path: readonly Uint8Array[] }): string {
  const path = Buffer.concat(p.path.map((h) => Buffer.from(h))).toString('base64');
  return `${JSON.stringify({ format: CONSISTENCY_FORMAT, from: p.from, to: p.to, path })}\n`;
}

export function checkConsistencyFile(
  json: string | unknown,
  verifiers: VerifierKey[],
): { from: Checkpoint; to: Checkpoint; signers: string[] } {
  let doc: unknown = json;
  if (typeof json === 'string') {
    try {
      doc = JSON.parse(json);
    } catch (err) {
      throw bad(`consistency file is not JSON: ${(err as Error).message}`);
    }
  }
  const f = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (f.format !== CONSISTENCY_FORMAT) {
    throw bad(`unknown consistency format ${JSON.stringify(f.format)} (expected ${CONSISTENCY_FORMAT})`);
  }
  if (typeof f.from !== 'string' || typeof f.to !== 'string')
    throw bad('"from" and "to" must be signed notes');
  const path = decodePath(f.path);
  const { signers, ...from } = openCheckpoint(f.from, verifiers);
  const { signers: toSigners, ...to } = openCheckpoint(f.to, verifiers);
  if (from.origin !== to.origin)
    throw bad(`the checkpoints are of different logs (${from.origin}, ${to.origin})`);
  if (from.size > to.size)
    throw bad(`the "from" checkpoint (${from.size}) is larger than the "to" (${to.size})`);
  if (!verifyConsistency(from.size, to.size, from.root, to.root, path)) {
    throw bad(
      `the tree of ${to.size} entries does not extend the tree of ${from.size}: history was rewritten or cut`,
    );
  }
  return { from, to, signers: [...new Set([...signers, ...toSigners])] };
}
