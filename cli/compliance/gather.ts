// The I/O half of `gavel compliance report`: one pass over the ledger (read-only: no lock, a running
// daemon keeps writing), the verifier, the checkpoint and receipts files beside the ledger, and the
// constitution's gate table. What the report makes of these facts is report.ts (pure).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AnchorReceipt } from '../../anchor/index.js';
import {
  type Entry,
  Ledger,
  openCheckpoint,
  parseCheckpoint,
  type VerifierKey,
  verifyLedgerParallel,
} from '../../chain/index.js';
import type { Facts, GateSpec, PolicyRef } from './report.js';

export function loadGates(repo: string): GateSpec[] {
  const g = JSON.parse(readFileSync(path.join(repo, 'policies', 'constitution', 'gates.json'), 'utf8')) as {
    gates: GateSpec[];
  };
  return g.gates;
}

/** One pass over the ledger (plus a verify pass) collecting what the report needs. */
export async function gather(
  ledgerPath: string,
  o: {
    secret?: string;
    live?: PolicyRef[];
    liveLedger?: Facts['liveLedger'];
    verifiers?: VerifierKey[];
  },
): Promise<Facts> {
  // Receipts first: the daemon appends a receipt only after its anchor.finalized entry, so every
  // receipt read now has its entry in the ledger opened next (no false alarm on a live ledger).
  // `<ledger>.anchors` is anchor/verify.ts receiptsPath(); named here so that the report does not load
  // the anchor part (viem, web3.js: ~70 MB and ~0.3 s) for one file name.
  const receipts = readReceipts(`${ledgerPath}.anchors`);
  let ledger: Ledger | undefined;
  let openError: string | undefined;
  try {
    ledger = await Ledger.open(ledgerPath, { readOnly: true });
  } catch (err) {
    // A ledger damaged in the middle is a finding of the report (verification names the entry), not
    // a reason to print no report at all.
    if ((err as { code?: string }).code !== 'CORRUPT') throw err;
    openError = `the ledger cannot be read: ${(err as Error).message}`;
  }
  const f: Facts = {
    ledgerPath,
    entries: ledger?.size ?? 0,
    head: null,
    first: null,
    last: null,
    kinds: new Map(),
    decisions: new Map(),
    observed: new Map(),
    active: undefined,
    ledgerActive: undefined,
    live: o.live,
    liveLedger: o.liveLedger,
    recorded: new Set(),
    anchors: new Map(),
    anchorSeqs: new Set(),
    times: [],
    receipts,
    verify: { ok: false, message: '', keyedChecks: 0, sealed: false },
    readError: openError,
  };
  let read = 0;
  let active: PolicyRef[] | undefined;
  // Gates seen decided by each policy (`name sha256`): the gates of a policy deployed under a new name.
  const decidedBy = new Map<string, Set<string>>();
  try {
    if (ledger !== undefined)
      try {
        for await (const e of ledger.range(0, ledger.size)) {
          read++;
          const ts = Date.parse(String(e.timestamp));
          f.times.push(Number.isNaN(ts) ? (f.times[f.times.length - 1] ?? 0) : ts);
          f.first ??= e.timestamp;
          f.last = e.timestamp;
          f.head = e.hash;
          if (e.seal !== undefined) f.verify.sealed = true;
          f.kinds.set(e.kind, (f.kinds.get(e.kind) ?? 0) + 1);
          // Everything below reads ledger text that a forger may have shaped: no field is trusted to
          // have the catalogue's type (the hash chain alone does not prove who wrote it).
          const p = obj(e.payload);
          if (e.kind === 'gate.decision') {
            const gate = str(p.gate) ?? '(not a string)';
            const v = str(p.verdict) ?? '(not a string)';
            let row = f.decisions.get(gate);
            if (row === undefined) {
              row = new Map();
              f.decisions.set(gate, row);
            }
            row.set(v, (row.get(v) ?? 0) + 1);
            const ref = policyRef(p.policy);
            if (ref !== undefined) {
              f.observed.set(gate, ref);
              const key = `${ref.name} ${ref.sha256}`;
              let gs = decidedBy.get(key);
              if (gs === undefined) {
                gs = new Set();
                decidedBy.set(key, gs);
              }
              gs.add(gate);
            }
          } else if (e.kind === 'boot.config' && Array.isArray(p.policies)) {
            active = p.policies.map(policyRef).filter((x): x is PolicyRef => x !== undefined);
            for (const x of active) f.recorded.add(`${x.name} ${x.sha256}`);
          } else if (e.kind === 'policy.deployed' || e.kind === 'policy.rolledback') {
            // A deployment with no boot.config before it (a ledger cut at the front, or a foreign writer)
            // still tells which policy serves; the set is then what the deployments say.
            const step = policyRef(p);
            if (step !== undefined) {
              active ??= [];
              const prev = active.find((x) => x.name === step.name);
              const next = { ...step, gates: prev?.gates };
              f.recorded.add(`${next.name} ${next.sha256}`);
              active = [...active.filter((x) => x.name !== step.name), next];
            }
          } else if (e.kind.startsWith('anchor.')) foldAnchor(f, e);
        }
      } catch (err) {
        f.readError = `read stopped at entry ${read}: ${(err as Error).message}`;
      }
    for (const x of active ?? [])
      if (x.gates === undefined) x.gates = [...(decidedBy.get(`${x.name} ${x.sha256}`) ?? [])].sort();
    f.ledgerActive = active;
    f.active = o.live ?? active;
    // The checkpoint's root is recomputed by the verifier in the same pass (treeAt), not by holding
    // the whole tree here: a million-entry ledger would need gigabytes of node arrays.
    const cp = readCheckpoint(`${ledgerPath}.checkpoint`, o.verifiers);
    const treeAt = cp !== undefined && cp.error === undefined ? cp.size : undefined;
    const v = await verifyLedgerParallel(ledgerPath, { secret: o.secret, treeAt });
    f.verify = {
      ...f.verify,
      ok: v.ok,
      message: v.message,
      failedEntry: v.failedEntry,
      reason: v.reason,
      keyedChecks: v.keyedChecks,
    };
    if (cp !== undefined && treeAt !== undefined) {
      if (v.rootAt !== undefined) cp.matches = Buffer.from(v.rootAt).toString('hex') === cp.root;
      else if (v.ok) cp.matches = false; // the whole ledger verified and is shorter: it was cut
    }
    f.checkpoint = cp;
  } finally {
    await ledger?.close();
  }
  return f;
}

/** The last checkpoint signed for the ledger (kept beside it by `gavel audit checkpoint`), if any. */
function readCheckpoint(file: string, verifiers: VerifierKey[] | undefined): Facts['checkpoint'] {
  let note: string;
  try {
    note = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return unreadable((err as Error).message);
  }
  let cp: ReturnType<typeof parseCheckpoint>;
  try {
    // C2SP signed-note: the body ends at the first blank line; the signature lines follow.
    cp = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
  } catch (err) {
    return unreadable((err as Error).message);
  }
  const root = Buffer.from(cp.root).toString('hex');
  const out: NonNullable<Facts['checkpoint']> = {
    origin: cp.origin,
    size: cp.size,
    root,
    matches: undefined,
    signature: 'unchecked',
    signers: [],
  };
  if (verifiers !== undefined && verifiers.length > 0) {
    try {
      out.signers = openCheckpoint(note, verifiers).signers;
      out.signature = 'verified';
    } catch (err) {
      out.signature = 'bad';
      out.signatureError = (err as Error).message;
    }
  }
  return out;
}

function readReceipts(file: string): AnchorReceipt[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: AnchorReceipt[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as AnchorReceipt;
      if (typeof r.anchor_id === 'string' && typeof r.tx === 'string') out.push(r);
    } catch {
      // a torn last line (the daemon died appending): the ledger still has the anchor entries
    }
  }
  return out;
}

function unreadable(error: string): Facts['checkpoint'] {
  return { origin: '', size: 0, root: '', matches: undefined, error, signature: 'unchecked', signers: [] };
}

function foldAnchor(f: Facts, e: Entry): void {
  const p = obj(e.payload);
  f.anchorSeqs.add(e.seq);
  const target = str(p.target) ?? '(no target)';
  let a = f.anchors.get(target);
  if (a === undefined) {
    a = { target, chain: str(p.chain) ?? '?', network: str(p.network) ?? '?', states: new Map() };
    f.anchors.set(target, a);
  }
  const id = str(p.anchor_id) ?? `${target}/?`;
  const size = obj(p.checkpoint).size;
  const prev = a.states.get(id);
  a.states.set(id, {
    state: e.kind.slice('anchor.'.length),
    size: typeof size === 'number' ? size : (prev?.size ?? 0),
    tx: str(p.tx) ?? prev?.tx,
    slot: typeof p.slot === 'number' ? p.slot : prev?.slot,
    explorer: str(p.explorer) ?? prev?.explorer,
    at: String(e.timestamp),
    since: prev?.since ?? String(e.timestamp),
    reason: str(p.reason),
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/** A policy reference ({name, version, sha256, gates?}) from ledger text, or undefined without a name. */
function policyRef(v: unknown): PolicyRef | undefined {
  const o = obj(v);
  const name = str(o.name);
  if (name === undefined) return undefined;
  const gates = Array.isArray(o.gates)
    ? o.gates.filter((g): g is string => typeof g === 'string')
    : undefined;
  return { name, version: str(o.version) ?? '', sha256: str(o.sha256) ?? '', ...(gates ? { gates } : {}) };
}
