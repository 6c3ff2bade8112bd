// Anchored inclusion proofs: one entry, its RFC 9162 inclusion path to the root of an anchored tree,
// and the anchor transaction that carries that root. Whoever holds the file can check it against the
// chain alone — no ledger, no key: the entry hashes to its `hash`, the path leads from it to a root,
// and the transaction on chain carries exactly that root and tree size.
import {
  entryHash,
  inclusionProof,
  Ledger,
  leafHashHex,
  MemoryTree,
  rootFromInclusionProof,
} from '../chain/index.js';
import { AnchorError } from './errors.js';
import { scanAnchors } from './scan.js';
import type { AnchorTarget } from './target.js';

export const ANCHOR_PROOF_FORMAT = 'gavel.anchor-proof/v1';

export interface AnchorProof {
  format: typeof ANCHOR_PROOF_FORMAT;
  index: number;
  size: number;
  entry: Record<string, unknown>;
  /** Inclusion path, base64 hashes, leaf to root. */
  path: string[];
  anchor: {
    target: string;
    chain: string;
    network: string;
    anchor_id: string;
    tx: string;
    origin: string;
    root: string;
  };
}

/** Builds the proof of entry `seq` under the first finalized anchor (of `target`, if given) that covers it. */
export async function buildAnchorProof(
  ledgerPath: string,
  seq: number,
  target?: string,
): Promise<AnchorProof> {
  const records = [...(await scanAnchors(ledgerPath)).values()].filter(
    (r) => r.state === 'finalized' && r.tx !== undefined && (target === undefined || r.target === target),
  );
  const cover = records
    .filter((r) => r.checkpoint.size > seq)
    .sort((a, b) => a.checkpoint.size - b.checkpoint.size)[0];
  if (cover === undefined)
    throw new AnchorError(
      'NOT_FOUND',
      `no finalized anchor${target ? ` on ${target}` : ''} covers entry ${seq} yet (gavel anchor status)`,
      { exitCode: 1 },
    );
  const size = cover.checkpoint.size;
  const ledger = await Ledger.open(ledgerPath, { readOnly: true });
  try {
    if (seq >= ledger.size)
      throw new AnchorError('NOT_FOUND', `the ledger has no entry ${seq}`, { exitCode: 2 });
    const tree = new MemoryTree();
    for await (const h of ledger.hashes(0, size)) tree.appendLeaf(leafHashHex(h));
    if (tree.size < size)
      throw new AnchorError(
        'MISMATCH',
        `the ledger has ${tree.size} entries; anchor ${cover.anchorId} covers ${size}`,
      );
    const root = Buffer.from(tree.root(size)).toString('hex');
    if (root !== cover.checkpoint.root)
      throw new AnchorError(
        'MISMATCH',
        `the ledger's root at ${size} no longer matches anchor ${cover.anchorId}`,
      );
    const entry = (await ledger.get(seq)) as unknown as Record<string, unknown>;
    return {
      format: ANCHOR_PROOF_FORMAT,
      index: seq,
      size,
      entry,
      path: inclusionProof(tree, seq, size).map((h) => Buffer.from(h).toString('base64')),
      anchor: {
        target: cover.target,
        chain: cover.chain,
        network: cover.network,
        anchor_id: cover.anchorId,
        tx: cover.tx as string,
        origin: cover.checkpoint.origin,
        root: cover.checkpoint.root,
      },
    };
  } finally {
    await ledger.close();
  }
}

export interface AnchorProofCheck {
  ok: boolean;
  /** ok; mismatch (the proof or the chain disagree); unreachable (the chain could not be read). */
  status: 'ok' | 'mismatch' | 'unreachable';
  message: string;
  final?: boolean;
  slot?: number | null;
}

/** Checks a proof file against the chain through `reader` (a read-only target for its network). */
export async function checkAnchorProof(
  json: unknown,
  reader: (p: AnchorProof) => AnchorTarget,
): Promise<AnchorProofCheck> {
  const bad = (message: string): AnchorProofCheck => ({ ok: false, status: 'mismatch', message });
  const p = json as AnchorProof;
  if (typeof p !== 'object' || p === null || p.format !== ANCHOR_PROOF_FORMAT)
    return bad(`not a ${ANCHOR_PROOF_FORMAT} file`);
  if (!Number.isSafeInteger(p.index) || !Number.isSafeInteger(p.size) || p.index < 0 || p.index >= p.size)
    return bad('index and size must be whole numbers with index < size');
  if (!Array.isArray(p.path) || !p.path.every((h) => typeof h === 'string'))
    return bad('path must be a list of base64 hashes');
  if (typeof p.entry !== 'object' || p.entry === null || typeof p.entry.hash !== 'string')
    return bad('entry must be an entry object with its hash');
  const a = p.anchor;
  if (typeof a !== 'object' || a === null || typeof a.tx !== 'string' || typeof a.chain !== 'string')
    return bad('anchor must name chain, network and tx');
  const computed = entryHash(p.entry);
  if (computed !== p.entry.hash)
    return bad(`the entry hashes to ${computed}, not the ${p.entry.hash} it carries`);
  if (p.entry.seq !== p.index)
    return bad(`the entry is seq ${String(p.entry.seq)}, the proof is for ${p.index}`);
  const root = rootFromInclusionProof(
    leafHashHex(computed),
    p.index,
    p.size,
    p.path.map((h) => new Uint8Array(Buffer.from(h, 'base64'))),
  );
  if (root === undefined) return bad(`the path does not fit entry ${p.index} in a tree of ${p.size}`);
  const rootHex = Buffer.from(root).toString('hex');
  let memo: Awaited<ReturnType<AnchorTarget['read']>>;
  let final: boolean;
  try {
    const t = reader(p);
    memo = await t.read(a.tx);
    final = memo.slot === null ? false : await t.isFinal({ tx: a.tx, slot: memo.slot, fee: '0' });
  } catch (err) {
    const code = (err as { code?: string }).code;
    return {
      ok: false,
      status: code === 'RPC' || code === 'USAGE' ? 'unreachable' : 'mismatch',
      message: `cannot read ${a.tx} from ${a.chain} ${a.network}: ${(err as Error).message}`,
    };
  }
  if (memo.memo.size !== p.size)
    return bad(`the anchor on chain covers ${memo.memo.size} entries, the proof ${p.size}`);
  if (memo.memo.root !== rootHex)
    return bad(
      `the path leads to root ${rootHex}; the chain holds ${memo.memo.root}: the entry is not in the anchored tree`,
    );
  return {
    ok: true,
    status: 'ok',
    final,
    slot: memo.slot,
    message: `entry ${p.index} is included in the ${p.size}-entry tree of ${memo.memo.origin} anchored by ${a.tx} on ${a.chain} ${a.network}${final ? ' (final)' : ' (not final yet)'}`,
  };
}
