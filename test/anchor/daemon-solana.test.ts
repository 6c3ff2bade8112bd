// The daemon (a real process) anchoring on the local Solana validator: the anchor reaches
// `finalized`, `gavel anchor verify` passes, plain web3.js finds the memo in the instruction data;
// a validator that is down at submit time is waited out; killed (SIGKILL) while its transaction can
// never land (dropped, blockhash expiring), the restarted daemon re-signs only after expiry and the
// anchor costs one fee.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Connection, Keypair, PublicKey } from '@solana/web3.js';
import { afterEach, describe, expect, it } from 'vitest';
import { airdrop, type SolanaRpcServer, startSolanaRpc } from '../../anchor/index.js';
import { DaemonClient } from '../../daemon/index.js';
import { makeConfig, TOKENS } from '../daemon/helpers.js';
import { type DaemonProc, spawnDaemon } from '../daemon/proc.js';
import { ANCHOR_STEPS, anchorSteps, finalizedCovering, waitFor } from './helpers.js';

const MEMO = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

let server: SolanaRpcServer | undefined;
let procs: DaemonProc[] = [];
afterEach(async () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  procs = [];
  await server?.close();
  server = undefined;
});

async function setup(o: { blockhashValidSlots?: number; interval?: number } = {}) {
  server = await startSolanaRpc({ slotMs: 40, finalityLag: 8, blockhashValidSlots: o.blockhashValidSlots });
  const kp = Keypair.generate();
  await airdrop(server.url, kp.publicKey.toBase58(), 1_000_000_000);
  const c = makeConfig(`
[anchor]
interval_seconds = ${o.interval ?? 1}

[[anchor.targets]]
name = "solana-local"
chain = "solana"
network = "local"
rpc_url = "${server.url}"
ws_url = "${server.wsUrl}"
key_file = "solana.json"
`);
  writeFileSync(join(c.dir, 'solana.json'), JSON.stringify(Array.from(kp.secretKey)), { mode: 0o600 });
  return { c, kp, s: server };
}

describe('daemon anchoring on the local Solana validator', () => {
  it('anchors to finalized; verify passes; plain web3.js reads the same memo', async () => {
    const { c, s } = await setup();
    const p = await spawnDaemon(c.file, {}, c.socket);
    procs.push(p);
    const agent = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    await agent.call('POST', '/v1/events', { kind: 'custom.demo', action: 'work', detail: 'one' });
    agent.close();
    const n = readFileSync(c.ledger, 'utf8').split('\n').filter(Boolean).length;
    const fin = await waitFor('a finalized anchor of the event', () => finalizedCovering(c.ledger, n));
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const id = fin.payload.anchor_id as string;
    expect(anchorSteps(c.ledger, id).map((e) => e.kind)).toEqual(ANCHOR_STEPS);
    const cp = fin.payload.checkpoint as { origin: string; size: number; root: string };
    const conn = new Connection(s.url, 'confirmed');
    const tx = await conn.getTransaction(fin.payload.tx as string, { maxSupportedTransactionVersion: 0 });
    const ix = tx?.transaction.message.compiledInstructions.find((i) =>
      tx.transaction.message.staticAccountKeys[i.programIdIndex]?.equals(MEMO),
    );
    expect(Buffer.from(ix?.data ?? []).toString()).toBe(
      `gavel:v1:${cp.origin}:${cp.size}:${cp.root}:${fin.payload.head}`,
    );
    // Asynchronously: the validator runs in this process and must keep answering.
    const v = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['bin/gavel.js', 'anchor', 'verify', '--config', c.file, '--all'],
        (err, stdout, stderr) =>
          resolve({ status: err === null ? 0 : (child.exitCode ?? 1), stdout, stderr }),
      );
    });
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain(`OK   ${id}`);
  }, 60_000);

  it('waits out a validator that is down at submit time, then anchors once', async () => {
    const { c, s } = await setup();
    await s.down();
    const p = await spawnDaemon(c.file, {}, c.socket);
    procs.push(p);
    const scheduled = await waitFor('anchor.scheduled', () =>
      anchorSteps(c.ledger).find((e) => e.kind === 'anchor.scheduled'),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(anchorSteps(c.ledger).map((e) => e.kind)).toEqual(['anchor.scheduled']);
    await s.up();
    const id = scheduled.payload.anchor_id as string;
    await waitFor('finalized', () => anchorSteps(c.ledger, id).find((e) => e.kind === 'anchor.finalized'));
    p.child.kill('SIGTERM');
    await p.exited;
    expect(anchorSteps(c.ledger, id).filter((e) => e.kind === 'anchor.submitted')).toHaveLength(1);
  }, 60_000);

  it('killed while its transaction can never land: the restart re-signs after expiry and pays one fee', async () => {
    const { c, s, kp } = await setup({ blockhashValidSlots: 25, interval: 3600 });
    const conn = new Connection(s.url, 'confirmed');
    const before = await conn.getBalance(kp.publicKey);
    s.dropTransactions = true;
    const p = await spawnDaemon(c.file, {}, c.socket);
    procs.push(p);
    const sub = await waitFor('anchor.submitted', () =>
      anchorSteps(c.ledger).find((e) => e.kind === 'anchor.submitted'),
    );
    p.child.kill('SIGKILL');
    await p.exited;
    s.dropTransactions = false;
    const id = sub.payload.anchor_id as string;
    const p2 = await spawnDaemon(c.file, {}, c.socket);
    procs.push(p2);
    await waitFor('finalized', () => anchorSteps(c.ledger, id).find((e) => e.kind === 'anchor.finalized'));
    p2.child.kill('SIGTERM');
    await p2.exited;
    const steps = anchorSteps(c.ledger, id);
    const submitted = steps.filter((e) => e.kind === 'anchor.submitted');
    expect(submitted.map((e) => e.payload.attempt)).toEqual([1, 2]);
    expect(steps.map((e) => e.kind)).toEqual([
      'anchor.scheduled',
      'anchor.submitted',
      'anchor.submitted',
      'anchor.confirmed',
      'anchor.finalized',
    ]);
    expect(steps[4]?.payload.tx).toBe(submitted[1]?.payload.tx);
    // The dropped first transaction never executed: exactly one fee was paid.
    expect(await conn.getBalance(kp.publicKey)).toBe(before - 5000);
    const st = await conn.getSignatureStatuses([submitted[0]?.payload.tx as string], {
      searchTransactionHistory: true,
    });
    expect(st.value[0]).toBeNull();
  }, 60_000);
});
