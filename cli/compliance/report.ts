// `gavel compliance report`: the ExoChain compliance page, generated from the live ledger instead of
// written by hand. One pass over the ledger gathers the facts (gather()); buildReport() turns them
// into sections of checks, each PASS, FAIL or INFO like the seed's audit tables.
//
// Rules (documented in the command's help and the README):
// - every gate of the constitution's inventory (policies/constitution/gates.json) must be served by
//   an active policy (FAIL otherwise). The active set is the daemon's /v1/status when asked, else the
//   last boot.config's policies updated by later policy.deployed / policy.rolledback entries;
// - the ledger must verify (FAIL at the first broken entry); seals are checked with the secret (INFO
//   when no secret is given);
//   With --daemon, every policy the daemon serves must have been recorded in the ledger (boot.config,
//   policy.deployed or policy.rolledback) and match the ledger's active set (FAIL otherwise: a policy
//   running without a ledger record is exactly what an auditor looks for). A policy deployed under a
//   new name, whose gates the ledger does not list, is taken to serve the gates it was seen deciding;
// - a signed checkpoint beside the ledger (`<ledger>.checkpoint`) must match the ledger, and its
//   signature must verify when verifier keys are given (--vkey, or the config's checkpoint key);
// - each anchor target must have a finalized anchor no older than N (default 3, --overdue-intervals)
//   intervals whenever the ledger grew after its last finalized anchor (FAIL: overdue; entries that
//   only record anchoring do not count as growth), and no anchor may sit scheduled, submitted or
//   confirmed longer than that (FAIL: stuck); anchor failures are listed (INFO);
// - mutating kinds of the catalogue never recorded are INFO, not FAIL: the catalogue is the whole
//   ExoChain inventory (hnsw.*, eml.*, ...) and a deployment that never trains a model is not out of
//   compliance for lacking eml.train entries; the list is still shown in the gaps for the auditor;
//   kinds outside the catalogue (other than custom.*) are FAIL.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type AnchorReceipt, receiptsPath } from '../../anchor/index.js';
import {
  type Entry,
  EVENT_KINDS,
  Ledger,
  leafHashHex,
  MemoryTree,
  openCheckpoint,
  parseCheckpoint,
  type VerifierKey,
  verifyLedgerParallel,
} from '../../chain/index.js';

export type Status = 'PASS' | 'FAIL' | 'INFO';

export interface Check {
  check: string;
  status: Status;
  detail: string;
}

export interface Section {
  id: string;
  title: string;
  /** A table of facts (header + rows), shown before the checks. */
  table?: { header: string[]; rows: (string | number)[][] };
  checks: Check[];
}

export interface Report {
  format: 'gavel.compliance/v1';
  generated_at: string;
  ledger: { path: string; entries: number; head: string | null; first: string | null; last: string | null };
  summary: { pass: number; fail: number; info: number; ok: boolean };
  sections: Section[];
}

interface GateSpec {
  gate: string;
  defaults: number[];
  thresholds: number[];
  l2: number;
  over: string;
  mutating: boolean;
}

interface PolicyRef {
  name: string;
  version: string;
  sha256: string;
  gates?: string[];
}

interface AnchorFacts {
  target: string;
  chain: string;
  network: string;
  states: Map<
    string,
    {
      state: string;
      size: number;
      tx?: string;
      slot?: number;
      explorer?: string;
      at: string;
      /** When the anchor first appeared (its first step): re-sends do not reset how long it has taken. */
      since: string;
      reason?: string;
    }
  >;
}

export interface Facts {
  ledgerPath: string;
  entries: number;
  head: string | null;
  first: string | null;
  last: string | null;
  kinds: Map<string, number>;
  decisions: Map<string, Map<string, number>>;
  /** Policy observed deciding each gate (the latest gate.decision's policy). */
  observed: Map<string, PolicyRef>;
  /** The serving set the report judges: the daemon's when asked, else the ledger's. */
  active: PolicyRef[] | undefined;
  /** The serving set according to the ledger alone (last boot.config + later deployments). */
  ledgerActive: PolicyRef[] | undefined;
  /** The daemon's serving set (/v1/status), when asked. */
  live: PolicyRef[] | undefined;
  /** The ledger the daemon writes (/v1/status), when asked. */
  liveLedger?: { path: string; size: number; head: string | null };
  /** `name sha256` of every policy the ledger records as configured, deployed or rolled back to. */
  recorded: Set<string>;
  anchors: Map<string, AnchorFacts>;
  /** Each entry's time (ms), by seq: how long entries have waited for an anchor. */
  times: number[];
  /** seq of every anchor.* entry (so growth by anchoring alone is not counted as growth). */
  anchorSeqs: Set<number>;
  /** Finalized anchors in the receipts file `<ledger>.anchors` (kept outside the ledger by the daemon). */
  receipts: AnchorReceipt[];
  verify: {
    ok: boolean;
    message: string;
    failedEntry?: number;
    /** What failed first: parse, hash, link, seq or seal (chain/verify-chunk.ts). */
    reason?: string;
    keyedChecks: number;
    sealed: boolean;
  };
  checkpoint?: {
    origin: string;
    size: number;
    root: string;
    matches: boolean | undefined;
    error?: string;
    /** verified: signed by a given key; unchecked: no keys given; bad: the signature check failed. */
    signature: 'verified' | 'unchecked' | 'bad';
    signers: string[];
    signatureError?: string;
  };
  /** The ledger could not be read to the end (the facts stop there; verification says why). */
  readError?: string;
}

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
  const receipts = readReceipts(receiptsPath(ledgerPath));
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
  const tree = new MemoryTree();
  let active: PolicyRef[] | undefined;
  // Gates seen decided by each policy (`name sha256`): the gates of a policy deployed under a new name.
  const decidedBy = new Map<string, Set<string>>();
  try {
    if (ledger !== undefined)
      try {
        for await (const e of ledger.range(0, ledger.size)) {
          tree.appendLeaf(leafHashHex(e.hash));
          f.times.push(Date.parse(e.timestamp));
          f.first ??= e.timestamp;
          f.last = e.timestamp;
          f.head = e.hash;
          if (e.seal !== undefined) f.verify.sealed = true;
          f.kinds.set(e.kind, (f.kinds.get(e.kind) ?? 0) + 1);
          const p = e.payload as Record<string, unknown>;
          if (e.kind === 'gate.decision') {
            const gate = String(p.gate);
            const v = String(p.verdict);
            let row = f.decisions.get(gate);
            if (row === undefined) {
              row = new Map();
              f.decisions.set(gate, row);
            }
            row.set(v, (row.get(v) ?? 0) + 1);
            if (p.policy !== null && typeof p.policy === 'object') {
              const ref = p.policy as PolicyRef;
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
            active = (p.policies as PolicyRef[]).map((x) => ({ ...x }));
            for (const x of active) f.recorded.add(`${x.name} ${x.sha256}`);
          } else if (e.kind === 'policy.deployed' || e.kind === 'policy.rolledback') {
            // A deployment with no boot.config before it (a ledger cut at the front, or a foreign writer)
            // still tells which policy serves; the set is then what the deployments say.
            active ??= [];
            const name = String(p.name);
            const prev = active.find((x) => x.name === name);
            const next = {
              name,
              version: String(p.version ?? ''),
              sha256: String(p.sha256 ?? ''),
              gates: prev?.gates,
            };
            f.recorded.add(`${next.name} ${next.sha256}`);
            active = [...active.filter((x) => x.name !== name), next];
          } else if (e.kind.startsWith('anchor.')) foldAnchor(f, e);
        }
      } catch (err) {
        f.readError = `read stopped at entry ${tree.size}: ${(err as Error).message}`;
      }
    for (const x of active ?? [])
      if (x.gates === undefined) x.gates = [...(decidedBy.get(`${x.name} ${x.sha256}`) ?? [])].sort();
    f.ledgerActive = active;
    f.active = o.live ?? active;
    const v = await verifyLedgerParallel(ledgerPath, { secret: o.secret });
    f.verify = {
      ...f.verify,
      ok: v.ok,
      message: v.message,
      failedEntry: v.failedEntry,
      reason: v.reason,
      keyedChecks: v.keyedChecks,
    };
    f.checkpoint = readCheckpoint(`${ledgerPath}.checkpoint`, tree, o.verifiers);
  } finally {
    await ledger?.close();
  }
  return f;
}

/** The last checkpoint signed for the ledger (kept beside it by `gavel audit checkpoint`), if any. */
function readCheckpoint(
  file: string,
  tree: MemoryTree,
  verifiers: VerifierKey[] | undefined,
): Facts['checkpoint'] {
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
    matches: cp.size <= tree.size ? Buffer.from(tree.root(cp.size)).toString('hex') === root : false,
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
  const p = e.payload as Record<string, unknown>;
  f.anchorSeqs.add(e.seq);
  const target = String(p.target);
  let a = f.anchors.get(target);
  if (a === undefined) {
    a = { target, chain: String(p.chain), network: String(p.network), states: new Map() };
    f.anchors.set(target, a);
  }
  const id = String(p.anchor_id);
  const cp = p.checkpoint as { size?: number } | undefined;
  const prev = a.states.get(id);
  a.states.set(id, {
    state: e.kind.slice('anchor.'.length),
    size: cp?.size ?? prev?.size ?? 0,
    tx: typeof p.tx === 'string' ? p.tx : prev?.tx,
    slot: typeof p.slot === 'number' ? p.slot : prev?.slot,
    explorer: typeof p.explorer === 'string' ? p.explorer : prev?.explorer,
    at: e.timestamp,
    since: prev?.since ?? e.timestamp,
    reason: typeof p.reason === 'string' ? p.reason : undefined,
  });
}

function neverRecorded(never: string[], of: number): Check {
  return {
    check: 'mutating kinds recorded',
    status: 'INFO',
    detail:
      never.length === 0
        ? 'every mutating kind of the catalogue was recorded'
        : `${never.length} of ${of} never recorded: ${never.join(', ')}`,
  };
}

const describeSet = (ps: PolicyRef[]) =>
  ps.length === 0
    ? 'no policy'
    : ps
        .map((p) => {
          const n = p.gates?.length ?? 0;
          return `${p.name} ${p.version} (${p.sha256.slice(0, 12)}, ${n} gate${n === 1 ? '' : 's'})`;
        })
        .join('; ');

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

export function buildReport(
  f: Facts,
  gates: GateSpec[],
  o: { now: Date; intervalS: Record<string, number>; defaultIntervalS: number; overdueIntervals?: number },
): Report {
  const times = o.overdueIntervals ?? 3;
  const sections: Section[] = [];
  const served = new Map<string, PolicyRef>();
  for (const p of f.active ?? []) for (const g of p.gates ?? []) served.set(g, p);

  // 1. Gate inventory.
  sections.push({
    id: 'gates',
    title: 'Gate inventory',
    table: {
      header: [
        'gate',
        'defaults (r f p n s)',
        'thresholds (r f p n s)',
        'l2',
        'over',
        'mutating',
        'served by',
      ],
      rows: gates.map((g) => {
        const p = served.get(g.gate) ?? f.observed.get(g.gate);
        return [
          g.gate,
          g.defaults.map(fmt).join(' '),
          g.thresholds.map(fmt).join(' '),
          fmt(g.l2),
          g.over,
          g.mutating ? 'yes' : 'no',
          p === undefined ? '-' : `${p.name} ${p.version} (${p.sha256.slice(0, 12)})`,
        ];
      }),
    },
    checks: gates.map((g) => {
      const p = served.get(g.gate);
      if (p !== undefined)
        return {
          check: `gate ${g.gate} is served`,
          status: 'PASS',
          detail: `${p.name} ${p.version} sha256 ${p.sha256}`,
        };
      const seen = f.observed.get(g.gate);
      return {
        check: `gate ${g.gate} is served`,
        status: 'FAIL',
        detail:
          f.active === undefined
            ? 'no active policy set is known (no boot.config in the ledger; give --daemon for the live set)'
            : `no active policy serves this gate${seen ? ` (last decided by ${seen.name} ${seen.version})` : ''}`,
      };
    }),
  });
  const gateChecks = (sections[0] as Section).checks;
  gateChecks.unshift({
    check: 'serving policy set',
    status: 'INFO',
    detail:
      f.live !== undefined
        ? `from the running daemon: ${describeSet(f.live)}`
        : f.ledgerActive !== undefined
          ? `from the ledger: ${describeSet(f.ledgerActive)}`
          : 'unknown: no boot.config or deployment in the ledger',
  });
  if (f.liveLedger !== undefined)
    gateChecks.push({
      check: 'daemon ledger',
      status: 'INFO',
      detail:
        path.resolve(f.liveLedger.path) === path.resolve(f.ledgerPath)
          ? `the daemon writes this ledger (${f.liveLedger.size} entries when asked)`
          : `the daemon writes ${f.liveLedger.path}, not the ledger of this report: its live policies are compared with this ledger's record`,
    });
  if (f.live !== undefined) {
    // A policy serving gates with no ledger record of its deployment is what an audit must catch.
    for (const p of [...f.live].sort((a, b) => a.name.localeCompare(b.name))) {
      const recorded = f.recorded.has(`${p.name} ${p.sha256}`);
      const inLedger = f.ledgerActive?.find((x) => x.name === p.name);
      gateChecks.push({
        check: `live policy ${p.name} ${p.version} is the ledger's`,
        status: recorded && inLedger?.sha256 === p.sha256 ? 'PASS' : 'FAIL',
        detail: !recorded
          ? `sha256 ${p.sha256} was never recorded as configured, deployed or rolled back to`
          : inLedger === undefined
            ? 'the ledger does not list it as active'
            : inLedger.sha256 !== p.sha256
              ? `the ledger's active version is ${inLedger.version} (${inLedger.sha256.slice(0, 12)})`
              : `recorded, sha256 ${p.sha256}`,
      });
    }
    for (const p of f.ledgerActive ?? [])
      if (!f.live.some((x) => x.name === p.name))
        gateChecks.push({
          check: `ledger policy ${p.name} ${p.version} is live`,
          status: 'FAIL',
          detail: 'active according to the ledger, but the daemon does not serve it (no rollback recorded)',
        });
  }

  // 2. Decisions by gate and verdict.
  const verdicts = ['permit', 'permit-with-warning', 'escalate', 'deny'];
  const decided = [...f.decisions.entries()].sort(([a], [b]) => a.localeCompare(b));
  const inventory = new Set(gates.map((g) => g.gate));
  sections.push({
    id: 'decisions',
    title: 'Decisions by gate and verdict',
    table: {
      header: ['gate', ...verdicts, 'total'],
      rows: decided.map(([gate, row]) => [
        gate,
        ...verdicts.map((v) => row.get(v) ?? 0),
        [...row.values()].reduce((s, n) => s + n, 0),
      ]),
    },
    checks: [
      {
        check: 'decisions recorded',
        status: 'INFO',
        detail: `${decided.reduce((s, [, r]) => s + [...r.values()].reduce((a, b) => a + b, 0), 0)} decisions on ${decided.length} gates`,
      },
      ...decided
        .filter(([gate]) => !inventory.has(gate))
        .map(([gate]) => ({
          check: `gate ${gate} is in the inventory`,
          status: 'INFO' as Status,
          detail: 'decided by a policy outside the constitution',
        })),
    ],
  });

  // 3. Event kinds against the catalogue.
  const catalogue = Object.entries(EVENT_KINDS);
  const seen = catalogue.filter(([k]) => (f.kinds.get(k) ?? 0) > 0);
  const unknown = [...f.kinds.keys()].filter((k) => EVENT_KINDS[k] === undefined && !k.startsWith('custom.'));
  sections.push({
    id: 'kinds',
    title: 'Event kinds against the catalogue',
    table: {
      header: ['kind', 'mutating', 'entries'],
      rows: [
        ...catalogue.map(([k, s]) => [k, s.mutating ? 'yes' : 'no', f.kinds.get(k) ?? 0]),
        ...[...f.kinds.entries()].filter(([k]) => k.startsWith('custom.')).map(([k, n]) => [k, '-', n]),
      ],
    },
    checks: [
      {
        check: 'catalogue coverage',
        status: 'INFO',
        detail: `${seen.length} of ${catalogue.length} kinds recorded (${Math.round((100 * seen.length) / catalogue.length)} %)`,
      },
      neverRecorded(
        catalogue.filter(([k, x]) => x.mutating && (f.kinds.get(k) ?? 0) === 0).map(([k]) => k),
        catalogue.filter(([, x]) => x.mutating).length,
      ),
      {
        check: 'every kind is in the catalogue',
        status: unknown.length === 0 ? 'PASS' : 'FAIL',
        detail: unknown.length === 0 ? 'yes (custom.* aside)' : `not in the catalogue: ${unknown.join(', ')}`,
      },
    ],
  });

  // 4. Ledger verification. The verifier counts entries from 1; the report names them by seq.
  const at = f.verify.failedEntry === undefined ? '?' : String(f.verify.failedEntry - 1);
  sections.push({
    id: 'verification',
    title: 'Ledger verification',
    checks: [
      ...(f.readError === undefined
        ? []
        : [
            {
              check: 'ledger readable',
              status: 'FAIL' as Status,
              detail: f.readError,
            },
          ]),
      {
        check: 'hash chain intact',
        status: f.verify.ok ? 'PASS' : 'FAIL',
        detail: f.verify.ok
          ? f.verify.message
          : f.verify.reason === 'seal'
            ? `intact up to entry ${at}, where verification stopped on its seal`
            : `${f.verify.message} (entry ${at})`,
      },
      f.verify.ok && f.verify.keyedChecks > 0
        ? {
            check: 'seals verified',
            status: 'PASS',
            detail: `${f.verify.keyedChecks} seals checked with the operator secret`,
          }
        : f.verify.reason === 'seal'
          ? // Hashes that chain but a seal that fails: rewritten by someone without the operator secret.
            { check: 'seals verified', status: 'FAIL', detail: `${f.verify.message} (entry ${at})` }
          : {
              check: 'seals verified',
              status: 'INFO',
              detail: !f.verify.ok
                ? `${f.verify.keyedChecks} seals checked before verification stopped at entry ${at}`
                : f.verify.sealed
                  ? 'sealed, not checked: give --secret-file'
                  : 'the ledger is not sealed',
            },
    ],
  });

  // 5. Checkpoints and anchors.
  const cpChecks: Check[] = [];
  if (f.checkpoint === undefined)
    cpChecks.push({
      check: 'signed checkpoint',
      status: 'INFO',
      detail: `no ${path.basename(f.ledgerPath)}.checkpoint beside the ledger`,
    });
  else if (f.checkpoint.error !== undefined)
    cpChecks.push({
      check: 'signed checkpoint',
      status: 'FAIL',
      detail: `unreadable: ${f.checkpoint.error}`,
    });
  else {
    cpChecks.push({
      check: `checkpoint at size ${f.checkpoint.size} matches the ledger`,
      status: f.checkpoint.matches ? 'PASS' : 'FAIL',
      detail: f.checkpoint.matches
        ? `${f.checkpoint.origin} root ${f.checkpoint.root}`
        : 'the ledger no longer has this root: cut or rewritten',
    });
    cpChecks.push(
      f.checkpoint.signature === 'verified'
        ? {
            check: 'checkpoint signature',
            status: 'PASS',
            detail: `signed by ${f.checkpoint.signers.join(', ')}`,
          }
        : f.checkpoint.signature === 'bad'
          ? { check: 'checkpoint signature', status: 'FAIL', detail: f.checkpoint.signatureError ?? '' }
          : {
              check: 'checkpoint signature',
              status: 'INFO',
              detail: 'not checked: give --vkey (or --config with a checkpoint key)',
            },
    );
  }
  const anchorRows: (string | number)[][] = [];
  const now = o.now.getTime();
  for (const a of [...f.anchors.values()].sort((x, y) => x.target.localeCompare(y.target))) {
    const interval = (o.intervalS[a.target] ?? o.defaultIntervalS) * 1000;
    const ids = [...a.states.entries()];
    for (const [id, s] of ids)
      anchorRows.push([
        id,
        `${a.chain} ${a.network}`,
        s.state,
        s.slot ?? '',
        s.tx ?? '',
        s.explorer ?? '',
        s.at,
      ]);
    const fin = ids.filter(([, s]) => s.state === 'finalized').sort((x, y) => x[1].size - y[1].size);
    const last = fin[fin.length - 1]?.[1];
    // Overdue is measured from the oldest entry no finalized anchor covers (anchor.* entries aside):
    // a ledger quiet for a day and written to a second ago is not overdue, one waiting N intervals is.
    let grew = 0;
    let pendingSince: number | undefined;
    for (let seq = last?.size ?? 0; seq < f.entries; seq++)
      if (!f.anchorSeqs.has(seq)) {
        grew++;
        pendingSince ??= f.times[seq];
      }
    const waited = pendingSince === undefined ? 0 : now - pendingSince;
    const overdue = grew > 0 && waited > times * interval;
    const lastText =
      last === undefined ? 'no finalized anchor' : `last finalized ${last.at} at size ${last.size}`;
    const waiting =
      pendingSince === undefined
        ? ''
        : `${grew} entries not anchored, the oldest from ${new Date(pendingSince).toISOString()} (${Math.round(waited / 1000)} s ago)`;
    cpChecks.push({
      check: `anchors on ${a.target} are current`,
      status: overdue ? 'FAIL' : 'PASS',
      detail: overdue
        ? `overdue: ${waiting}; ${lastText}; interval ${interval / 1000} s, due within ${times} intervals`
        : grew === 0
          ? `${lastText} (${last?.tx ?? ''}): covers the ledger`
          : `${lastText}; ${waiting}, due within ${times} intervals of ${interval / 1000} s`,
    });
    const unfinished = ids.filter(
      ([, s]) =>
        ['scheduled', 'submitted', 'confirmed'].includes(s.state) &&
        now - Date.parse(s.since) > times * interval,
    );
    // One left behind by a later finalized anchor that covers as much is history, not a stuck anchor.
    const superseded = unfinished.filter(([, s]) => last !== undefined && last.size >= s.size);
    const stuck = unfinished.filter((x) => !superseded.includes(x));
    for (const [id, s] of superseded)
      cpChecks.push({
        check: `anchor ${id} never finished`,
        status: 'INFO',
        detail: `left ${s.state} at ${s.at}; superseded by the finalized anchor at size ${last?.size}`,
      });
    cpChecks.push({
      check: `no unfinished anchor on ${a.target}`,
      status: stuck.length === 0 ? 'PASS' : 'FAIL',
      detail:
        stuck.length === 0
          ? 'none'
          : stuck.map(([id, s]) => `${id} ${s.state} (${s.at}), unfinished since ${s.since}`).join('; '),
    });
    for (const [id, s] of ids.filter(([, x]) => x.state === 'failed'))
      cpChecks.push({ check: `anchor ${id} failed`, status: 'INFO', detail: s.reason ?? '' });
  }
  if (f.receipts.length > 0) {
    // A receipt with no matching anchor.finalized entry means anchor entries were removed from the
    // ledger, or the ledger was cut below an anchored size (the chain still has the transaction).
    const missing = f.receipts.filter((r) => {
      const s = f.anchors.get(r.target)?.states.get(r.anchor_id);
      return s === undefined || s.state !== 'finalized' || s.tx !== r.tx || r.size > f.entries;
    });
    cpChecks.push({
      check: `anchor receipts (${path.basename(f.ledgerPath)}.anchors) are in the ledger`,
      status: missing.length === 0 ? 'PASS' : 'FAIL',
      detail:
        missing.length === 0
          ? `${f.receipts.length} finalized anchors, each recorded in the ledger`
          : `not in the ledger (entries removed or the ledger cut): ${missing.map((r) => `${r.anchor_id} ${r.tx}`).join('; ')}`,
    });
  }
  for (const t of Object.keys(o.intervalS))
    if (
      !f.anchors.has(t) &&
      f.first !== null &&
      now - Date.parse(f.first) > times * (o.intervalS[t] as number) * 1000
    )
      cpChecks.push({
        check: `anchors on ${t} are current`,
        status: 'FAIL',
        detail: 'configured, but never anchored',
      });
  if (f.anchors.size === 0 && Object.keys(o.intervalS).length === 0)
    cpChecks.push({
      check: 'anchoring',
      status: 'INFO',
      detail: 'no anchor entries and no anchor targets configured',
    });
  sections.push({
    id: 'anchors',
    title: 'Checkpoints and anchors',
    table: { header: ['anchor', 'chain', 'state', 'slot / block', 'tx', 'explorer', 'at'], rows: anchorRows },
    checks: cpChecks,
  });

  const all = sections.flatMap((s) => s.checks);
  const count = (st: Status) => all.filter((c) => c.status === st).length;
  // Gaps: every FAIL above, and the mutating kinds never recorded, in one list (not counted twice).
  sections.push({
    id: 'gaps',
    title: 'Gaps',
    checks: [
      ...all.filter((c) => c.status === 'FAIL'),
      ...all.filter((c) => c.check === 'mutating kinds recorded'),
    ],
  });
  return {
    format: 'gavel.compliance/v1',
    generated_at: o.now.toISOString(),
    ledger: { path: f.ledgerPath, entries: f.entries, head: f.head, first: f.first, last: f.last },
    summary: { pass: count('PASS'), fail: count('FAIL'), info: count('INFO'), ok: count('FAIL') === 0 },
    sections,
  };
}
