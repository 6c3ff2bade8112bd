// Crash safety: a child appending in a loop is killed with SIGKILL at random moments; after each
// kill the ledger opens (recovering a torn tail if any), verifies with the secret, and still holds
// every append the child had seen acknowledged.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ledger, verifyLedgerParallel } from '../../chain/index.js';
import { tempDir } from '../helpers/run.js';

const CHILD = path.join(path.dirname(new URL(import.meta.url).pathname), 'append-child.mjs');
const SECRET = 'crash-test-secret';
const ROUNDS = 50;
const t = tempDir('crash');
afterAll(() => t.cleanup());

function runAndKill(file: string, afterMs: number): Promise<Map<number, string>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file, SECRET], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<number, string>();
    let buf = '';
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') setTimeout(() => child.kill('SIGKILL'), afterMs);
        const m = /^ack (\d+) ([0-9a-f]{64})$/.exec(line);
        if (m) acked.set(Number(m[1]), m[2] as string);
        nl = buf.indexOf('\n');
      }
    });
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited ${code}: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('kill -9 while appending', () => {
  it(`loses no acknowledged append over ${ROUNDS} rounds`, async () => {
    const file = path.join(t.dir, 'ledger.jsonl');
    let seed = 7;
    const all = new Map<number, string>();
    let recoveries = 0;
    for (let round = 0; round < ROUNDS; round++) {
      seed = (seed * 48271) % 2147483647;
      const acked = await runAndKill(file, seed % 120);
      for (const [k, v] of acked) all.set(k, v);
      const l = await Ledger.open(file, { secret: SECRET });
      if (l.head?.kind === 'chain.recovered') recoveries++;
      for (const [seq, hash] of all)
        if (seq < l.size && seq >= l.size - 200) expect((await l.get(seq)).hash).toBe(hash);
      const maxAcked = Math.max(-1, ...all.keys());
      expect(l.size).toBeGreaterThan(maxAcked);
      await l.close();
    }
    // Every acknowledged entry, at its seq, with its hash, and the whole ledger verifies with seals.
    const l = await Ledger.open(file, { readOnly: true });
    for await (const e of l.range(0, l.size)) if (all.has(e.seq)) expect(e.hash).toBe(all.get(e.seq));
    await l.close();
    const v = await verifyLedgerParallel(file, { secret: SECRET, threads: 0 });
    expect(v.ok, v.message).toBe(true);
    expect(v.keyedChecks).toBe(v.entries);
    expect(all.size).toBeGreaterThan(ROUNDS);
    console.log(
      `crash test: ${v.entries} entries, ${all.size} acknowledged, ${recoveries} torn tails recovered`,
    );
  });
});
