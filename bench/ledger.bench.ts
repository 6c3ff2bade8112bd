// Ledger benchmarks (issue 2): durable appends with group commit and one at a time, verify of a
// 1,000,000-entry ledger on one core with memory kept flat, `audit recent` on that ledger, and the
// cold start of `gavel audit log` beside a python3 process doing the MO§ES log work.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createSecretScanner,
  type EntryInput,
  Ledger,
  validateEvent,
  verifyLedgerParallel,
} from '../chain/index.js';
import type { BenchResult } from './types.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const GAVEL = path.join(REPO, 'bin', 'gavel.js');
const MOSES_REF = path.join(REPO, 'test', 'fixtures', 'moses_ref.py');
const BIG = Number(process.env.GAVEL_BENCH_LEDGER_ENTRIES ?? 1_000_000);
const SECRET = 'bench operator secret';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function decision(i: number): EntryInput {
  return {
    kind: 'gate.decision',
    agent: `agent-${i % 17}`,
    component: 'tool.execute',
    action: 'evaluate',
    detail: `tool.execute: permit by threshold.risk (${i})`,
    outcome: 'permit',
    payload: {
      gate: 'tool.execute',
      request: {
        actor: `agent-${i % 17}`,
        effect: { risk: 0.25, privacy: 0.1 },
        context: { tool: 'deploy' },
      },
      verdict: 'permit',
      reason: 'all dimensions under their thresholds',
      rule: 'threshold.all',
      fuel: 1234,
      policy: { name: 'constitution', version: '1.0.0', sha256: 'ab'.repeat(32) },
    },
  };
}

/** A MO§ES-sized entry (~420 bytes on disk), as `gavel audit log` writes them. */
function small(i: number): EntryInput {
  return {
    kind: 'moses.log',
    agent: 'agent-7',
    action: 'read_file',
    detail: `file ${i}`,
    outcome: 'executed',
  };
}

/**
 * Durable appends through the store's group commit: `concurrent` issues 20,000 append() calls at
 * once (as under HTTP load) and the store batches them; otherwise appendBatch() of 1,000.
 */
async function groupCommit(
  dir: string,
  full: boolean,
  make: (i: number) => EntryInput,
  concurrent: boolean,
): Promise<number> {
  const file = path.join(dir, `gc-${full}-${make.name}-${concurrent}.jsonl`);
  const opts = full
    ? {
        secret: SECRET,
        validate: validateEvent,
        scanner: createSecretScanner({ mode: 'refuse', operatorSecret: SECRET }),
      }
    : {};
  const l = await Ledger.open(file, opts);
  const inputs = Array.from({ length: 1000 }, (_, i) => make(i));
  const rates: number[] = [];
  for (let round = 0; round < 6; round++) {
    const n = 20_000;
    const t0 = performance.now();
    if (concurrent) {
      const ps: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) ps.push(l.append(inputs[i % 1000] as EntryInput));
      await Promise.all(ps);
    } else {
      for (let i = 0; i < n; i += 1000) await l.appendBatch(inputs);
    }
    if (round > 0) rates.push(n / ((performance.now() - t0) / 1000));
  }
  await l.close();
  return median(rates);
}

async function oneAtATime(dir: string): Promise<number> {
  const l = await Ledger.open(path.join(dir, 'single.jsonl'));
  const rates: number[] = [];
  for (let round = 0; round < 4; round++) {
    const n = 300;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await l.append(decision(i));
    if (round > 0) rates.push(n / ((performance.now() - t0) / 1000));
  }
  await l.close();
  return median(rates);
}

async function bigLedger(dir: string): Promise<string> {
  const file = path.join(dir, 'big.jsonl');
  const l = await Ledger.open(file, { secret: SECRET, maxBatch: 10_000 });
  const inputs = Array.from({ length: 10_000 }, (_, i) => decision(i));
  for (let done = 0; done < BIG; done += 10_000)
    await l.appendBatch(inputs.slice(0, Math.min(10_000, BIG - done)));
  await l.close();
  return file;
}

async function verifyOneCore(file: string): Promise<{ rate: number; rssGrowthMiB: number }> {
  const rates: number[] = [];
  let rssGrowth = 0;
  for (let round = 0; round < 3; round++) {
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const t0 = performance.now();
    const r = await verifyLedgerParallel(file, { threads: 0, secret: SECRET });
    const secs = (performance.now() - t0) / 1000;
    clearInterval(timer);
    if (!r.ok || r.keyedChecks !== BIG) throw new Error(`verify failed: ${r.message}`);
    rates.push(BIG / secs);
    rssGrowth = Math.max(rssGrowth, (peak - before) / 2 ** 20);
  }
  return { rate: median(rates), rssGrowthMiB: rssGrowth };
}

/** The first `n` lines of `file`, as a ledger of its own (for the python3 peer, which loads a whole
 *  ledger into memory and could not hold the 1M-entry one). */
function prefixLedger(file: string, n: number, out: string): void {
  const fd = openSync(file, 'r');
  const chunk = Buffer.alloc(1 << 20);
  const parts: Buffer[] = [];
  let lines = 0;
  try {
    for (let pos = 0; lines < n; ) {
      const got = readSync(fd, chunk, 0, chunk.length, pos);
      if (got === 0) break;
      let end = 0;
      for (let i = 0; i < got && lines < n; i++) {
        if (chunk[i] !== 0x0a) continue;
        lines++;
        end = i + 1;
      }
      parts.push(Buffer.from(chunk.subarray(0, lines < n ? got : end)));
      pos += got;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(out, Buffer.concat(parts));
}

function wallMs(cmd: string, args: string[], runs: number, env: NodeJS.ProcessEnv = process.env): number {
  const times: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    if (i > 0) times.push(performance.now() - t0);
  }
  return median(times);
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-bench-ledger-'));
  try {
    const gc: BenchResult[] = [];
    for (const make of [small, decision]) {
      for (const full of [false, true]) {
        for (const concurrent of [false, true]) {
          const rate = await groupCommit(dir, full, make, concurrent);
          gc.push({
            name: `durable appends, ${concurrent ? '20k concurrent append()' : 'appendBatch(1000)'}, ${make === small ? 'MO§ES-size' : 'gate-decision'} entries${full ? ', sealed + catalogue + secret scan' : ''}`,
            value: rate,
            unit: 'entries/s',
            target: '>= 100000',
            pass: rate >= 100_000,
          });
        }
      }
    }
    const single = await oneAtATime(dir);
    const big = await bigLedger(dir);
    const v = await verifyOneCore(big);
    // Peer: the MO§ES reference verifier (python3: json.loads, json.dumps(sort_keys), sha256, links) on
    // the first 100,000 entries of the same ledger; it checks no seals, so the ratio flatters it.
    const PEER_N = Math.min(BIG, 100_000);
    const prefix = path.join(dir, 'prefix.jsonl');
    prefixLedger(big, PEER_N, prefix);
    const pyVerify = PEER_N / (wallMs('python3', [MOSES_REF, 'verify', prefix], 1) / 1000);
    const recent = wallMs(process.execPath, [GAVEL, 'audit', 'recent', '--ledger', big, '--n', '10'], 5);
    const env = { ...process.env, GAVEL_OPERATOR_SECRET: '', MOSES_OPERATOR_SECRET: '' };
    const gavelLog = wallMs(
      process.execPath,
      [GAVEL, 'audit', 'log', '--ledger', path.join(dir, 'cold.jsonl'), '--action', 'x'],
      9,
      env,
    );
    const pyLog = wallMs(
      'python3',
      [MOSES_REF, 'log', path.join(dir, 'cold-moses.jsonl'), '--action', 'x'],
      9,
      env,
    );
    const gavelMoses = wallMs(
      process.execPath,
      [
        GAVEL,
        'audit',
        'log',
        '--ledger',
        path.join(dir, 'cold-moses2.jsonl'),
        '--format',
        'moses',
        '--action',
        'x',
      ],
      9,
      env,
    );
    return [
      ...gc,
      {
        name: 'one-at-a-time durable appends (fsync each)',
        value: single,
        unit: 'entries/s',
        notes: 'fsync speed',
      },
      {
        name: `verify ${BIG.toLocaleString('en-US')} entries, hashes+links+seals, one core`,
        value: v.rate,
        unit: 'entries/s',
        target: '>= 150000',
        pass: v.rate >= 150_000,
        peers: { 'python3 MO§ES verify, hashes+links only': pyVerify },
        notes: `median of 3; the peer ran on the first ${PEER_N.toLocaleString('en-US')} entries`,
      },
      {
        name: 'verify RSS growth over the run (flat in ledger size)',
        value: v.rssGrowthMiB,
        unit: 'MiB',
        notes: `ledger of ${BIG} entries`,
      },
      {
        name: `node bin/gavel.js audit recent --n 10 on ${BIG.toLocaleString('en-US')} entries (wall)`,
        value: recent,
        unit: 'ms',
        target: '< 300',
        pass: recent < 300,
      },
      {
        name: 'audit log cold start, native (wall)',
        value: gavelLog,
        unit: 'ms',
        peers: { 'python3 MO§ES log': pyLog, 'gavel --format moses': gavelMoses },
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
