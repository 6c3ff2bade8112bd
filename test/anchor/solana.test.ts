// The Solana target on the local validator (LiteSVM behind JSON-RPC + WebSocket): the memo lands in
// instruction data and an independent web3.js Connection reads the same bytes; inclusion then
// finality; the fee recorded is what the chain charged; blockhash expiry re-signs only when the
// old transaction can no longer land (one fee); a resumed anchor returns or waits on its prior
// transactions instead of signing anew; a down, hanging or lying endpoint is an RPC error naming it.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionInstruction,
} from '@solana/web3.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AnchorMemo,
  loadSolanaKeypair,
  memoBytes,
  type SentTx,
  type SolanaRpcServer,
  SolanaTarget,
  startSolanaRpc,
} from '../../anchor/index.js';

const MEMO = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const memo: AnchorMemo = {
  origin: 'gavel.local/0123456789abcdef',
  size: 42,
  root: 'c'.repeat(64),
  head: 'd'.repeat(64),
};
const text = `gavel:v1:${memo.origin}:${memo.size}:${memo.root}:${memo.head}`;

let servers: SolanaRpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function validator(o: Parameters<typeof startSolanaRpc>[0] = {}) {
  const s = await startSolanaRpc({ slotMs: 40, finalityLag: 6, ...o });
  servers.push(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Funded by an airdrop, confirmed by polling (no WebSocket: web3.js's confirmTransaction leaves a
// status request running that would fail unhandled when a later step takes the server down).
async function funded(s: SolanaRpcServer): Promise<Keypair> {
  const c = new Connection(s.url, 'confirmed');
  const kp = Keypair.generate();
  const sig = await c.requestAirdrop(kp.publicKey, LAMPORTS_PER_SOL);
  while ((await c.getSignatureStatuses([sig])).value[0]?.confirmationStatus === undefined) await sleep(20);
  return kp;
}

const fast = { rebroadcastMs: 40, pollMs: 20 };

describe('Solana target on the local validator', () => {
  it('anchors a memo that an independent Connection reads from instruction data; final after the lag', async () => {
    const s = await validator();
    const kp = await funded(s);
    const dir = mkdtempSync(join(tmpdir(), 'gavel-sol-'));
    writeFileSync(join(dir, 'id.json'), JSON.stringify(Array.from(kp.secretKey)), { mode: 0o600 });
    const t = new SolanaTarget({
      network: 'local',
      rpcUrl: s.url,
      wsUrl: s.wsUrl,
      keypairFile: join(dir, 'id.json'),
    });
    expect(t.address).toBe(kp.publicKey.toBase58());
    expect(await t.balance()).toBe(BigInt(LAMPORTS_PER_SOL));
    const sent: SentTx[] = [];
    const inc = await t.submit(memo, { onSent: async (x) => void sent.push(x) });
    expect(sent.map((x) => [x.tx, x.attempt])).toEqual([[inc.tx, 1]]);
    expect(Number(sent[0]?.extra.last_valid_block_height)).toBeGreaterThan(0);
    expect(inc.fee).toBe('5000');
    const c = new Connection(s.url, 'confirmed');
    const raw = await c.getTransaction(inc.tx, { maxSupportedTransactionVersion: 0 });
    expect(raw?.slot).toBe(inc.slot);
    expect(raw?.meta?.fee).toBe(5000);
    const keys = raw?.transaction.message.staticAccountKeys ?? [];
    const ixs = raw?.transaction.message.compiledInstructions ?? [];
    expect(ixs).toHaveLength(1);
    expect(keys[ixs[0]?.programIdIndex ?? -1]?.equals(MEMO)).toBe(true);
    expect(Buffer.from(ixs[0]?.data ?? []).toString()).toBe(text);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
    expect(await t.read(inc.tx)).toEqual({ memo, slot: inc.slot, signer: kp.publicKey.toBase58() });
    while (!(await t.isFinal(inc))) await sleep(40);
    expect((await c.getSignatureStatuses([inc.tx])).value[0]?.confirmationStatus).toBe('finalized');
    expect(t.explorer(inc.tx)).toBeUndefined();
  });

  it('with a compute-unit price: the priority fee is charged, recorded, and the limit suffices', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, computeUnitPrice: 50_000 });
    const inc = await t.submit(memo, { onSent: async () => {} });
    expect(inc.fee).toBe(String(5000 + 1000)); // 50,000 µlamports x 20,000 CU
    const c = new Connection(s.url, 'confirmed');
    const raw = await c.getTransaction(inc.tx, { maxSupportedTransactionVersion: 0 });
    expect(raw?.meta?.err).toBeNull();
    expect(raw?.meta?.computeUnitsConsumed).toBeLessThan(20_000);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 6000);
    expect((await t.read(inc.tx)).memo).toEqual(memo);
  });

  it('re-signs only after the blockhash expired at finalized height, and pays one fee', async () => {
    const s = await validator({ blockhashValidSlots: 8, finalityLag: 3 });
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, ...fast });
    const c = new Connection(s.url, 'confirmed');
    s.dropTransactions = true;
    const sent: SentTx[] = [];
    const heights: number[] = [];
    const inc = await t.submit(memo, {
      onSent: async (x) => {
        sent.push(x);
        heights.push(await c.getBlockHeight('finalized'));
        if (sent.length === 2) s.dropTransactions = false;
      },
    });
    expect(sent.map((x) => x.attempt)).toEqual([1, 2]);
    expect(inc.tx).toBe(sent[1]?.tx);
    expect(heights[1]).toBeGreaterThan(Number(sent[0]?.extra.last_valid_block_height));
    const st = await c.getSignatureStatuses([sent[0]?.tx as string, inc.tx], {
      searchTransactionHistory: true,
    });
    expect(st.value[0]).toBeNull();
    expect(st.value[1]?.err).toBeNull();
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
    expect(s.executed).toBe(1);
  });

  it('gives up after maxAttempts expired transactions with a retryable EXPIRED, having paid nothing', async () => {
    const s = await validator({ blockhashValidSlots: 4, finalityLag: 2 });
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, maxAttempts: 2, ...fast });
    s.dropTransactions = true;
    const sent: SentTx[] = [];
    await expect(t.submit(memo, { onSent: async (x) => void sent.push(x) })).rejects.toMatchObject({
      code: 'EXPIRED',
    });
    expect(sent.map((x) => x.attempt)).toEqual([1, 2]);
    s.dropTransactions = false;
    // Resumed with both: they cannot land any more, so the next one is attempt 3, and it lands.
    const more: SentTx[] = [];
    const inc = await t.submit(memo, { prior: sent, onSent: async (x) => void more.push(x) });
    expect(more.map((x) => x.attempt)).toEqual([3]);
    expect(inc.tx).toBe(more[0]?.tx);
    expect(await t.balance()).toBe(BigInt(LAMPORTS_PER_SOL - 5000));
  });

  it('a resumed anchor whose transaction landed is returned without sending anything', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp });
    const first: SentTx[] = [];
    const inc = await t.submit(memo, { onSent: async (x) => void first.push(x) });
    const again: SentTx[] = [];
    const r = await t.submit(memo, { onSent: async (x) => void again.push(x), prior: first });
    expect(r).toEqual(inc);
    expect(again).toHaveLength(0);
    expect(s.executed).toBe(1);
  });

  it('a resumed anchor waits on a prior transaction that can still land instead of signing anew', async () => {
    const s = await validator({ blockhashValidSlots: 60 });
    const kp = await funded(s);
    const c = new Connection(s.url, 'confirmed');
    // What a killed process left behind: a signed memo transaction, sent once, not landed yet.
    const bh = await c.getLatestBlockhash();
    const tx = new Transaction({ feePayer: kp.publicKey, ...bh }).add(
      new TransactionInstruction({
        programId: MEMO,
        keys: [{ pubkey: kp.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from(memoBytes(memo)),
      }),
    );
    tx.sign(kp);
    s.dropTransactions = true;
    const sig = await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    const prior: SentTx[] = [
      { tx: sig, attempt: 1, extra: { last_valid_block_height: bh.lastValidBlockHeight } },
    ];
    s.dropTransactions = false;
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, ...fast });
    const again: SentTx[] = [];
    const pending = t.submit(memo, { prior, onSent: async (x) => void again.push(x) });
    await sleep(300); // the resumed submit is watching; the network now delivers the old one
    expect(again).toHaveLength(0);
    await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    const inc = await pending;
    expect(inc.tx).toBe(sig);
    expect(again).toHaveLength(0);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
  });

  it('an endpoint that is down, hangs, answers garbage or JSON-RPC errors is an RPC error naming it; then it recovers', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, timeoutMs: 500 });
    const none = { onSent: async () => expect.unreachable('nothing may be signed') };
    await s.down();
    await expect(t.submit(memo, none)).rejects.toMatchObject({
      code: 'RPC',
      message: expect.stringContaining(s.url),
    });
    await s.up();
    s.mode = 'garbage';
    await expect(t.submit(memo, none)).rejects.toMatchObject({
      code: 'RPC',
      message: expect.stringContaining(s.url),
    });
    s.mode = 'error';
    await expect(t.read('1'.repeat(88))).rejects.toMatchObject({ code: 'RPC', message: /unhealthy/ });
    s.mode = 'hang';
    await expect(t.balance()).rejects.toMatchObject({ code: 'RPC', message: /no answer within 500 ms/ });
    s.mode = 'ok';
    expect(s.executed).toBe(0);
    const inc = await t.submit(memo, { onSent: async () => {} });
    expect((await t.read(inc.tx)).memo).toEqual(memo);
    expect(s.executed).toBe(1);
  });

  it('read refuses what is not one good memo: bad signature, unknown, failed, no memo', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp });
    const c = new Connection(s.url, 'confirmed');
    await expect(t.read('not-a-signature')).rejects.toMatchObject({ code: 'BAD_TX' });
    await expect(t.read('1'.repeat(88))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const land = async (ix: TransactionInstruction) => {
      const bh = await c.getLatestBlockhash();
      const tx = new Transaction({ feePayer: kp.publicKey, ...bh }).add(ix);
      tx.sign(kp);
      const sig = await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
      while ((await c.getTransaction(sig, { maxSupportedTransactionVersion: 0 })) === null) await sleep(20);
      return sig;
    };
    const memoIx = (data: Buffer) =>
      new TransactionInstruction({
        programId: MEMO,
        keys: [{ pubkey: kp.publicKey, isSigner: true, isWritable: false }],
        data,
      });
    // Not UTF-8: the memo program fails it, the transaction lands failed.
    await expect(t.read(await land(memoIx(Buffer.from([0xff, 0xfe]))))).rejects.toMatchObject({
      code: 'TX_FAILED',
    });
    await expect(t.read(await land(memoIx(Buffer.from('gavel:v2:something'))))).rejects.toMatchObject({
      code: 'BAD_MEMO',
    });
    // A transaction that landed fine but carries no memo instruction at all (a plain transfer).
    const transfer = SystemProgram.transfer({
      fromPubkey: kp.publicKey,
      toPubkey: Keypair.generate().publicKey,
      lamports: 1_000_000,
    });
    await expect(t.read(await land(transfer))).rejects.toMatchObject({ code: 'BAD_MEMO' });
  });

  it('refuses to anchor from an empty account, without a key, or with a bad key file', async () => {
    const s = await validator();
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: Keypair.generate() });
    const none = { onSent: async () => expect.unreachable('nothing may be signed') };
    await expect(t.submit(memo, none)).rejects.toMatchObject({
      code: 'BALANCE',
      message: /holds 0 lamports/,
    });
    const ro = new SolanaTarget({ network: 'local', rpcUrl: s.url });
    expect(ro.address).toBe('(read-only)');
    await expect(ro.submit(memo, none)).rejects.toMatchObject({ code: 'BAD_KEY' });
    const dir = mkdtempSync(join(tmpdir(), 'gavel-sol-'));
    writeFileSync(join(dir, 'bad.json'), '[1,2,3]');
    expect(() => loadSolanaKeypair(join(dir, 'bad.json'))).toThrow(/bad\.json.*64 numbers/);
    expect(() => loadSolanaKeypair(join(dir, 'missing.json'))).toThrow(/missing\.json/);
    expect(() => new SolanaTarget({ network: 'local' })).toThrow(/needs rpcUrl/);
    expect(() => new SolanaTarget({ network: 'devnet', computeUnitPrice: -1 })).toThrow(/computeUnitPrice/);
  });

  it('explorer links name the cluster for devnet/testnet, none for mainnet-beta, no link for local', () => {
    const sig = '5'.repeat(88);
    expect(new SolanaTarget({ network: 'devnet' }).explorer(sig)).toBe(
      `https://explorer.solana.com/tx/${sig}?cluster=devnet`,
    );
    expect(new SolanaTarget({ network: 'testnet' }).explorer(sig)).toBe(
      `https://explorer.solana.com/tx/${sig}?cluster=testnet`,
    );
    expect(new SolanaTarget({ network: 'mainnet-beta' }).explorer(sig)).toBe(
      `https://explorer.solana.com/tx/${sig}`,
    );
  });
});
