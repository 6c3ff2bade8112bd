// The Base target against a real anvil (OP stack flavour, chain id 84532): the memo lands in
// calldata, an independent viem read finds it, and finality follows the `finalized` block tag.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPublicClient, createWalletClient, type Hex, hexToString, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, BaseTarget, readEvmKeyFile, type SentTx, startAnvil } from '../../anchor/index.js';
import { tempDir } from '../helpers/run.js';

// anvil's well-known first development account (funded by anvil at start; test-only).
const DEV_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const memo = { origin: 'gavel.local/0123456789abcdef', size: 42, root: 'c'.repeat(64), head: 'd'.repeat(64) };

let anvil: Anvil;
const t = tempDir('anchor-base');
beforeAll(async () => {
  anvil = await startAnvil();
});
afterAll(async () => {
  await anvil?.stop();
  t.cleanup();
});

describe('Base target on a local anvil', () => {
  it('anchors a memo as self-transaction calldata that plain viem reads back', async () => {
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY });
    const sent: SentTx[] = [];
    const r = await target.submit(memo, { onSent: async (s) => void sent.push(s) });
    expect(r.tx).toMatch(/^0x[0-9a-f]{64}$/);
    expect(sent.map((s) => s.tx)).toEqual([r.tx]);
    expect(BigInt(r.fee)).toBeGreaterThan(21_000n);
    const back = await target.read(r.tx);
    expect(back.memo).toEqual(memo);
    expect(back.signer.toLowerCase()).toBe(target.address.toLowerCase());
    // Independent read: plain viem, no gavel code.
    const client = createPublicClient({ transport: http(anvil.url) });
    const tx = await client.getTransaction({ hash: r.tx as Hex });
    expect(hexToString(tx.input)).toBe(`gavel:v1:${memo.origin}:${memo.size}:${memo.root}:${memo.head}`);
    expect(tx.value).toBe(0n);
    expect(tx.to?.toLowerCase()).toBe(tx.from.toLowerCase());
    expect(await client.getChainId()).toBe(84532);
  });

  it('is final only once the finalized tag reaches its block', async () => {
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY });
    const r = await target.submit(memo, { onSent: async () => {} });
    const client = createPublicClient({ transport: http(anvil.url) });
    const finalizedBefore = (await client.getBlock({ blockTag: 'finalized' })).number ?? 0n;
    if (finalizedBefore < BigInt(r.slot)) expect(await target.isFinal(r)).toBe(false);
    await client.request({ method: 'anvil_mine' as never, params: ['0x80'] as never });
    expect(await target.isFinal(r)).toBe(true);
  });

  it('refuses a fee over the cap, a key file others can read, and says which RPC failed', async () => {
    const capped = new BaseTarget({
      network: 'local',
      rpcUrl: anvil.url,
      privateKey: DEV_KEY,
      maxFeePerGas: 1n,
    });
    await expect(capped.submit(memo, { onSent: async () => {} })).rejects.toMatchObject({ code: 'FEE_CAP' });
    const keyFile = path.join(t.dir, 'evm.key');
    writeFileSync(keyFile, DEV_KEY.slice(2), { mode: 0o600 });
    expect(readEvmKeyFile(keyFile)).toBe(DEV_KEY);
    chmodSync(keyFile, 0o644);
    expect(() => readEvmKeyFile(keyFile)).toThrow(/readable by group or others/);
    const down = new BaseTarget({ network: 'local', rpcUrl: 'http://127.0.0.1:9', privateKey: DEV_KEY });
    await expect(down.submit(memo, { onSent: async () => {} })).rejects.toMatchObject({ code: 'RPC' });
  });

  it('rebroadcasts a dropped transaction (mining paused) and lands exactly one, with the same hash', async () => {
    const client = createPublicClient({ transport: http(anvil.url) });
    const rpc = (method: string, params: unknown[] = []) =>
      client.request({ method: method as never, params: params as never });
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY, pollMs: 50 });
    const nonceBefore = await client.getTransactionCount({ address: target.address });
    await rpc('evm_setAutomine', [false]);
    const sent: SentTx[] = [];
    let dropped = 0;
    const p = target.submit(memo, {
      onSent: async (s) => {
        sent.push(s);
      },
    });
    try {
      // Drop it from the pool a few times while nothing is mined; the target puts it back.
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 150));
        if (sent[0] !== undefined) {
          await rpc('anvil_dropTransaction', [sent[0].tx]);
          dropped++;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await rpc('evm_setAutomine', [true]);
      await rpc('evm_mine');
    }
    const r = await p;
    expect(dropped).toBe(3);
    expect(sent).toHaveLength(1);
    expect(r.tx).toBe(sent[0]?.tx);
    // Exactly one transaction spent: the nonce moved by one.
    expect(await client.getTransactionCount({ address: target.address })).toBe(nonceBefore + 1);
  });

  it('resumes from a recorded transaction that a killed process sent: no second send', async () => {
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY, pollMs: 50 });
    const first: SentTx[] = [];
    const landed = await target.submit(memo, { onSent: async (s) => void first.push(s) });
    const again: SentTx[] = [];
    const r = await target.submit(memo, { onSent: async (s) => void again.push(s), prior: first });
    expect(r.tx).toBe(landed.tx);
    expect(again).toHaveLength(0);
  });

  it('re-signs a recorded but never broadcast transaction to the same hash (killed before sending)', async () => {
    const client = createPublicClient({ transport: http(anvil.url) });
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY, pollMs: 50 });
    // Record what would have been sent, then "crash" before the broadcast: drop it at once.
    await client.request({ method: 'evm_setAutomine' as never, params: [false] as never });
    const first: SentTx[] = [];
    const p = target.submit(memo, { onSent: async (s) => void first.push(s) });
    while (first.length === 0) await new Promise((r) => setTimeout(r, 20));
    const ac = first[0] as SentTx;
    await client.request({ method: 'anvil_dropTransaction' as never, params: [ac.tx] as never });
    // The old process is gone; a new one resumes with what the ledger recorded.
    const again: SentTx[] = [];
    const resumed = target.submit(memo, { onSent: async (s) => void again.push(s), prior: first });
    await new Promise((r) => setTimeout(r, 100));
    await client.request({ method: 'evm_setAutomine' as never, params: [true] as never });
    await client.request({ method: 'evm_mine' as never, params: [] as never });
    const [a, b] = await Promise.all([p, resumed]);
    expect(b.tx).toBe(ac.tx);
    expect(a.tx).toBe(ac.tx);
    expect(again).toHaveLength(0);
  });

  it('when another transaction takes its nonce (replaced), signs anew with the next nonce: one anchor lands', async () => {
    const client = createPublicClient({ transport: http(anvil.url) });
    const rpc = (method: string, params: unknown[] = []) =>
      client.request({ method: method as never, params: params as never });
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY, pollMs: 50 });
    await rpc('evm_setAutomine', [false]);
    const sent: SentTx[] = [];
    const p = target.submit(memo, { onSent: async (s) => void sent.push(s) });
    try {
      while (sent.length === 0) await new Promise((r) => setTimeout(r, 20));
      const nonce = Number(sent[0]?.extra.nonce);
      await rpc('anvil_dropTransaction', [sent[0]?.tx]);
      // The operator's wallet uses the same key and nonce for something else, and it is mined.
      const wallet = createWalletClient({
        account: privateKeyToAccount(DEV_KEY),
        transport: http(anvil.url),
      });
      await wallet.sendTransaction({
        chain: null,
        to: '0x000000000000000000000000000000000000dEaD',
        value: 1n,
        nonce,
      });
      await rpc('evm_mine');
      while (sent.length < 2) await new Promise((r) => setTimeout(r, 20));
    } finally {
      await rpc('evm_setAutomine', [true]);
      await rpc('evm_mine');
    }
    const r = await p;
    expect(sent.map((s) => s.attempt)).toEqual([1, 2]);
    expect(r.tx).toBe(sent[1]?.tx);
    expect(Number(sent[1]?.extra.nonce)).toBe(Number(sent[0]?.extra.nonce) + 1);
    await expect(client.getTransactionReceipt({ hash: sent[0]?.tx as Hex })).rejects.toThrow();
  });
});
