// The local Solana validator (LiteSVM behind JSON-RPC + WebSocket) used by unmodified web3.js
// Connection code, and the Solana target on it: the memo lands in instruction data, finality follows
// commitment, blockhash expiry re-signs without paying twice, a down or lying endpoint is an RPC
// error, and a resumed anchor whose transaction landed sends nothing.
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  sendAndConfirmTransaction,
  Transaction,
  TransactionInstruction,
} from '@solana/web3.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type SentTx, type SolanaRpcServer, SolanaTarget, startSolanaRpc } from '../../anchor/index.js';

const MEMO = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
const memo = { origin: 'gavel.local/0123456789abcdef', size: 42, root: 'c'.repeat(64), head: 'd'.repeat(64) };
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

// Funded by an airdrop, confirmed by polling (no WebSocket: web3.js's confirmTransaction leaves a
// status request running that would fail unhandled when a later step takes the server down).
async function funded(s: SolanaRpcServer): Promise<Keypair> {
  const c = new Connection(s.url, 'confirmed');
  const kp = Keypair.generate();
  const sig = await c.requestAirdrop(kp.publicKey, LAMPORTS_PER_SOL);
  while ((await c.getSignatureStatuses([sig])).value[0]?.confirmationStatus === undefined)
    await new Promise((r) => setTimeout(r, 20));
  return kp;
}

describe('local Solana validator (LiteSVM) with plain web3.js', () => {
  it('airdrops, confirms over the WebSocket, runs the real memo program, serves getTransaction', async () => {
    const s = await validator();
    const c = new Connection(s.url, { commitment: 'confirmed', wsEndpoint: s.wsUrl });
    const kp = await funded(s);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL);
    const tx = new Transaction().add(
      new TransactionInstruction({
        programId: MEMO,
        keys: [{ pubkey: kp.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from('hello memo'),
      }),
    );
    const sig = await sendAndConfirmTransaction(c, tx, [kp]);
    const got = await c.getTransaction(sig, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    expect(got?.meta?.err).toBeNull();
    expect(got?.meta?.fee).toBe(5000);
    expect(got?.meta?.logMessages?.join('\n')).toContain('Memo (len 10)');
    expect(Buffer.from(got?.transaction.message.compiledInstructions[0]?.data ?? []).toString()).toBe(
      'hello memo',
    );
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
    // The memo program refuses a memo that is not UTF-8: a real program failure, fee still paid.
    const bad = new Transaction().add(
      new TransactionInstruction({
        programId: MEMO,
        keys: [{ pubkey: kp.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from([0xff, 0xfe]),
      }),
    );
    await expect(sendAndConfirmTransaction(c, bad, [kp])).rejects.toThrow();
  });
});

describe('Solana target on the local validator', () => {
  it('anchors a memo that an independent Connection reads from instruction data; final after the lag', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, wsUrl: s.wsUrl, keypair: kp });
    const sent: SentTx[] = [];
    const inc = await t.submit(memo, { onSent: async (x) => void sent.push(x) });
    expect(sent.map((x) => x.tx)).toEqual([inc.tx]);
    expect(inc.fee).toBe('5000');
    expect((await t.read(inc.tx)).memo).toEqual(memo);
    const c = new Connection(s.url, 'confirmed');
    const raw = await c.getTransaction(inc.tx, { maxSupportedTransactionVersion: 0 });
    const ix = raw?.transaction.message.compiledInstructions.find((i) =>
      raw.transaction.message.staticAccountKeys[i.programIdIndex]?.equals(MEMO),
    );
    expect(Buffer.from(ix?.data ?? []).toString()).toBe(text);
    while (!(await t.isFinal(inc))) await new Promise((r) => setTimeout(r, 40));
    expect(await t.isFinal(inc)).toBe(true);
  });

  it('re-signs only after the blockhash expired, and pays one fee (dropped transactions never land)', async () => {
    const s = await validator({ blockhashValidSlots: 8 });
    const kp = await funded(s);
    const t = new SolanaTarget({
      network: 'local',
      rpcUrl: s.url,
      keypair: kp,
      rebroadcastMs: 40,
      pollMs: 20,
    });
    const c = new Connection(s.url, 'confirmed');
    s.dropTransactions = true;
    const sent: SentTx[] = [];
    const heights: number[] = [];
    const inc = await t.submit(memo, {
      onSent: async (x) => {
        sent.push(x);
        heights.push(await c.getBlockHeight());
        if (sent.length === 2) s.dropTransactions = false;
      },
    });
    expect(sent.map((x) => x.attempt)).toEqual([1, 2]);
    expect(inc.tx).toBe(sent[1]?.tx);
    // The second was signed only once the first's blockhash had expired.
    expect(heights[1]).toBeGreaterThan(Number(sent[0]?.extra.last_valid_block_height));
    const st = await c.getSignatureStatuses([sent[0]?.tx as string], { searchTransactionHistory: true });
    expect(st.value[0]).toBeNull();
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
  });

  it('a resumed anchor whose transaction landed is returned without sending anything', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp });
    const first: SentTx[] = [];
    const inc = await t.submit(memo, { onSent: async (x) => void first.push(x) });
    const again: SentTx[] = [];
    const r = await t.submit(memo, { onSent: async (x) => void again.push(x), prior: first });
    expect(r.tx).toBe(inc.tx);
    expect(again).toHaveLength(0);
  });

  it('an endpoint that is down, answers garbage or JSON-RPC errors is an RPC error naming it; then it recovers', async () => {
    const s = await validator();
    const kp = await funded(s);
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: kp, timeoutMs: 2000 });
    await s.down();
    await expect(t.submit(memo, { onSent: async () => {} })).rejects.toMatchObject({
      code: 'RPC',
      message: expect.stringContaining(s.url),
    });
    await s.up();
    s.mode = 'garbage';
    await expect(t.balance()).rejects.toMatchObject({ code: 'RPC' });
    s.mode = 'error';
    await expect(t.read('1'.repeat(88))).rejects.toMatchObject({ code: 'RPC', message: /unhealthy/ });
    s.mode = 'ok';
    const inc = await t.submit(memo, { onSent: async () => {} });
    expect((await t.read(inc.tx)).memo).toEqual(memo);
    await expect(t.read('not-a-signature')).rejects.toMatchObject({ code: 'BAD_TX' });
    await expect(t.read('1'.repeat(88))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to anchor from an empty account', async () => {
    const s = await validator();
    const t = new SolanaTarget({ network: 'local', rpcUrl: s.url, keypair: Keypair.generate() });
    await expect(t.submit(memo, { onSent: async () => {} })).rejects.toMatchObject({ code: 'BALANCE' });
  });
});
