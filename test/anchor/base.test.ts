// The Base target against a real anvil (OP stack flavour, chain id 84532): the memo lands in
// calldata, an independent viem read finds it, and finality follows the `finalized` block tag.
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPublicClient, type Hex, hexToString, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, BaseTarget, readEvmKeyFile, startAnvil } from '../../anchor/index.js';
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
    const r = await target.submit(memo);
    expect(r.tx).toMatch(/^0x[0-9a-f]{64}$/);
    expect(r.gasUsed).toBeGreaterThan(21_000n);
    const back = await target.read(r.tx);
    expect(back.memo).toEqual(memo);
    expect(back.to?.toLowerCase()).toBe(back.from.toLowerCase());
    // Independent read: plain viem, no gavel code.
    const client = createPublicClient({ transport: http(anvil.url) });
    const tx = await client.getTransaction({ hash: r.tx });
    expect(hexToString(tx.input)).toBe(`gavel:v1:${memo.origin}:${memo.size}:${memo.root}:${memo.head}`);
    expect(tx.value).toBe(0n);
    expect(await client.getChainId()).toBe(84532);
  });

  it('is final only once the finalized tag reaches its block', async () => {
    const target = new BaseTarget({ network: 'local', rpcUrl: anvil.url, privateKey: DEV_KEY });
    const r = await target.submit(memo);
    const client = createPublicClient({ transport: http(anvil.url) });
    const finalizedBefore = (await client.getBlock({ blockTag: 'finalized' })).number ?? 0n;
    if (finalizedBefore < r.block) expect(await target.isFinal(r.block)).toBe(false);
    await client.request({ method: 'anvil_mine' as never, params: ['0x80'] as never });
    expect(await target.isFinal(r.block)).toBe(true);
  });

  it('refuses a fee over the cap, a key file others can read, and says which RPC failed', async () => {
    const capped = new BaseTarget({
      network: 'local',
      rpcUrl: anvil.url,
      privateKey: DEV_KEY,
      maxFeePerGas: 1n,
    });
    await expect(capped.submit(memo)).rejects.toMatchObject({ code: 'FEE_CAP' });
    const keyFile = path.join(t.dir, 'evm.key');
    writeFileSync(keyFile, DEV_KEY.slice(2), { mode: 0o600 });
    expect(readEvmKeyFile(keyFile)).toBe(DEV_KEY);
    chmodSync(keyFile, 0o644);
    expect(() => readEvmKeyFile(keyFile)).toThrow(/readable by group or others/);
    const down = new BaseTarget({ network: 'local', rpcUrl: 'http://127.0.0.1:9', privateKey: DEV_KEY });
    await expect(down.submit(memo)).rejects.toMatchObject({ code: 'RPC' });
  });
});
