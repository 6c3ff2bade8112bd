// The anchoring service: every interval in which the ledger grew (and on demand), each target anchors
// the current checkpoint. Each step is a ledger entry, written before the step's effect can be lost:
//   anchor.scheduled  -> the checkpoint (origin, size, root) and head hash to anchor
//   anchor.submitted  -> a signed transaction, recorded BEFORE it is broadcast (one per attempt)
//   anchor.confirmed  -> included (Solana `confirmed`, Base: receipt), with slot/block and fee
//   anchor.finalized  -> final: the anchor is complete
//   anchor.failed     -> could not be done (balance, spend cap, fee cap, key), with the reason
// A restarted service reads these entries back (anchor/scan.ts) and resumes every unfinished anchor
// with the transactions already sent, so a kill between submit and confirm never pays twice beyond
// the targets' documented retry rules. RPC errors back off (doubling, capped) and retry; the other
// errors end the anchor as failed and the next interval schedules a fresh one.
import { appendFile } from 'node:fs/promises';
import type { Entry, EntryInput } from '../chain/index.js';
import { AnchorError } from './errors.js';
import type { AnchorMemo } from './memo.js';
import { type AnchorRecord, foldAnchorEntry, scanAnchors } from './scan.js';
import type { AnchorTarget, Included, SentTx } from './target.js';
import { type AnchorReceipt, receiptsPath } from './verify.js';

export interface AnchorSnapshot {
  origin: string;
  size: number;
  /** RFC 6962 root of the first `size` entries, 64 hex. */
  root: string;
  /** Hash of entry size-1. */
  head: string;
}

/** What the service needs from the daemon: the ledger writer and a view of its current checkpoint. */
export interface AnchorHost {
  ledgerPath: string;
  append(input: EntryInput): Promise<Entry>;
  /** The checkpoint to anchor now (undefined while the ledger is empty). */
  snapshot(): Promise<AnchorSnapshot | undefined>;
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export interface TargetSpec {
  /** Name in the config (e.g. "solana-devnet"); part of every anchor id. */
  name: string;
  target: AnchorTarget;
  intervalMs: number;
  /** Most lamports / wei this target may spend per UTC day (confirmed fees); none when undefined. */
  dailyCap?: bigint;
  /** Refuse to anchor below this balance (lamports / wei). */
  minBalance?: bigint;
}

export interface AnchorServiceOptions {
  /** First RPC retry delay (default 1,000 ms), doubled up to `backoffMaxMs` (default 60,000 ms). */
  backoffMs?: number;
  backoffMaxMs?: number;
  /** How often to ask whether a confirmed anchor is final (default 2,000 ms). */
  finalityPollMs?: number;
}

export interface TargetStatus {
  name: string;
  chain: string;
  network: string;
  address: string;
  intervalMs: number;
  busy: boolean;
  last?: Pick<AnchorRecord, 'anchorId' | 'state' | 'tx' | 'slot' | 'explorer' | 'reason' | 'checkpoint'>;
  lastFinalized?: Pick<AnchorRecord, 'anchorId' | 'tx' | 'slot' | 'explorer' | 'checkpoint'> & { at: string };
  lastError?: string;
  spentToday: string;
  retries: number;
}

class Worker {
  timer: NodeJS.Timeout | undefined;
  wakeUp: (() => void) | undefined;
  running: Promise<void> | undefined;
  last: AnchorRecord | undefined;
  lastFinalized: AnchorRecord | undefined;
  lastError: string | undefined;
  retries = 0;
  busy = false;
  demanded = false;
  constructor(readonly spec: TargetSpec) {}
}

const dayOf = (iso: string) => iso.slice(0, 10);

export class AnchorService {
  private readonly records = new Map<string, AnchorRecord>();
  private readonly workers: Worker[];
  private readonly stopper = new AbortController();
  private started = false;

  constructor(
    private readonly host: AnchorHost,
    specs: TargetSpec[],
    private readonly o: AnchorServiceOptions = {},
  ) {
    const names = new Set<string>();
    for (const s of specs) {
      if (names.has(s.name)) throw new AnchorError('BAD_CONFIG', `two anchor targets are named ${s.name}`);
      names.add(s.name);
    }
    this.workers = specs.map((s) => new Worker(s));
  }

  /** Reads the ledger's anchor entries, then runs one loop per target (resuming what is unfinished). */
  async start(): Promise<void> {
    for (const [id, r] of await scanAnchors(this.host.ledgerPath)) this.records.set(id, r);
    for (const w of this.workers) {
      for (const r of this.records.values()) {
        if (r.target !== w.spec.name) continue;
        w.last = r;
        if (r.state === 'finalized') w.lastFinalized = r;
      }
      w.running = this.loop(w);
    }
    this.started = true;
  }

  /**
   * Anchors now on every target: an anchor in flight is finished first, then one of the current
   * head follows. Resolves with the targets and the ledger size the new anchors will cover at least.
   */
  async anchorNow(): Promise<{ targets: string[]; size: number }> {
    const size = (await this.host.snapshot())?.size ?? 0;
    const targets: string[] = [];
    for (const w of this.workers) {
      w.demanded = true;
      targets.push(w.spec.name);
      w.wakeUp?.();
    }
    return { targets, size };
  }

  status(): TargetStatus[] {
    const today = dayOf(new Date().toISOString());
    return this.workers.map((w) => ({
      name: w.spec.name,
      chain: w.spec.target.chain,
      network: w.spec.target.network,
      address: w.spec.target.address,
      intervalMs: w.spec.intervalMs,
      busy: w.busy,
      last:
        w.last === undefined
          ? undefined
          : {
              anchorId: w.last.anchorId,
              state: w.last.state,
              tx: w.last.tx,
              slot: w.last.slot,
              explorer: w.last.explorer,
              reason: w.last.reason,
              checkpoint: w.last.checkpoint,
            },
      lastFinalized:
        w.lastFinalized === undefined
          ? undefined
          : {
              anchorId: w.lastFinalized.anchorId,
              tx: w.lastFinalized.tx,
              slot: w.lastFinalized.slot,
              explorer: w.lastFinalized.explorer,
              checkpoint: w.lastFinalized.checkpoint,
              at: w.lastFinalized.steps[w.lastFinalized.steps.length - 1]?.timestamp ?? '',
            },
      lastError: w.lastError,
      spentToday: this.spent(w.spec.name, today).toString(),
      retries: w.retries,
    }));
  }

  /** Every anchor record (from the ledger and this run). */
  anchors(): AnchorRecord[] {
    return [...this.records.values()];
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    for (const w of this.workers) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.wakeUp?.();
    }
    await Promise.all(this.workers.map((w) => w.running));
  }

  get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private spent(target: string, day: string): bigint {
    let sum = 0n;
    for (const r of this.records.values()) {
      if (r.target !== target || r.fee === undefined) continue;
      const confirmed = r.steps.find((s) => s.state === 'confirmed');
      if (confirmed !== undefined && dayOf(confirmed.timestamp) === day) sum += BigInt(r.fee);
    }
    return sum;
  }

  private sleep(w: Worker, ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      w.timer = setTimeout(() => {
        w.wakeUp = undefined;
        resolve();
      }, ms);
      w.wakeUp = () => {
        if (w.timer !== undefined) clearTimeout(w.timer);
        w.wakeUp = undefined;
        resolve();
      };
    });
  }

  private async loop(w: Worker): Promise<void> {
    let first = true;
    while (!this.stopped) {
      if (!first && !w.demanded) await this.sleep(w, w.spec.intervalMs);
      first = false;
      if (this.stopped) break;
      w.busy = true;
      try {
        await this.cycle(w);
      } catch (err) {
        // Only the ledger failing lands here (a target's errors are handled in drive()).
        w.lastError = (err as Error).message;
        this.host.log?.warn({ target: w.spec.name, err: w.lastError }, 'anchor cycle failed');
        if (!this.stopped) await this.sleep(w, this.o.backoffMaxMs ?? 60_000);
      } finally {
        w.busy = false;
      }
    }
  }

  private async cycle(w: Worker): Promise<void> {
    const last = w.last;
    if (
      last !== undefined &&
      (last.state === 'scheduled' || last.state === 'submitted' || last.state === 'confirmed')
    ) {
      await this.drive(w, last);
      return;
    }
    // A demand is used up here, not by finishing an anchor already in flight (above).
    const demanded = w.demanded;
    w.demanded = false;
    const snap = await this.host.snapshot();
    if (snap === undefined || snap.size === 0) return;
    if (last !== undefined) {
      if (last.state === 'finalized' && last.checkpoint.size >= snap.size) return;
      // The anchor's own entries grow the ledger too: anchoring them alone would send a transaction
      // every interval forever. They are covered by the next anchor that real entries trigger. The
      // same holds after a failure: it is tried again when real entries arrive, or on demand.
      if (!demanded && this.onlyOwnEntries(last.checkpoint.size, snap.size)) return;
    }
    const anchorId = `${w.spec.name}/${snap.size}`;
    await this.step(w, undefined, 'scheduled', {
      anchor_id: anchorId,
      checkpoint: { origin: snap.origin, size: snap.size, root: snap.root },
      head: snap.head,
    });
    await this.drive(w, this.records.get(anchorId) as AnchorRecord);
  }

  /** Whether entries from..to-1 are all anchor entries this service wrote. */
  private onlyOwnEntries(from: number, to: number): boolean {
    const own = new Set<number>();
    for (const r of this.records.values()) for (const s of r.steps) own.add(s.seq);
    for (let seq = from; seq < to; seq++) if (!own.has(seq)) return false;
    return true;
  }

  private async step(
    w: Worker,
    r: AnchorRecord | undefined,
    state: AnchorRecord['state'],
    extra: Record<string, unknown>,
  ): Promise<void> {
    const anchorId = String(r?.anchorId ?? extra.anchor_id);
    const payload: Record<string, unknown> = {
      target: w.spec.name,
      chain: w.spec.target.chain,
      network: w.spec.target.network,
      anchor_id: anchorId,
      checkpoint: r?.checkpoint ?? extra.checkpoint,
      head: r?.head ?? extra.head,
      ...extra,
    };
    const e = await this.host.append({
      kind: `anchor.${state}`,
      source: 'daemon',
      agent: 'gavel',
      component: 'anchor',
      action: state,
      detail: detailOf(state, w.spec.name, payload),
      outcome: state === 'failed' ? 'failed' : 'ok',
      payload,
    });
    foldAnchorEntry(this.records, e);
    w.last = this.records.get(anchorId);
    if (state === 'finalized') w.lastFinalized = w.last;
  }

  private backoff(attempt: number): number {
    return Math.min((this.o.backoffMs ?? 1000) * 2 ** Math.min(attempt, 16), this.o.backoffMaxMs ?? 60_000);
  }

  /** Takes one anchor from whatever state it is in to finalized (or failed). */
  private async drive(w: Worker, r: AnchorRecord): Promise<void> {
    const t = w.spec.target;
    const memo: AnchorMemo = {
      origin: r.checkpoint.origin,
      size: r.checkpoint.size,
      root: r.checkpoint.root,
      head: r.head,
    };
    let inc: Included | undefined =
      r.state === 'confirmed' && r.tx !== undefined && r.slot !== undefined
        ? { tx: r.tx, slot: r.slot, fee: r.fee ?? '0' }
        : undefined;
    let failures = 0;
    while (inc === undefined) {
      if (this.stopped) return;
      try {
        if (r.sent.length === 0) await this.preflight(w);
        inc = await t.submit(memo, {
          prior: r.sent as SentTx[],
          signal: this.stopper.signal,
          onSent: async (s) => {
            await this.step(w, r, 'submitted', { tx: s.tx, attempt: s.attempt, extra: s.extra });
          },
        });
      } catch (err) {
        if (this.stopped) return;
        const e = err as AnchorError;
        w.lastError = e.message;
        if (!retryable(e.code)) {
          await this.step(w, r, 'failed', { reason: e.message, code: e.code ?? 'ERROR' });
          return;
        }
        w.retries++;
        this.host.log?.warn(
          { target: w.spec.name, anchor: r.anchorId, err: e.message },
          'anchor RPC error; retrying',
        );
        await this.sleep(w, this.backoff(failures++));
      }
    }
    if (r.state !== 'confirmed')
      await this.step(w, r, 'confirmed', { tx: inc.tx, slot: inc.slot, fee: inc.fee, ...(inc.extra ?? {}) });
    failures = 0;
    for (;;) {
      if (this.stopped) return;
      try {
        if (await t.isFinal(inc)) break;
        await this.sleep(w, this.o.finalityPollMs ?? 2000);
      } catch (err) {
        if (this.stopped) return;
        w.lastError = (err as Error).message;
        w.retries++;
        await this.sleep(w, this.backoff(failures++));
      }
    }
    const explorer = t.explorer(inc.tx);
    await this.step(w, r, 'finalized', {
      tx: inc.tx,
      slot: inc.slot,
      ...(explorer === undefined ? {} : { explorer }),
    });
    w.lastError = undefined;
    // The receipts file keeps finalized anchors outside the ledger, so cutting the ledger's anchor
    // entries away does not hide that the anchor was made (anchor/verify.ts reads it).
    const receipt: AnchorReceipt = {
      anchor_id: r.anchorId,
      target: w.spec.name,
      chain: t.chain,
      network: t.network,
      tx: inc.tx,
      size: r.checkpoint.size,
      slot: inc.slot,
    };
    await appendFile(receiptsPath(this.host.ledgerPath), `${JSON.stringify(receipt)}\n`, { mode: 0o640 });
    this.host.log?.info({ target: w.spec.name, anchor: r.anchorId, tx: inc.tx }, 'anchor finalized');
  }

  /** Balance and spend cap, checked before a fresh (never-sent) anchor. */
  private async preflight(w: Worker): Promise<void> {
    const { dailyCap, minBalance, target } = w.spec;
    if (dailyCap !== undefined) {
      const spent = this.spent(w.spec.name, dayOf(new Date().toISOString()));
      if (spent >= dailyCap)
        throw new AnchorError(
          'SPEND_CAP',
          `${w.spec.name} spent ${spent} of its daily cap ${dailyCap} today (UTC); anchoring resumes tomorrow`,
        );
    }
    if (minBalance !== undefined) {
      const b = await target.balance();
      if (b < minBalance)
        throw new AnchorError(
          'BALANCE',
          `${target.address} holds ${b}, below the configured minimum ${minBalance}`,
        );
    }
  }

  /** True once started (for the daemon's status). */
  get running(): boolean {
    return this.started && !this.stopped;
  }
}

/** RPC failures (and a transaction that could not land yet) are retried; the rest end the anchor. */
function retryable(code: string | undefined): boolean {
  return code === 'RPC' || code === 'EXPIRED' || code === 'VALIDATOR' || code === undefined;
}

function detailOf(state: string, target: string, p: Record<string, unknown>): string {
  const cp = p.checkpoint as { size: number } | undefined;
  switch (state) {
    case 'scheduled':
      return `anchor ${cp?.size ?? '?'} entries on ${target}`;
    case 'submitted':
      // No tx id in free text: it looks like a key to the secret scanner (payload.tx is a digest field).
      return `sent the anchor transaction (attempt ${p.attempt})`;
    case 'confirmed':
      return `included at ${p.slot}, fee ${p.fee}`;
    case 'finalized':
      return `final at ${p.slot}`;
    default:
      return `failed: ${String(p.reason ?? '')}`.slice(0, 500);
  }
}
