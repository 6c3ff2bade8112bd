// `gavel compliance report`: the ExoChain compliance page, generated from the live ledger instead of
// written by hand. gather.ts collects the facts (I/O); buildReport() here turns them into sections of
// checks, each PASS, FAIL or INFO like the seed's audit tables, with no clock, file or network of its
// own (`now` is an argument), so the same facts always give the same report.
//
// Rules (also in the command's --help):
// - gates: every gate of the constitution's inventory (policies/constitution/gates.json) must be
//   served by an active policy (FAIL otherwise). The active set is the daemon's /v1/status with
//   --daemon, else the ledger's: the last boot.config's policies, updated by later policy.deployed /
//   policy.rolledback entries. A policy deployed under a new name, whose gates the ledger does not
//   list, is taken to serve the gates it was seen deciding. With --daemon, every policy the daemon
//   serves must have been recorded in the ledger and be the ledger's active version, and every policy
//   active in the ledger must be live (FAIL otherwise: a policy running without a ledger record is
//   exactly what an audit must catch).
// - kinds: kinds outside the catalogue (other than custom.*) FAIL. Mutating kinds never recorded are
//   INFO, not FAIL: the catalogue is the whole ExoChain inventory (hnsw.*, eml.*, cluster.*, ...) and
//   a deployment that never trains a model is not out of compliance for lacking eml.train entries;
//   the list is repeated in the gaps for the auditor to judge.
// - verification: the ledger must verify (FAIL naming the first broken entry by seq); seals are
//   checked with the operator secret (INFO when none is given), a re-chained forgery FAILs on its seal.
// - checkpoints: the signed checkpoint beside the ledger (`<ledger>.checkpoint`) must match the
//   ledger, and its signature must verify when verifier keys are given (--vkey, or the config's
//   checkpoint key). Finalized anchors in the receipts file (`<ledger>.anchors`) must be in the ledger.
// - anchors: overdue (FAIL) when the oldest entry no finalized anchor of a target covers (anchor.*
//   entries aside) has waited more than N intervals (N = --overdue-intervals, default 3; the interval
//   from the config's target, else --anchor-interval); stuck (FAIL) when an anchor has sat scheduled,
//   submitted or confirmed that long since its first step, unless a later finalized anchor of at
//   least its size superseded it (INFO); failed anchors are listed (INFO).
import path from 'node:path';
import type { AnchorReceipt } from '../../anchor/index.js';
import { EVENT_KINDS } from '../../chain/index.js';

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

export interface GateSpec {
  gate: string;
  defaults: number[];
  thresholds: number[];
  l2: number;
  over: string;
  mutating: boolean;
}

export interface PolicyRef {
  name: string;
  version: string;
  sha256: string;
  gates?: string[];
}

export interface AnchorFacts {
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

export interface ReportOptions {
  now: Date;
  /** Anchor interval per configured target, seconds. */
  intervalS: Record<string, number>;
  /** Anchor interval of targets not configured, seconds. */
  defaultIntervalS: number;
  /** Overdue / stuck after this many intervals (default 3). */
  overdueIntervals?: number;
}

export function buildReport(f: Facts, gates: GateSpec[], o: ReportOptions): Report {
  const sections = [
    gatesSection(f, gates),
    decisionsSection(f, gates),
    kindsSection(f),
    verificationSection(f),
    anchorsSection(f, o),
  ];
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

/** 1. Gate inventory: each constitution gate, its EffectVector table row and its serving policy. */
function gatesSection(f: Facts, gates: GateSpec[]): Section {
  const served = new Map<string, PolicyRef>();
  for (const p of f.active ?? []) for (const g of p.gates ?? []) served.set(g, p);
  const section: Section = {
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
        const p = served.get(g.gate);
        const seen = f.observed.get(g.gate);
        return [
          g.gate,
          g.defaults.map(fmt).join(' '),
          g.thresholds.map(fmt).join(' '),
          fmt(g.l2),
          g.over,
          g.mutating ? 'yes' : 'no',
          p !== undefined
            ? `${p.name} ${p.version} (${p.sha256.slice(0, 12)})`
            : `none${seen ? ` (last decided by ${seen.name} ${seen.version})` : ''}`,
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
  };
  const gateChecks = section.checks;
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

  return section;
}

/** 2. Decisions by gate and verdict. */
function decisionsSection(f: Facts, gates: GateSpec[]): Section {
  const verdicts = ['permit', 'permit-with-warning', 'escalate', 'deny'];
  const decided = [...f.decisions.entries()].sort(([a], [b]) => a.localeCompare(b));
  const inventory = new Set(gates.map((g) => g.gate));
  return {
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
  };
}

/** 3. Event kinds against the catalogue. */
function kindsSection(f: Facts): Section {
  const catalogue = Object.entries(EVENT_KINDS);
  const seen = catalogue.filter(([k]) => (f.kinds.get(k) ?? 0) > 0);
  const unknown = [...f.kinds.keys()].filter((k) => EVENT_KINDS[k] === undefined && !k.startsWith('custom.'));
  return {
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
  };
}

/** 4. Ledger verification. The verifier counts entries from 1; the report names them by seq. */
function verificationSection(f: Facts): Section {
  const at = f.verify.failedEntry === undefined ? '?' : String(f.verify.failedEntry - 1);
  return {
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
  };
}

/** 5. Checkpoints and anchors. */
function anchorsSection(f: Facts, o: ReportOptions): Section {
  const times = o.overdueIntervals ?? 3;
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
      status: f.checkpoint.matches === undefined ? 'INFO' : f.checkpoint.matches ? 'PASS' : 'FAIL',
      detail:
        f.checkpoint.matches === undefined
          ? 'not compared: verification stopped before this size'
          : f.checkpoint.matches
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
  return {
    id: 'anchors',
    title: 'Checkpoints and anchors',
    table: { header: ['anchor', 'chain', 'state', 'slot / block', 'tx', 'explorer', 'at'], rows: anchorRows },
    checks: cpChecks,
  };
}
