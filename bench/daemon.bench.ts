// Daemon throughput and boot, measured with autocannon against a real daemon child process on its
// Unix socket: durable single decisions over 64 keep-alive connections, the batch endpoint, durable
// events, and boot-to-ready with a 1,000,000-entry ledger. Each load figure is the median of 3 runs
// after a warm-up run. Needs the real ledger store (and, for decisions, the engine and a built
// engine, which loads a threshold policy built here from WAT); what cannot run is reported with a note.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as chain from '../chain/index.js';
import { DaemonClient, hashToken } from '../daemon/index.js';
import { NODE_FLAGS } from '../daemon/install.js';
import { INSTRUMENTER } from '../engine/index.js';
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
      (policiesDir ? `[policies]\ndir = "${policiesDir}"\nallow_unsigned = true\nthreads = 0\n` : '') +
      `[[auth.tokens]]\nname = "bench"\nsha256 = "${hashToken(TOKEN)}"\nscopes = ["admin"]\n[log]\nlevel = "warn"\n`,
  );
  return { dir, file, socket: join(dir, 'g.sock'), ledger: join(dir, 'ledger.jsonl') };
}

async function start(file: string, socket: string): Promise<{ child: ChildProcess; ms: number }> {
  const t = performance.now();
  // Run as the systemd unit runs it (its node flags too).
  const child = spawn(process.execPath, [...NODE_FLAGS, 'bin/gavel.js', 'daemon', '--config', file], {
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

// A threshold policy (risk > 0.5 denies) as a WebAssembly component of gavel:policy/gate-policy,
// built from WAT the way the engine's tests do, so the benchmark needs no policy toolchain.
const WAT = `(module
  (memory (export "memory") 1 4)
  (global $hp (mut i32) (i32.const 4096))
  (data (i32.const 16) "permitdenylow-riskhigh-risk")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $hp) (i32.const 7)) (i32.const -8)))
    (global.set $hp (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func $out (param $v i32) (param $rp i32) (param $rl i32) (param $lp i32) (param $ll i32) (result i32)
    (i32.store8 (i32.const 512) (local.get $v))
    (i32.store (i32.const 516) (local.get $rp)) (i32.store (i32.const 520) (local.get $rl))
    (i32.store (i32.const 524) (local.get $lp)) (i32.store (i32.const 528) (local.get $ll))
    (i32.const 512))
  (func (export "evaluate") (param $req i32) (result i32) (local $r f64)
    (local.set $r (f64.load offset=48 (local.get $req)))
    (if (f64.ne (local.get $r) (local.get $r)) (then (local.set $r (f64.const 0.3))))
    (if (result i32) (f64.gt (local.get $r) (f64.const 0.5))
      (then (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 22) (i32.const 4)))
      (else (call $out (i32.const 0) (i32.const 26) (i32.const 8) (i32.const 16) (i32.const 6))))))`;

export async function buildPolicy(root: string): Promise<string> {
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
  const binaryen = (await import('binaryen')).default;
  const m = binaryen.parseText(WAT);
  m.setFeatures(binaryen.Features.All);
  const core = m.emitBinary();
  m.dispose();
  const wit = readFileSync(join(process.cwd(), 'policies/wit/gate.wit'), 'utf8');
  const component = await componentNew(
    await componentEmbed({ binary: core, witSource: wit, world: 'gate-policy' }),
  );
  const dir = join(root, 'policies', 'bench-threshold');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'component.wasm'), component);
  const manifest = {
    schema: 'gavel.policy/v1',
    name: 'bench-threshold',
    version: '1.0.0',
    world: 'gavel:policy/gate-policy@0.1.0',
    gates: ['*'],
    fuel: 100000,
    maxMemoryPages: 4,
    component: { file: 'component.wasm', sha256: createHash('sha256').update(component).digest('hex') },
    instrumenter: { ...INSTRUMENTER },
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return join(root, 'policies');
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
  const root = mkdtempSync(join(tmpdir(), 'gavel-bench-pol-'));
  const policies = await buildPolicy(root).catch(() => undefined);
  // Events and decisions are measured on daemons (and ledgers) of their own, each removed before the
  // next starts: a figure must not depend on what ran before it. On this VM it did: past ~2-3 GB of
  // cached file pages every write pays for reclaim (a 1.8 MB write + fdatasync took ~0.6 ms of CPU
  // on a fresh cache and ~3.8 ms after 2 GB more had been written), and the event runs write ~2 GB.
  const withDaemon = async (fn: (socket: string) => Promise<void>): Promise<void> => {
    const env = setup(policies);
    try {
      const { child } = await start(env.file, env.socket);
      try {
        await fn(env.socket);
      } finally {
        await stop(child);
      }
    } finally {
      rmSync(env.dir, { recursive: true, force: true });
    }
  };
  try {
    await withDaemon(async (socket) => {
      const ev = await measure(
        socket,
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
      const eb = await measure(socket, '/v1/events/batch', { events }, 8);
      results.push({
        name: 'durable events/s via the batch endpoint (1000 a request, 8 conns)',
        value: median(eb.map((r) => r.requests.average)) * 1000,
        unit: 'entries/s',
        notes: `p99 ${median(eb.map((r) => r.latency.p99))} ms a request`,
      });
    });
    if (policies === undefined) {
      results.push({
        name: 'durable evaluations/s',
        value: 0,
        unit: 'req/s',
        target: '>= 10000',
        notes: 'not run: the engine could not load the benchmark policy',
      });
    } else {
      await withDaemon(async (socket) => {
        const one = await measure(
          socket,
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
        const b = await measure(socket, '/v1/gates/batch', { requests }, 8);
        const dps = median(b.map((r) => r.requests.average)) * 1000;
        results.push({
          name: 'batch decisions/s (1000 a request, 8 conns)',
          value: dps,
          unit: 'decisions/s',
          target: '>= 100000',
          pass: dps >= 100000,
        });
      });
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
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}
