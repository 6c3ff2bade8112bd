// Anchoring benchmarks (issue 6), on the local validators:
//   - round trip submit -> included (confirmed) per anchor: p50 / p99 on anvil and on the local
//     Solana validator (LiteSVM);
//   - cost: one transaction per interval whatever the ledger's size — the anchoring service run for
//     one interval over ledgers of 10 and 1,000,000 entries, counting the transactions it sent and
//     what each cost (gas and wei on anvil; lamports on Solana).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createPublicClient, type Hex, http } from 'viem';
import {
  AnchorService,
  type AnchorSnapshot,
  type AnchorTarget,
  airdrop,
  BaseTarget,
  type Included,
  SolanaTarget,
  startAnvil,
  startSolanaRpc,
} from '../anchor/index.js';
import { Ledger, ledgerOrigin, TreeSidecar } from '../chain/index.js';
import type { BenchResult } from './types.js';

const DEV_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'; // anvil dev account
const ROUNDS = Number(process.env.GAVEL_BENCH_ANCHOR_ROUNDS ?? 40);
const BIG = Number(process.env.GAVEL_BENCH_ANCHOR_ENTRIES ?? 1_000_000);

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

const memoFor = (i: number) => ({
  origin: 'gavel.local/0123456789abcdef',
  size: 1000 + i,
  root: i.toString(16).padStart(64, '0'),
  head: 'e'.repeat(64),
});

async function roundTrips(
  target: AnchorTarget,
  rounds: number,
): Promise<{ ms: number[]; fees: bigint[]; gas: number[] }> {
  const ms: number[] = [];
  const fees: bigint[] = [];
  const gas: number[] = [];
  for (let i = 0; i < rounds + 3; i++) {
    const t0 = performance.now();
    const inc: Included = await target.submit(memoFor(i), { onSent: async () => {} });
    const dt = performance.now() - t0;
    if (i >= 3) {
      ms.push(dt);
      fees.push(BigInt(inc.fee));
      if (inc.extra?.gas_used !== undefined) gas.push(Number(inc.extra.gas_used));
    }
  }
  return { ms, fees, gas };
}

/** Runs the anchoring service over a ledger of `n` entries for one interval; returns what each target sent. */
async function oneInterval(n: number, targets: Record<string, AnchorTarget>, mine: () => Promise<void>) {
  const dir = mkdtempSync(path.join(tmpdir(), 'gavel-bench-anchor-'));
  const file = path.join(dir, 'ledger.jsonl');
  const tree = new TreeSidecar();
  const ledger = await Ledger.open(file, { sidecars: [tree] });
  try {
    const batch = Array.from({ length: 1000 }, (_, i) => ({
      kind: 'custom.bench',
      action: 'work',
      detail: `item ${i}`,
      payload: { i },
    }));
    for (let done = 0; done < n; done += batch.length)
      await ledger.appendBatch(batch.slice(0, Math.min(batch.length, n - done)));
    let origin: string | undefined;
    const snapshot = async (): Promise<AnchorSnapshot | undefined> => {
      await tree.flush();
      const size = tree.size;
      origin ??= ledgerOrigin((await ledger.get(0)).hash);
      return {
        origin,
        size,
        root: Buffer.from(tree.root(size)).toString('hex'),
        head: (await ledger.get(size - 1)).hash,
      };
    };
    const svc = new AnchorService(
      { ledgerPath: file, append: (e) => ledger.append(e), snapshot },
      Object.entries(targets).map(([name, target]) => ({ name, target, intervalMs: 3_600_000 })),
      { finalityPollMs: 100, backoffMs: 100 },
    );
    const sizeBefore = ledger.size;
    await svc.start();
    const end = Date.now() + 60_000;
    while (svc.status().some((t) => t.lastFinalized === undefined)) {
      if (Date.now() > end) throw new Error('no finalized anchor within 60 s');
      await mine();
      await new Promise((r) => setTimeout(r, 50));
    }
    await svc.stop();
    const out: Record<string, { entries: number; transactions: number; fee: bigint }> = {};
    for (const name of Object.keys(targets)) {
      const recs = svc.anchors().filter((r) => r.target === name);
      out[name] = {
        entries: sizeBefore,
        transactions: recs.flatMap((r) => r.sent).length,
        fee: BigInt(recs[0]?.fee ?? '0'),
      };
    }
    return out;
  } finally {
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const out: BenchResult[] = [];
  const anvil = await startAnvil({ slotsInAnEpoch: 1 });
  const sol = await startSolanaRpc({ slotMs: 100, finalityLag: 8 }).catch(async (err) => {
    await anvil.stop(); // never leave a validator running behind a failed benchmark
    throw err;
  });
  try {
    const base = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY, pollMs: 5 });
    const payer = Keypair.generate();
    await airdrop(sol.url, payer.publicKey.toBase58(), 100_000_000_000);
    const solana = new SolanaTarget({
      network: 'local',
      rpcUrl: sol.url,
      wsUrl: sol.wsUrl,
      keypair: payer,
      pollMs: 5,
    });

    const b = await roundTrips(base, ROUNDS);
    out.push({
      name: 'anchor round trip on anvil (submit -> included), p50',
      value: quantile(b.ms, 0.5),
      unit: 'ms',
      notes: `p99 ${quantile(b.ms, 0.99).toFixed(1)} ms over ${ROUNDS} anchors; automine, receipt polled every 5 ms`,
    });
    out.push({
      name: 'anchor round trip on anvil (submit -> included), p99',
      value: quantile(b.ms, 0.99),
      unit: 'ms',
    });
    const sr = await roundTrips(solana, ROUNDS);
    out.push({
      name: 'anchor round trip on local Solana (submit -> confirmed), p50',
      value: quantile(sr.ms, 0.5),
      unit: 'ms',
      notes: `p99 ${quantile(sr.ms, 0.99).toFixed(1)} ms over ${ROUNDS} anchors; LiteSVM validator, 100 ms slots (executed at the next slot, confirmed one slot later); statuses polled every 5 ms`,
    });
    out.push({
      name: 'anchor round trip on local Solana (submit -> confirmed), p99',
      value: quantile(sr.ms, 0.99),
      unit: 'ms',
    });

    const pub = createPublicClient({ transport: http(anvil.url) });
    const mine = async () => {
      await pub.request({ method: 'evm_mine' as never, params: [] as never });
    };
    for (const n of [10, BIG]) {
      const r = await oneInterval(n, { base, solana }, mine);
      for (const [name, unit] of [
        ['base', 'wei'],
        ['solana', 'lamports'],
      ] as const) {
        const x = r[name] as { transactions: number; fee: bigint };
        out.push({
          name: `anchor transactions per interval, ledger of ${n.toLocaleString('en-US')} entries (${name})`,
          value: x.transactions,
          unit: 'tx',
          target: '== 1',
          pass: x.transactions === 1,
          notes: `that anchor cost ${x.fee} ${unit}`,
        });
      }
    }
    out.push({
      name: 'anchor cost on anvil, wei per anchor (median)',
      value: Number(quantile(b.fees.map(Number), 0.5)),
      unit: 'wei',
      notes: `gas per anchor ${quantile(b.gas, 0.5)} (21,000 base + calldata of the ~160-byte memo); wei = gas x effective price + L1 data fee`,
    });
    out.push({ name: 'anchor gas per anchor on anvil (median)', value: quantile(b.gas, 0.5), unit: 'gas' });
    out.push({
      name: 'anchor cost on local Solana, lamports per anchor (median)',
      value: Number(quantile(sr.fees.map(Number), 0.5)),
      unit: 'lamports',
      notes:
        'one signature (5,000 lamports), no priority fee; compute_unit_price adds price x 30,000 CU / 10^6',
    });
  } finally {
    await sol.close();
    await anvil.stop();
  }
  return out;
}
