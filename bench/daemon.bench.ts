// Daemon throughput and boot, measured with autocannon against a real daemon child process on its
// Unix socket: durable single decisions over 64 keep-alive connections, the batch endpoint, durable
// events, and boot-to-ready with a 1,000,000-entry ledger. Each load figure is the median of 3 runs
// after a warm-up run. Needs the real ledger store (and, for decisions, the engine and a built
// constitution in policies/build/); what cannot run yet is reported with a note instead of a figure.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as chain from '../chain/index.js';
import { DaemonClient, hashToken } from '../daemon/index.js';
import type { BenchResult } from './types.js';

interface AutocannonResult {
  requests: { average: number; mean: number; total: number };
  latency: { p99: number; p50: number; average: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (o: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const TOKEN = 'gvl_bench_token_0123456789abcdef';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

function setup(policiesDir: string | undefined): {
  dir: string;
  file: string;
  socket: string;
  ledger: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'gavel-bench-'));
  writeFileSync(join(dir, 'secret'), 'bench-operator-secret-0123456789', { mode: 0o600 });
  chmodSync(join(dir, 'secret'), 0o600);
  const file = join(dir, 'gavel.toml');
  writeFileSync(
    file,
    `[ledger]\npath = "ledger.jsonl"\nsecret_file = "secret"\nmax_batch = 2000\n[server]\nsocket = "g.sock"\nbody_limit = 8388608\n` +
      (policiesDir ? `[policies]\ndir = "${policiesDir}"\nallow_unsigned = true\nthreads = 1\n` : '') +
      `[[auth.tokens]]\nname = "bench"\nsha256 = "${hashToken(TOKEN)}"\nscopes = ["admin"]\n[log]\nlevel = "warn"\n`,
  );
  return { dir, file, socket: join(dir, 'g.sock'), ledger: join(dir, 'ledger.jsonl') };
}

async function start(file: string, socket: string): Promise<{ child: ChildProcess; ms: number }> {
  const t = performance.now();
  const child = spawn(process.execPath, ['bin/gavel.js', 'daemon', '--config', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const c = new DaemonClient({ socket, timeoutMs: 2000 });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`daemon exited: ${err}`);
      try {
        if ((await c.call<{ ready: boolean }>('GET', '/readyz')).ready) break;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    c.close();
  }
  return { child, ms: performance.now() - t };
}

async function stop(child: ChildProcess): Promise<void> {
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await done;
}

async function load(
  socket: string,
  path: string,
  body: unknown,
  connections: number,
  seconds: number,
): Promise<AutocannonResult> {
  const r = await autocannon({
    url: `http://localhost${path}`,
    socketPath: socket,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
  });
  if (r.non2xx > 0 || r.errors > 0)
    throw new Error(`${path}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
  return r;
}

async function measure(
  socket: string,
  path: string,
  body: unknown,
  connections: number,
): Promise<AutocannonResult[]> {
  await load(socket, path, body, connections, 2); // warm-up
  const out: AutocannonResult[] = [];
  for (let i = 0; i < 3; i++) out.push(await load(socket, path, body, connections, 5));
  return out;
}

function builtPolicies(): string | undefined {
  const dir = join(process.cwd(), 'policies/build');
  if (!existsSync(dir) || readdirSync(dir).length === 0) return undefined;
  return dir;
}

export async function run(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const Ledger = (
    chain as unknown as {
      Ledger?: {
        open(
          p: string,
          o?: object,
        ): Promise<{ appendBatch(x: object[]): Promise<unknown[]>; close(): Promise<void> }>;
      };
    }
  ).Ledger;
  if (Ledger === undefined) {
    return [
      {
        name: 'daemon benchmarks',
        value: 0,
        unit: '-',
        notes: 'not run: the ledger store (chain/store.ts) has not landed',
      },
    ];
  }
  const policies = builtPolicies();
  const env = setup(policies);
  try {
    const { child } = await start(env.file, env.socket);
    try {
      const ev = await measure(
        env.socket,
        '/v1/events',
        { kind: 'agent.action', action: 'bench', detail: 'x' },
        64,
      );
      results.push({
        name: 'durable events/s (1 a request, 64 conns, unix socket)',
        value: median(ev.map((r) => r.requests.average)),
        unit: 'req/s',
        notes: `p99 ${median(ev.map((r) => r.latency.p99))} ms`,
      });
      const events = Array.from({ length: 1000 }, (_, i) => ({
        kind: 'agent.action',
        action: `bench-${i}`,
        detail: 'x',
      }));
      const eb = await measure(env.socket, '/v1/events/batch', { events }, 8);
      results.push({
        name: 'durable events/s via the batch endpoint (1000 a request, 8 conns)',
        value: median(eb.map((r) => r.requests.average)) * 1000,
        unit: 'entries/s',
        notes: `p99 ${median(eb.map((r) => r.latency.p99))} ms a request`,
      });
      if (policies !== undefined) {
        const one = await measure(
          env.socket,
          '/v1/gates/tool.invoke/evaluate',
          { effect: { risk: 0.2 }, mode: 'standard' },
          64,
        );
        const rps = median(one.map((r) => r.requests.average));
        const p99 = median(one.map((r) => r.latency.p99));
        results.push({
          name: 'durable evaluations/s (1 a request, 64 conns)',
          value: rps,
          unit: 'req/s',
          target: '>= 10000',
          pass: rps >= 10000,
        });
        results.push({
          name: 'evaluation p99 latency (64 conns)',
          value: p99,
          unit: 'ms',
          target: '< 10',
          pass: p99 < 10,
        });
        const requests = Array.from({ length: 1000 }, (_, i) => ({
          gate: 'tool.invoke',
          effect: { risk: (i % 10) / 10 },
        }));
        const b = await measure(env.socket, '/v1/gates/batch', { requests }, 8);
        const dps = median(b.map((r) => r.requests.average)) * 1000;
        results.push({
          name: 'batch decisions/s (1000 a request, 8 conns)',
          value: dps,
          unit: 'decisions/s',
          target: '>= 100000',
          pass: dps >= 100000,
        });
      } else {
        results.push({
          name: 'durable evaluations/s',
          value: 0,
          unit: 'req/s',
          target: '>= 10000',
          notes: 'not run: no engine/built policies (policies/build) yet',
        });
      }
    } finally {
      await stop(child);
    }

    // Boot to ready with a 1,000,000-entry ledger (the caches beside it built by a first open).
    const big = setup(undefined);
    try {
      const l = await Ledger.open(big.ledger, {
        secret: 'bench-operator-secret-0123456789',
        sidecars: [new chain.TreeSidecar()],
        maxBatch: 10000,
      });
      for (let i = 0; i < 100; i++) {
        await l.appendBatch(
          Array.from({ length: 10000 }, (_, k) => ({
            kind: 'agent.action',
            action: `e${i * 10000 + k}`,
            detail: 'boot bench',
          })),
        );
      }
      await l.close();
      const boots: number[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await start(big.file, big.socket);
        boots.push(s.ms);
        await stop(s.child);
      }
      const ms = median(boots);
      results.push({
        name: 'boot to ready, 1,000,000-entry ledger',
        value: ms,
        unit: 'ms',
        target: '< 2000',
        pass: ms < 2000,
        notes: 'process spawn to /readyz 200, median of 3',
      });
    } finally {
      rmSync(big.dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(env.dir, { recursive: true, force: true });
  }
  return results;
}
