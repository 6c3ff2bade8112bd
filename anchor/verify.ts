// `gavel anchor verify`: re-reads each anchor transaction from its chain (instruction data or
// calldata, never logs) and checks the ledger against what the chain holds:
//   - the ledger verifies on its own (hashes, links, and seals when the secret is given);
//   - the chain's memo names this ledger's origin;
//   - the ledger still has at least the anchored number of entries (not cut);
//   - the RFC 6962 root of the ledger's first `size` entries and the hash of entry size-1 equal the
//     memo's root and head (not rewritten);
//   - the ledger's own anchor record agrees with the chain;
//   - with `seq`, the entry is included under the anchored root (an RFC 9162 inclusion proof).
// Anchors are taken from the ledger's anchor.* entries and from the receipts file `<ledger>.anchors`
// the daemon appends to on each finalized anchor (and from `extra` transactions given by the caller),
// so cutting the anchor entries out of the ledger does not hide an anchor that was made.
import { readFileSync } from 'node:fs';
import {
  inclusionProof,
  Ledger,
  leafHashHex,
  ledgerOrigin,
  MemoryTree,
  verifyInclusion,
  verifyLedgerParallel,
} from '../chain/index.js';
import type { AnchorMemo } from './memo.js';
import { type AnchorRecord, scanAnchors } from './scan.js';
import type { AnchorTarget } from './target.js';

export interface AnchorRef {
  anchorId: string;
  target: string;
  chain: string;
  network: string;
  tx: string;
  /** Where this anchor was learnt of: the ledger, the receipts file, or the caller. */
  from: 'ledger' | 'receipts' | 'given';
  record?: AnchorRecord;
}

export interface AnchorCheck {
  anchorId: string;
  target: string;
  chain: string;
  network: string;
  tx: string;
  size: number | null;
  slot: number | null;
  final: boolean | null;
  explorer?: string;
  ok: boolean;
  /** ok; mismatch (the ledger and the chain disagree); unreachable (the chain could not be read). */
  status: 'ok' | 'mismatch' | 'unreachable';
  problems: string[];
}

export interface AnchorVerifyReport {
  ok: boolean;
  /** Nothing disagreed, but some anchor's chain could not be read. */
  unreachable: boolean;
  ledger: { path: string; entries: number; ok: boolean; message: string; keyedChecks: number };
  anchors: AnchorCheck[];
  inclusion?: { seq: number; anchorId: string; size: number; ok: boolean; message: string };
  message: string;
}

export interface VerifyAnchorsOptions {
  ledgerPath: string;
  /** A read-only target for an anchor's chain and network (from the config or defaults). */
  reader(ref: AnchorRef): AnchorTarget;
  /** Every finalized anchor; default: the newest per target. */
  all?: boolean;
  /** Also prove this entry's inclusion under the first anchor that covers it. */
  seq?: number;
  secret?: string;
  /** More anchors the caller knows of (e.g. from an explorer): chain, network, tx. */
  extra?: { chain: string; network: string; tx: string; target?: string }[];
}

export function receiptsPath(ledgerPath: string): string {
  return `${ledgerPath}.anchors`;
}

export interface AnchorReceipt {
  anchor_id: string;
  target: string;
  chain: string;
  network: string;
  tx: string;
  size: number;
  slot: number;
}

function readReceipts(ledgerPath: string): AnchorReceipt[] {
  let text: string;
  try {
    text = readFileSync(receiptsPath(ledgerPath), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: AnchorReceipt[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as AnchorReceipt;
      if (typeof r.tx === 'string' && typeof r.chain === 'string') out.push(r);
    } catch {
      // a torn last line (crash while appending): the ledger still has the anchor entries
    }
  }
  return out;
}

export async function verifyAnchors(o: VerifyAnchorsOptions): Promise<AnchorVerifyReport> {
  const lv = await verifyLedgerParallel(o.ledgerPath, { secret: o.secret });
  const records = await scanAnchors(o.ledgerPath);

  // Which anchors to check, keyed by chain:network:tx.
  const refs = new Map<string, AnchorRef>();
  const finalized = [...records.values()].filter((r) => r.state === 'finalized' && r.tx !== undefined);
  const add = (ref: AnchorRef) => {
    const k = `${ref.chain}:${ref.network}:${ref.tx}`;
    if (!refs.has(k)) refs.set(k, ref);
  };
  const fromLedger = (r: AnchorRecord): AnchorRef => ({
    anchorId: r.anchorId,
    target: r.target,
    chain: r.chain,
    network: r.network,
    tx: r.tx as string,
    from: 'ledger',
    record: r,
  });
  if (o.seq !== undefined) {
    // The first finalized anchor of each target that covers the entry.
    const byTarget = new Map<string, AnchorRecord>();
    for (const r of finalized)
      if (r.checkpoint.size > o.seq && !byTarget.has(r.target)) byTarget.set(r.target, r);
    for (const r of byTarget.values()) add(fromLedger(r));
  } else if (o.all) {
    for (const r of finalized) add(fromLedger(r));
  } else {
    const newest = new Map<string, AnchorRecord>();
    for (const r of finalized) newest.set(r.target, r);
    for (const r of newest.values()) add(fromLedger(r));
  }
  // Receipts: every anchor the daemon saw finalized. With the default selection only those newer than
  // what the ledger shows matter (the ledger lost them); with --all, all of them.
  const ledgerTx = new Set(finalized.map((r) => r.tx));
  const newestSize = new Map<string, number>();
  for (const r of finalized)
    newestSize.set(r.target, Math.max(newestSize.get(r.target) ?? 0, r.checkpoint.size));
  for (const rc of readReceipts(o.ledgerPath)) {
    const missing = !ledgerTx.has(rc.tx);
    if (o.all || missing || rc.size > (newestSize.get(rc.target) ?? -1))
      add({
        anchorId: rc.anchor_id,
        target: rc.target,
        chain: rc.chain,
        network: rc.network,
        tx: rc.tx,
        from: 'receipts',
      });
  }
  for (const x of o.extra ?? [])
    add({
      anchorId: `${x.target ?? x.chain}/?`,
      target: x.target ?? x.chain,
      chain: x.chain,
      network: x.network,
      tx: x.tx,
      from: 'given',
    });

  // Read every anchor from its chain first: the sizes it names decide which roots to compute.
  const reads: {
    ref: AnchorRef;
    memo?: AnchorMemo;
    slot: number | null;
    final: boolean | null;
    explorer?: string;
    problems: string[];
    unreachable?: boolean;
  }[] = [];
  for (const ref of refs.values()) {
    const problems: string[] = [];
    let unreachable = false;
    let memo: AnchorMemo | undefined;
    let slot: number | null = null;
    let final: boolean | null = null;
    let explorer: string | undefined = ref.record?.explorer;
    try {
      const t = o.reader(ref);
      explorer ??= t.explorer(ref.tx);
      // A loaded or flaky endpoint gets three tries before the anchor is called unreadable.
      let got: Awaited<ReturnType<AnchorTarget['read']>> | undefined;
      for (let attempt = 1; got === undefined; attempt++) {
        try {
          got = await t.read(ref.tx);
        } catch (err) {
          if ((err as { code?: string }).code !== 'RPC' || attempt >= 3) throw err;
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
      memo = got.memo;
      slot = got.slot;
      if (slot === null)
        problems.push(`transaction ${ref.tx} is not in a block on ${ref.chain} ${ref.network}`);
      else final = await t.isFinal({ tx: ref.tx, slot, fee: '0' });
    } catch (err) {
      const code = (err as { code?: string }).code;
      // A transaction the chain does not have, or data that is not a gavel memo, is a mismatch; an
      // endpoint that cannot be reached leaves the anchor unchecked.
      if (code === 'RPC' || code === 'USAGE') unreachable = true;
      problems.push(`cannot read ${ref.tx} from ${ref.chain} ${ref.network}: ${(err as Error).message}`);
    }
    if (ref.from !== 'ledger' && !ledgerTx.has(ref.tx) && ref.from === 'receipts')
      problems.push('this finalized anchor is missing from the ledger: the ledger was cut or rewritten');
    reads.push({ ref, memo, slot, final, explorer, problems, unreachable });
  }

  // The ledger's hashes up to the largest anchored size (and the entry asked for).
  const sizes = reads.map((r) => r.memo?.size ?? 0);
  const need = Math.max(0, ...sizes, o.seq === undefined ? 0 : o.seq + 1);
  const tree = new MemoryTree();
  const hashes: string[] = [];
  let origin: string | undefined;
  let size = 0;
  {
    const ledger = await Ledger.open(o.ledgerPath, { readOnly: true });
    try {
      size = ledger.size;
      const upTo = Math.min(Math.max(need, o.seq === undefined ? 0 : o.seq + 1, ...sizes), ledger.size);
      for await (const h of ledger.hashes(0, upTo)) {
        if (origin === undefined) origin = ledgerOrigin(h);
        hashes.push(h);
        tree.appendLeaf(leafHashHex(h));
      }
      if (origin === undefined && ledger.size > 0)
        for await (const h of ledger.hashes(0, 1)) origin = ledgerOrigin(h);
    } finally {
      await ledger.close();
    }
  }

  const anchors: AnchorCheck[] = reads.map(({ ref, memo, slot, final, explorer, problems, unreachable }) => {
    if (memo !== undefined) {
      const rec = ref.record;
      if (origin !== undefined && memo.origin !== origin && memo.origin !== rec?.checkpoint.origin)
        problems.push(`the chain's memo names origin ${memo.origin}, this ledger is ${origin}`);
      if (memo.size > size) {
        problems.push(
          `the ledger has ${size} entries but the anchor commits to ${memo.size}: the ledger was cut`,
        );
      } else if (memo.size > 0 && memo.size <= hashes.length) {
        const root = Buffer.from(tree.root(memo.size)).toString('hex');
        if (root !== memo.root)
          problems.push(
            `the ledger's root at size ${memo.size} is ${root}, the chain holds ${memo.root}: the first ${memo.size} entries were rewritten`,
          );
        if (hashes[memo.size - 1] !== memo.head)
          problems.push(
            `entry ${memo.size - 1} hashes to ${hashes[memo.size - 1]}, the chain holds head ${memo.head}`,
          );
      }
      if (
        rec !== undefined &&
        (rec.checkpoint.size !== memo.size || rec.checkpoint.root !== memo.root || rec.head !== memo.head)
      )
        problems.push("the ledger's anchor record does not match the transaction on chain");
      if (!lv.ok && lv.failedEntry !== undefined && lv.failedEntry <= memo.size)
        problems.push(
          `entry ${lv.failedEntry - 1}, inside the anchored range, fails verification (${lv.message})`,
        );
      if (final === false) problems.push('not final yet on chain');
    } else if (ref.record !== undefined) {
      // The chain could not be read, but the ledger's own record of the anchor still tells what the
      // ledger must contain: a ledger that no longer does is a mismatch whatever the chain says.
      const cp = ref.record.checkpoint;
      if (cp.size > size)
        problems.push(
          `the ledger has ${size} entries but its own record of this anchor covers ${cp.size}: cut`,
        );
      if (!lv.ok && lv.failedEntry !== undefined && lv.failedEntry <= cp.size)
        problems.push(
          `entry ${lv.failedEntry - 1}, inside the anchored range, fails verification (${lv.message})`,
        );
    }
    return {
      anchorId: ref.anchorId,
      target: ref.target,
      chain: ref.chain,
      network: ref.network,
      tx: ref.tx,
      size: memo?.size ?? null,
      slot,
      final,
      explorer,
      ok: problems.length === 0,
      status:
        problems.length === 0 ? 'ok' : unreachable && problems.length === 1 ? 'unreachable' : 'mismatch',
      problems,
    };
  });

  let inclusion: AnchorVerifyReport['inclusion'];
  if (o.seq !== undefined) {
    const cover = reads.find((r) => r.memo !== undefined && r.memo.size > (o.seq as number));
    if (cover?.memo === undefined) {
      inclusion = {
        seq: o.seq,
        anchorId: '',
        size: 0,
        ok: false,
        message: `no finalized anchor covers entry ${o.seq} yet`,
      };
    } else if (o.seq >= hashes.length) {
      inclusion = {
        seq: o.seq,
        anchorId: cover.ref.anchorId,
        size: cover.memo.size,
        ok: false,
        message: `the ledger has no entry ${o.seq}`,
      };
    } else {
      const m = cover.memo;
      const leaf = leafHashHex(hashes[o.seq] as string);
      const ok =
        m.size <= hashes.length &&
        verifyInclusion(leaf, o.seq, m.size, inclusionProof(tree, o.seq, m.size), Buffer.from(m.root, 'hex'));
      inclusion = {
        seq: o.seq,
        anchorId: cover.ref.anchorId,
        size: m.size,
        ok,
        message: ok
          ? `entry ${o.seq} is included in the ${m.size}-entry tree anchored by ${cover.ref.anchorId} (${cover.ref.tx})`
          : `entry ${o.seq} is not included under the root anchored by ${cover.ref.anchorId}`,
      };
    }
  }

  const bad = anchors.filter((a) => a.status === 'mismatch');
  const unchecked = anchors.filter((a) => a.status === 'unreachable');
  const ok =
    lv.ok && anchors.length > 0 && bad.length === 0 && unchecked.length === 0 && (inclusion?.ok ?? true);
  let message: string;
  if (anchors.length === 0)
    message = 'no finalized anchor to verify (is anchoring configured? gavel anchor status)';
  else if (bad.length > 0)
    message = bad
      .map(
        (a) =>
          `anchor ${a.anchorId} (${a.chain} ${a.network} ${a.tx}) no longer matches: ${a.problems.join('; ')}`,
      )
      .join('\n');
  else if (!lv.ok) message = `the ledger does not verify: ${lv.message}`;
  else if (unchecked.length > 0)
    message = unchecked
      .map(
        (a) =>
          `anchor ${a.anchorId} could not be checked (is the ${a.chain} ${a.network} endpoint up?): ${a.problems.join('; ')}`,
      )
      .join('\n');
  else if (inclusion !== undefined && !inclusion.ok) message = inclusion.message;
  else
    message = `${anchors.length} anchor(s) match the ledger (${size} entries)${inclusion ? `; ${inclusion.message}` : ''}`;
  return {
    ok,
    unreachable: !ok && bad.length === 0 && lv.ok && unchecked.length > 0,
    ledger: {
      path: o.ledgerPath,
      entries: size,
      ok: lv.ok,
      message: lv.message,
      keyedChecks: lv.keyedChecks,
    },
    anchors,
    inclusion,
    message,
  };
}
