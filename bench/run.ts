// `npm run bench`: runs every bench/<name>.bench.js (compiled), writes bench/results/latest.json and
// prints one markdown table. `npm run bench -- ledger engine` runs only the named benchmarks.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './types.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toPrecision(3);
}

function row(suite: string, r: BenchResult): string {
  // Peers are measured in the same unit as ours unless the peer's name says otherwise (in
  // parentheses); a ratio is printed only for same-unit peers, as peer / ours.
  const peers = Object.entries(r.peers ?? {})
    .map(([k, v]) => {
      const sameUnit = !k.includes('(') && r.unit !== '%' && r.unit !== 'x' && r.value !== 0;
      return sameUnit ? `${k}: ${fmt(v)} (${(v / r.value).toFixed(2)}x ours)` : `${k}: ${fmt(v)}`;
    })
    .join('; ');
  const verdict = r.pass === undefined ? 'report' : r.pass ? 'PASS' : 'FAIL';
  return `| ${suite} | ${r.name} | ${fmt(r.value)} ${r.unit} | ${peers || '-'} | ${r.target ?? '-'} | ${verdict} |`;
}

interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** cpuCheck() before and after the suites, in ms. */
  cpuCheckMs?: { before: number; after: number };
}

/**
 * How fast this machine's CPU is right now: the median of 5 runs of a fixed integer loop, in ms.
 * Shared and virtual machines change speed from one minute to the next (on this one the loop took
 * from ~45 ms to over 90 ms on the same day); figures from runs whose checks differ are not comparable.
 */
function cpuCheck(): number {
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    let x = 0;
    for (let i = 0; i < 100_000_000; i++) x = (x + (i & 7)) | 0;
    times.push(performance.now() - t);
    if (x === 42) process.stderr.write(''); // keeps the loop's result alive
  }
  return times.sort((a, b) => a - b)[2] as number;
}

function table(machine: Machine, results: Record<string, BenchResult[]>): string {
  const check = machine.cpuCheckMs;
  const lines = [
    `Machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.platform}`,
    ...(check
      ? [
          '',
          `CPU check (a fixed loop, lower is faster): ${check.before.toFixed(0)} ms before the suites, ${check.after.toFixed(0)} ms after.`,
        ]
      : []),
    '',
    '| suite | benchmark | ours | peers | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [suite, rs] of Object.entries(results)) for (const r of rs) lines.push(row(suite, r));
  return `${lines.join('\n')}\n`;
}

const LATEST = path.join(here, '..', '..', 'bench', 'results', 'latest.json');

async function main(): Promise<void> {
  if (process.argv[2] === '--table') {
    // Re-print the table of the last run (for the README) without measuring again.
    const last = JSON.parse(await readFile(LATEST, 'utf8')) as {
      machine: Machine;
      results: Record<string, BenchResult[]>;
    };
    process.stdout.write(table(last.machine, last.results));
    return;
  }
  const only = process.argv.slice(2);
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.js')).sort();
  const suites = files.map((f) => f.replace(/\.bench\.js$/, ''));
  if (only.includes('--help') || only.includes('-h')) {
    process.stdout.write(
      `usage: npm run bench [-- SUITE...]   run every benchmark suite, or only those named\n` +
        `       npm run bench -- --table      print the last run's table again (bench/results/latest.json)\n` +
        `suites: ${suites.join(', ')}\n`,
    );
    return;
  }
  const unknown = only.filter((s) => !suites.includes(s));
  if (unknown.length > 0) {
    process.stderr.write(`bench: no suite named ${unknown.join(', ')} (suites: ${suites.join(', ')})\n`);
    process.exitCode = 2;
    return;
  }
  const before = cpuCheck();
  const results: Record<string, BenchResult[]> = {};
  const failures: string[] = [];
  for (const f of files) {
    const suite = f.replace(/\.bench\.js$/, '');
    if (only.length > 0 && !only.includes(suite)) continue;
    process.stderr.write(`bench: ${suite}...\n`);
    try {
      const mod = (await import(path.join(here, f))) as { run: () => Promise<BenchResult[]> };
      results[suite] = await mod.run();
    } catch (err) {
      failures.push(`${suite}: ${err instanceof Error ? err.stack : String(err)}`);
    }
  }
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    cpuCheckMs: { before, after: cpuCheck() },
  };
  // A partial run (`npm run bench -- ledger`) replaces only the suites it ran in latest.json.
  let merged: Record<string, BenchResult[]> = results;
  if (only.length > 0) {
    try {
      const prev = JSON.parse(await readFile(LATEST, 'utf8')) as { results?: Record<string, BenchResult[]> };
      merged = { ...(prev.results ?? {}), ...results };
    } catch {
      // no earlier run: this one is the file
    }
  }
  const out = { date: new Date().toISOString(), machine, results: merged, failures };
  await mkdir(path.join(here, '..', '..', 'bench', 'results'), { recursive: true });
  await writeFile(
    path.join(here, '..', '..', 'bench', 'results', 'latest.json'),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  process.stdout.write(table(machine, results));
  if (failures.length > 0) {
    process.stderr.write(`\n${failures.length} benchmark(s) failed to run:\n${failures.join('\n')}\n`);
    process.exitCode = 1;
  }
}

await main();
