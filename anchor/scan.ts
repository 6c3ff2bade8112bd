// Reads the anchor.* entries of a ledger and folds them into one record per anchor (per target and
// checkpoint size). Ledger lines are canonical JSON (keys sorted), so `"kind":"anchor.` occurs in
// exactly the anchor lines: the scan parses only those, and a ledger of a million decisions is read
// at file speed. Used by the service (resume after a restart) and by verification.
import { createReadStream } from 'node:fs';
import type { Entry } from '../chain/index.js';

export type AnchorState = 'scheduled' | 'submitted' | 'confirmed' | 'finalized' | 'failed';

export interface AnchorRecord {
  anchorId: string;
  target: string;
  chain: string;
  network: string;
  checkpoint: { origin: string; size: number; root: string };
  head: string;
  state: AnchorState;
  /** Every transaction sent for it, in order (attempt, tx, extra). */
  sent: { tx: string; attempt: number; extra: Record<string, number | string> }[];
  tx?: string;
  slot?: number;
  fee?: string;
  explorer?: string;
  reason?: string;
  code?: string;
  /** seq and timestamp of each step's entry. */
  steps: { state: AnchorState; seq: number; timestamp: string }[];
}

const MARK = Buffer.from('"kind":"anchor.');

/** Yields the anchor.* entries of a ledger file, in order. */
export async function* anchorEntries(path: string): AsyncIterable<Entry> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (;;) {
      const hit = buf.indexOf(MARK, start);
      if (hit < 0) break;
      const nl = buf.indexOf(10, hit);
      if (nl < 0) break;
      const lineStart = buf.lastIndexOf(10, hit) + 1;
      if (lineStart >= start) {
        try {
          yield JSON.parse(buf.toString('utf8', lineStart, nl)) as Entry;
        } catch {
          // A torn or corrupt line is the ledger verifier's business, not the scan's.
        }
      }
      start = nl + 1;
    }
    const lastNl = buf.lastIndexOf(10);
    rest = Buffer.from(buf.subarray(Math.max(start, lastNl + 1)));
  }
}

/** Folds one anchor.* entry into the records (keyed by anchor_id). */
export function foldAnchorEntry(records: Map<string, AnchorRecord>, e: Entry): void {
  const p = e.payload as Record<string, unknown>;
  const id = typeof p.anchor_id === 'string' ? p.anchor_id : undefined;
  const state = e.kind.slice('anchor.'.length) as AnchorState;
  if (id === undefined) return;
  let r = records.get(id);
  const cp = p.checkpoint as AnchorRecord['checkpoint'] | undefined;
  if (r === undefined || state === 'scheduled') {
    if (cp === undefined) return;
    // A failed anchor may be scheduled again under the same id: start its record afresh.
    r = {
      anchorId: id,
      target: String(p.target),
      chain: String(p.chain),
      network: String(p.network),
      checkpoint: cp,
      head: String(p.head),
      state,
      sent: [],
      steps: [],
    };
    records.set(id, r);
  }
  r.state = state;
  r.steps.push({ state, seq: e.seq, timestamp: e.timestamp });
  if (typeof p.tx === 'string') r.tx = p.tx;
  if (state === 'submitted' && typeof p.tx === 'string')
    r.sent.push({
      tx: p.tx,
      attempt: typeof p.attempt === 'number' ? p.attempt : r.sent.length + 1,
      extra: (p.extra ?? {}) as Record<string, number | string>,
    });
  if (typeof p.slot === 'number') r.slot = p.slot;
  if (typeof p.fee === 'string') r.fee = p.fee;
  if (typeof p.explorer === 'string') r.explorer = p.explorer;
  if (typeof p.reason === 'string') r.reason = p.reason;
  if (typeof p.code === 'string') r.code = p.code;
}

/** Every anchor of a ledger file, keyed by anchor_id, in the order they were first scheduled. */
export async function scanAnchors(path: string): Promise<Map<string, AnchorRecord>> {
  const records = new Map<string, AnchorRecord>();
  for await (const e of anchorEntries(path)) foldAnchorEntry(records, e);
  return records;
}
