// The daemon anchoring on a real local chain, as a real process: every step recorded, the anchor
// final, `gavel anchor verify` passing, an independent viem read finding the memo; the daemon killed
// (SIGKILL) between submit and confirm resumes without paying twice; a chain that is down at submit
// time is retried until it is back; truncating or rewriting the ledger makes verify fail and name the
// anchor.
import { spawnSync } from 'node:child_process';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPublicClient, type Hex, hexToString, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from '../../anchor/index.js';
import * as chain from '../../chain/index.js';
import { DaemonClient } from '../../daemon/index.js';
import { makeConfig, TOKENS } from '../daemon/helpers.js';
import { spawnDaemon } from '../daemon/proc.js';
import { startRpcProxy } from '../helpers/rpc-proxy.js';
import { ANCHOR_STEPS, anchorSteps, finalizedCovering, type Line, lines, waitFor } from './helpers.js';

// anvil's first development account (funded by anvil; test-only key).
const DEV_KEY = 'ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const DEV_ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
// anvil's second development account (test-only).
const DEV_KEY_2 = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

function gavel(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['bin/gavel.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
}

function anchorConfig(rpc: string, interval = 1, extra = ''): ReturnType<typeof makeConfig> {
  const c = makeConfig(`
[anchor]
interval_seconds = ${interval}

[[anchor.targets]]
name = "base-local"
chain = "base"
network = "local"
rpc_url = "${rpc}"
key_file = "base.key"
${extra}`);
  writeFileSync(join(c.dir, 'base.key'), `0x${DEV_KEY}\n`, { mode: 0o600 });
  return c;
}

let anvil: Anvil;
beforeAll(async () => {
  // Interval mining with short epochs so `finalized` trails the head by a few blocks.
  anvil = await startAnvil({ blockTime: 0.5, slotsInAnEpoch: 1 });
});
afterAll(async () => {
  await anvil?.stop();
});

describe('daemon anchoring on a local Base chain (anvil)', () => {
  it('anchors, finalizes, verifies; independent viem finds the memo; tamper makes verify name the anchor', async () => {
    const c = anchorConfig(anvil.url);
    const p = await spawnDaemon(c.file, {}, c.socket);
    const client = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    let fin: Line;
    try {
      for (let i = 0; i < 5; i++)
        await client.call('POST', '/v1/events', { kind: 'custom.demo', action: 'work', detail: `step ${i}` });
      const n = lines(c.ledger).length;
      fin = await waitFor('a finalized anchor of the events', () => finalizedCovering(c.ledger, n));
      // On demand: `anchor now --wait` anchors the current head (admin token) and waits for finality;
      // a read-only token may not ask.
      const env = { GAVEL_SOCKET: c.socket, GAVEL_TOKEN: TOKENS.admin };
      const now = gavel(['anchor', 'now', '--wait', '--timeout', '40', '--json'], env);
      expect(now.status, now.stdout + now.stderr).toBe(0);
      const st = JSON.parse(now.stdout) as { targets: { lastFinalized: { anchorId: string } }[] };
      expect(st.targets[0]?.lastFinalized.anchorId).not.toBe(fin.payload.anchor_id);
      const denied = gavel(['anchor', 'now'], { ...env, GAVEL_TOKEN: TOKENS.reader });
      expect(denied.status).toBe(3); // the client's exit status for 401/403
      expect(denied.stderr).toMatch(/admin/);
      const status = gavel(['anchor', 'status'], { ...env, GAVEL_TOKEN: TOKENS.reader });
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toMatch(/^base-local {2}base local {2}0xf39F/);
    } finally {
      client.close();
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    }
    const id = fin.payload.anchor_id as string;
    expect(anchorSteps(c.ledger, id).map((e) => e.kind)).toEqual(ANCHOR_STEPS);
    const cp = fin.payload.checkpoint as { origin: string; size: number; root: string };
    const all = lines(c.ledger);
    expect(fin.payload.head).toBe(all[cp.size - 1]?.hash);

    // Independent read: plain viem, calldata of the transaction.
    const pub = createPublicClient({ transport: http(anvil.url) });
    const tx = await pub.getTransaction({ hash: fin.payload.tx as Hex });
    expect(hexToString(tx.input)).toBe(`gavel:v1:${cp.origin}:${cp.size}:${cp.root}:${fin.payload.head}`);
    expect(tx.to?.toLowerCase()).toBe(tx.from.toLowerCase());

    const ok = gavel(['anchor', 'verify', '--config', c.file, '--json', '--seq', '6']);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    const rep = JSON.parse(ok.stdout) as {
      ok: boolean;
      anchors: { ok: boolean; final: boolean }[];
      inclusion: { ok: boolean };
    };
    expect(rep.ok).toBe(true);
    expect(rep.anchors[0]).toMatchObject({ ok: true, final: true });
    expect(rep.inclusion.ok).toBe(true);

    // One entry and its proof, checked against the chain alone (no ledger).
    const proofFile = join(c.dir, 'entry6.proof.json');
    const pr = gavel(['anchor', 'prove', '--config', c.file, '--seq', '6', '--out', proofFile]);
    expect(pr.status, pr.stderr).toBe(0);
    const held = gavel(['anchor', 'check-proof', proofFile, '--rpc', anvil.url]);
    expect(held.status, held.stdout + held.stderr).toBe(0);
    expect(held.stdout).toMatch(/^OK: entry 6 is included in the \d+-entry tree/);
    const proof = JSON.parse(readFileSync(proofFile, 'utf8')) as {
      entry: Record<string, unknown>;
      path: string[];
      anchor: { tx: string };
    };
    const forgedEntry = { ...proof, entry: { ...proof.entry, detail: 'something else' } };
    writeFileSync(proofFile, JSON.stringify(forgedEntry));
    const f1 = gavel(['anchor', 'check-proof', proofFile, '--rpc', anvil.url]);
    expect(f1.status).toBe(1);
    expect(f1.stdout).toMatch(/the entry hashes to/);
    const p0 = proof.path[0] as string;
    const forgedPath = { ...proof, path: [`${p0.slice(0, -4)}AAA=`, ...proof.path.slice(1)] };
    writeFileSync(proofFile, JSON.stringify(forgedPath));
    const f2 = gavel(['anchor', 'check-proof', proofFile, '--rpc', anvil.url]);
    expect(f2.status).toBe(1);
    expect(f2.stdout).toMatch(/the entry is not in the anchored tree/);
    const down = gavel(['anchor', 'check-proof', proofFile, '--rpc', 'http://127.0.0.1:9']);
    expect(down.status).toBe(3);

    // Edit one early entry in place: the ledger no longer verifies, and the anchor covering it is named.
    const original = readFileSync(c.ledger, 'utf8');
    writeFileSync(c.ledger, original.replace('step 1', 'step X'));
    const edited = gavel(['anchor', 'verify', '--config', c.file, '--all']);
    expect(edited.status).toBe(1);
    expect(edited.stdout).toMatch(new RegExp(`FAIL ${id}[^]*fails verification`));

    // Rewrite: the same edit with every hash after it re-chained, so the ledger is self-consistent
    // (seals aside: no secret given); the anchored root no longer matches what the chain holds.
    let prev: string | undefined;
    const forged = original
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const e = JSON.parse(l) as Record<string, unknown>;
        if (e.detail === 'step 1') e.detail = 'step X';
        if (prev !== undefined) e.previous_hash = prev;
        e.hash = chain.entryHash(e);
        prev = e.hash as string;
        return chain.canonicalJson(e);
      });
    writeFileSync(c.ledger, `${forged.join('\n')}\n`);
    const ledgerOnly = gavel(['audit', 'verify', '--ledger', c.ledger]);
    expect(ledgerOnly.status, ledgerOnly.stdout + ledgerOnly.stderr).toBe(0);
    const bad = gavel(['anchor', 'verify', '--config', c.file, '--all']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(
      new RegExp(`FAIL ${id}[^]*chain holds ${cp.root}: the first ${cp.size} entries were rewritten`),
    );

    // Cut: the ledger truncated before the anchor's entries; the receipts file still names the anchor.
    writeFileSync(c.ledger, original);
    const keep = original.split('\n').slice(0, cp.size - 1);
    writeFileSync(c.ledger, `${keep.join('\n')}\n`);
    const cut = gavel(['anchor', 'verify', '--config', c.file, '--all']);
    expect(cut.status).toBe(1);
    expect(cut.stdout).toMatch(
      new RegExp(`anchor ${id.replace('/', '\\/')} .*no longer matches: .*the ledger was cut`),
    );
    writeFileSync(c.ledger, original);
    truncateSync(`${c.ledger}.idx`, 0);
  }, 90_000);

  it('retries through an RPC that is down, answers garbage, then errors: one finalized anchor, one transaction', async () => {
    const proxy = await startRpcProxy(anvil.url);
    await proxy.down();
    const c = anchorConfig(proxy.url);
    const pub = createPublicClient({ transport: http(anvil.url) });
    const nonceBefore = await pub.getTransactionCount({ address: DEV_ADDRESS });
    const p = await spawnDaemon(c.file, {}, c.socket);
    const admin = new DaemonClient({ socket: c.socket, token: TOKENS.admin });
    try {
      const scheduled = await waitFor('anchor.scheduled', () =>
        anchorSteps(c.ledger).find((e) => e.kind === 'anchor.scheduled'),
      );
      const id = scheduled.payload.anchor_id as string;
      await new Promise((r) => setTimeout(r, 1500));
      await proxy.up();
      proxy.mode = 'garbage';
      await new Promise((r) => setTimeout(r, 1500));
      proxy.mode = 'error';
      await new Promise((r) => setTimeout(r, 1500));
      // Nothing was sent while the endpoint was unusable.
      expect(anchorSteps(c.ledger, id).map((e) => e.kind)).toEqual(['anchor.scheduled']);
      const st = await admin.call<{ targets: { retries: number; lastError?: string }[] }>(
        'GET',
        '/v1/anchors',
      );
      expect(st.targets[0]?.retries).toBeGreaterThan(0);
      expect(st.targets[0]?.lastError).toMatch(/RPC/);
      proxy.mode = 'pass';
      await waitFor('the anchor finalized', () =>
        anchorSteps(c.ledger, id).find((e) => e.kind === 'anchor.finalized'),
      );
      expect(anchorSteps(c.ledger, id).map((e) => e.kind)).toEqual([
        'anchor.scheduled',
        'anchor.submitted',
        'anchor.confirmed',
        'anchor.finalized',
      ]);
    } finally {
      admin.close();
      p.child.kill('SIGTERM');
      await p.exited;
      await proxy.close();
    }
    const finals = anchorSteps(c.ledger).filter((e) => e.kind === 'anchor.finalized');
    expect(new Set(finals.map((e) => e.payload.anchor_id)).size).toBe(finals.length);
    const sent = new Set(
      anchorSteps(c.ledger)
        .filter((e) => e.kind === 'anchor.submitted')
        .map((e) => e.payload.tx),
    );
    const nonceAfter = await pub.getTransactionCount({ address: DEV_ADDRESS });
    // One transaction per anchor; an anchor still in flight at SIGTERM may have spent its one too.
    expect(nonceAfter - nonceBefore).toBe(sent.size);
    expect(sent.size - finals.length).toBeLessThanOrEqual(1);
  }, 90_000);

  it('SIGKILLed between submit and confirm (tx dropped meanwhile): the restart lands the same tx once', async () => {
    const pub = createPublicClient({ transport: http(anvil.url) });
    const rpc = (method: string, params: unknown[] = []) =>
      pub.request({ method: method as never, params: params as never });
    const c = anchorConfig(anvil.url, 3600);
    const nonceBefore = await pub.getTransactionCount({ address: DEV_ADDRESS });
    await rpc('evm_setIntervalMining', [0]);
    await rpc('evm_setAutomine', [false]);
    let id: string;
    let tx: string;
    try {
      const p = await spawnDaemon(c.file, {}, c.socket);
      const sub = await waitFor('anchor.submitted', () =>
        anchorSteps(c.ledger).find((e) => e.kind === 'anchor.submitted'),
      );
      id = sub.payload.anchor_id as string;
      tx = sub.payload.tx as string;
      p.child.kill('SIGKILL');
      await p.exited;
      // The pool loses it too (a node restart, an eviction): only the ledger remembers it.
      await rpc('anvil_dropTransaction', [tx]);
    } finally {
      await rpc('evm_setAutomine', [true]);
    }
    // Blocks keep coming (evm_setIntervalMining takes whole seconds; this keeps the 0.2 s pace).
    const miner = setInterval(() => void rpc('evm_mine').catch(() => {}), 200);
    const p2 = await spawnDaemon(c.file, {}, c.socket);
    try {
      await waitFor('the resumed anchor finalized', () =>
        anchorSteps(c.ledger, id).find((e) => e.kind === 'anchor.finalized'),
      );
    } finally {
      clearInterval(miner);
      await rpc('evm_setIntervalMining', [1]);
      p2.child.kill('SIGTERM');
      await p2.exited;
    }
    const steps = anchorSteps(c.ledger, id);
    expect(steps.map((e) => e.kind)).toEqual(ANCHOR_STEPS);
    expect(steps[3]?.payload.tx).toBe(tx);
    // The restart's own boot entries come between the submit and the confirm.
    expect(lines(c.ledger).filter((e) => e.kind === 'boot.init')).toHaveLength(2);
    const sent = new Set(
      anchorSteps(c.ledger)
        .filter((e) => e.kind === 'anchor.submitted')
        .map((e) => e.payload.tx),
    );
    expect(await pub.getTransactionCount({ address: DEV_ADDRESS })).toBe(nonceBefore + sent.size);
    const ok = gavel(['anchor', 'verify', '--config', c.file, '--all']);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
  }, 90_000);

  it('a daily spend cap and a minimum balance stop anchoring with anchor.failed, naming the reason', async () => {
    // Two targets with different anvil development accounts (no nonce sharing): one may spend 1 wei a
    // day (its first anchor goes through, then the cap holds), one demands more balance than exists.
    const c = anchorConfig(
      anvil.url,
      1,
      `daily_cap = "1"

[[anchor.targets]]
name = "base-rich-only"
chain = "base"
network = "local"
rpc_url = "${anvil.url}"
key_file = "base2.key"
min_balance = "1000000000000000000000000000"
`,
    );
    writeFileSync(join(c.dir, 'base2.key'), `${DEV_KEY_2}\n`, { mode: 0o600 });
    const p = await spawnDaemon(c.file, {}, c.socket);
    const agent = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    try {
      const capped = async () => {
        await agent.call('POST', '/v1/events', { kind: 'custom.demo', action: 'work', detail: 'more' });
        return anchorSteps(c.ledger).find(
          (e) => e.kind === 'anchor.failed' && e.payload.code === 'SPEND_CAP',
        );
      };
      const cap = await waitFor('a SPEND_CAP failure', capped);
      expect(cap.payload.target).toBe('base-local');
      expect(String(cap.payload.reason)).toMatch(/spent \d+ of its daily cap 1 today/);
      const poor = await waitFor('a BALANCE failure', () =>
        anchorSteps(c.ledger).find((e) => e.kind === 'anchor.failed' && e.payload.code === 'BALANCE'),
      );
      expect(poor.payload.target).toBe('base-rich-only');
      // Nothing was ever sent for the target below its minimum balance.
      expect(
        anchorSteps(c.ledger).filter(
          (e) => e.kind === 'anchor.submitted' && e.payload.target === 'base-rich-only',
        ),
      ).toEqual([]);
      // The capped target sent exactly one transaction: the one before the cap was reached.
      const sent = anchorSteps(c.ledger).filter(
        (e) => e.kind === 'anchor.submitted' && e.payload.target === 'base-local',
      );
      expect(sent).toHaveLength(1);
    } finally {
      agent.close();
      p.child.kill('SIGTERM');
      await p.exited;
    }
  }, 90_000);
});
