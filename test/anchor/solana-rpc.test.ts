// The local Solana validator (LiteSVM behind JSON-RPC + WebSocket) driven by plain, unmodified
// @solana/web3.js Connection code, as a user's own script would: airdrop, balance, blockhash and
// its expiry, legacy and v0 transactions (base64 and base58), preflight, signature statuses through
// processed -> confirmed -> finalized, confirmation over the WebSocket, getTransaction in the shapes
// web3.js validates, fees as the real memo program charges them; and the fault knobs tests rely on.
import {
  ComputeBudgetProgram,
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  PublicKey,
  SendTransactionError,
  sendAndConfirmTransaction,
  Transaction,
  TransactionExpiredBlockheightExceededError,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from '@solana/web3.js';
import { afterEach, describe, expect, it } from 'vitest';
import { base58Encode, type SolanaRpcServer, startSolanaRpc } from '../../anchor/index.js';

const MEMO = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');

let servers: SolanaRpcServer[] = [];
let conns: Connection[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
  conns = [];
});

async function validator(o: Parameters<typeof startSolanaRpc>[0] = {}) {
  const s = await startSolanaRpc({ slotMs: 40, finalityLag: 4, ...o });
  servers.push(s);
  return s;
}

function connect(s: SolanaRpcServer, timeoutMs?: number): Connection {
  const c = new Connection(s.url, {
    commitment: 'confirmed',
    wsEndpoint: s.wsUrl,
    ...(timeoutMs === undefined
      ? {}
      : { fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }) }),
  });
  conns.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(f: () => Promise<T | undefined | null | false>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await f();
    if (v !== undefined && v !== null && v !== false) return v;
    await sleep(25);
  }
  throw new Error('condition not reached');
}

async function funded(c: Connection, lamports = LAMPORTS_PER_SOL): Promise<Keypair> {
  const kp = Keypair.generate();
  const sig = await c.requestAirdrop(kp.publicKey, lamports);
  await c.confirmTransaction({ signature: sig, ...(await c.getLatestBlockhash()) });
  return kp;
}

const memoIx = (signer: PublicKey, data: Uint8Array | string) =>
  new TransactionInstruction({
    programId: MEMO,
    keys: [{ pubkey: signer, isSigner: true, isWritable: false }],
    data: Buffer.from(data),
  });

async function rawCall(url: string, body: unknown): Promise<unknown> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return r.json();
}

describe('local Solana validator: plain web3.js Connection', () => {
  it('answers the cluster calls; the chain advances; the real SPL Memo program is loaded', async () => {
    const s = await validator();
    const c = connect(s);
    expect(await rawCall(s.url, { jsonrpc: '2.0', id: 1, method: 'getHealth' })).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: 'ok',
    });
    expect((await c.getVersion())['solana-core']).toMatch(/^\d+\.\d+\.\d+/);
    const genesis = await c.getGenesisHash();
    expect(new PublicKey(genesis).toBase58()).toBe(genesis);
    expect(await c.getGenesisHash()).toBe(genesis);
    const s0 = await c.getSlot('processed');
    await until(async () => (await c.getSlot('processed')) > s0 + 2);
    const processed = await c.getBlockHeight('processed');
    const finalized = await c.getBlockHeight('finalized');
    expect(processed - finalized).toBeGreaterThanOrEqual(3);
    const bh = await c.getLatestBlockhash('confirmed');
    const h = await c.getBlockHeight('confirmed');
    expect(bh.lastValidBlockHeight - h).toBeGreaterThanOrEqual(149);
    expect(bh.lastValidBlockHeight - h).toBeLessThanOrEqual(150);
    expect(await c.getMinimumBalanceForRentExemption(0)).toBe(890_880);
    const memo = await c.getAccountInfo(MEMO);
    expect(memo?.executable).toBe(true);
    expect(memo?.owner.toBase58()).toBe('BPFLoader2111111111111111111111111111111111');
    expect(await c.getAccountInfo(Keypair.generate().publicKey)).toBeNull();
  });

  it('airdrops, sends a memo (legacy, base64), confirms over the WebSocket, serves getTransaction; fees as quoted', async () => {
    const s = await validator();
    const c = connect(s);
    const kp = await funded(c);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL);
    const sig = await sendAndConfirmTransaction(
      c,
      new Transaction().add(memoIx(kp.publicKey, 'hello memo')),
      [kp],
    );
    const got = await c.getTransaction(sig, { commitment: 'confirmed' });
    expect(got?.meta?.err).toBeNull();
    expect(got?.meta?.fee).toBe(5000);
    expect(got?.meta?.logMessages?.join('\n')).toContain('Memo (len 10)');
    const ix = got?.transaction.message.instructions[0];
    expect(got?.transaction.message.accountKeys[ix?.programIdIndex ?? -1]?.equals(MEMO)).toBe(true);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);

    // With a priority fee: getFeeForMessage quotes what the runtime then charges.
    const bh = await c.getLatestBlockhash();
    const tx = new Transaction({ feePayer: kp.publicKey, ...bh }).add(
      ComputeBudgetProgram.setComputeUnitLimit({ units: 20_000 }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 150_000 }),
      memoIx(kp.publicKey, 'priority'),
    );
    const quoted = (await c.getFeeForMessage(tx.compileMessage())).value;
    expect(quoted).toBe(5000 + 3000);
    tx.sign(kp);
    const sig2 = await c.sendRawTransaction(tx.serialize());
    await c.confirmTransaction({ signature: sig2, ...bh });
    const got2 = await c.getTransaction(sig2, { maxSupportedTransactionVersion: 0 });
    expect(got2?.meta?.fee).toBe(quoted);
    expect(got2?.version).toBe('legacy');
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000 - (quoted as number));
  });

  it('takes a v0 transaction in base58, walks it processed -> confirmed -> finalized, and serves it only to v0 clients', async () => {
    const s = await validator({ finalityLag: 6 });
    const c = connect(s);
    const kp = await funded(c);
    const { blockhash } = await c.getLatestBlockhash();
    const msg = new TransactionMessage({
      payerKey: kp.publicKey,
      recentBlockhash: blockhash,
      instructions: [memoIx(kp.publicKey, 'v0 memo')],
    }).compileToV0Message();
    const tx = new VersionedTransaction(msg);
    tx.sign([kp]);
    const res = (await rawCall(s.url, {
      jsonrpc: '2.0',
      id: 7,
      method: 'sendTransaction',
      params: [base58Encode(tx.serialize()), { encoding: 'base58' }],
    })) as { result: string };
    const sig = base58Encode(tx.signatures[0] as Uint8Array);
    expect(res.result).toBe(sig);
    const seen = new Set<string>();
    await until(async () => {
      const st = (await c.getSignatureStatuses([sig])).value[0];
      if (st?.confirmationStatus) seen.add(st.confirmationStatus);
      return st?.confirmationStatus === 'finalized';
    });
    expect(seen.has('finalized')).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(2); // observed on its way, not only at the end
    await expect(c.getTransaction(sig, { commitment: 'confirmed' })).rejects.toThrow(
      /maxSupportedTransactionVersion/,
    );
    const got = await c.getTransaction(sig, { commitment: 'finalized', maxSupportedTransactionVersion: 0 });
    expect(got?.version).toBe(0);
    const keys = got?.transaction.message.staticAccountKeys ?? [];
    const ix = got?.transaction.message.compiledInstructions.find((i) =>
      keys[i.programIdIndex]?.equals(MEMO),
    );
    expect(Buffer.from(ix?.data ?? []).toString()).toBe('v0 memo');
    expect(keys[0]?.equals(kp.publicKey)).toBe(true);
    // Resending the same transaction does not execute it twice.
    await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    await sleep(200);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
  });

  it('preflight refuses a failing transaction with its logs; without preflight it lands failed and pays the fee', async () => {
    const s = await validator();
    const c = connect(s);
    const kp = await funded(c);
    const bad = () => new Transaction().add(memoIx(kp.publicKey, new Uint8Array([0xff, 0xfe])));
    const err = await sendAndConfirmTransaction(c, bad(), [kp]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendTransactionError);
    expect(((err as SendTransactionError).logs ?? []).join('\n')).toMatch(/Memo/);
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL);
    const tx = bad();
    const bh = await c.getLatestBlockhash();
    tx.recentBlockhash = bh.blockhash;
    tx.feePayer = kp.publicKey;
    tx.sign(kp);
    const sig = await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    const st = await until(async () => (await c.getSignatureStatuses([sig])).value[0]);
    expect(st.err).toEqual({ InstructionError: [0, expect.any(String)] });
    await until(async () => (await c.getBalance(kp.publicKey)) === LAMPORTS_PER_SOL - 5000);
  });

  it('a transaction that is never executed expires with its blockhash; resending it later changes nothing', async () => {
    const s = await validator({ blockhashValidSlots: 10, finalityLag: 2 });
    const c = connect(s);
    const kp = await funded(c);
    s.dropTransactions = true;
    const bh = await c.getLatestBlockhash();
    const tx = new Transaction({ feePayer: kp.publicKey, ...bh }).add(memoIx(kp.publicKey, 'lost'));
    tx.sign(kp);
    const sig = await c.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    await expect(c.confirmTransaction({ signature: sig, ...bh })).rejects.toBeInstanceOf(
      TransactionExpiredBlockheightExceededError,
    );
    s.dropTransactions = false;
    expect((await c.isBlockhashValid(bh.blockhash)).value).toBe(false);
    expect((await c.getFeeForMessage(tx.compileMessage())).value).toBeNull();
    await expect(c.sendRawTransaction(tx.serialize())).rejects.toThrow(/Blockhash not found/);
    expect(await c.sendRawTransaction(tx.serialize(), { skipPreflight: true })).toBe(sig);
    const slot = await c.getSlot('processed');
    await until(async () => (await c.getSlot('processed')) > slot + 3);
    expect((await c.getSignatureStatuses([sig], { searchTransactionHistory: true })).value[0]).toBeNull();
    expect(await c.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL);
  });

  it('sends slot notifications over the WebSocket', async () => {
    const s = await validator();
    const c = connect(s);
    const slots: number[] = [];
    const id = c.onSlotChange((info) => slots.push(info.slot));
    await until(async () => slots.length >= 3);
    await c.removeSlotChangeListener(id);
    expect(slots[2]).toBeGreaterThan(slots[0] as number);
  });

  it('keeps accounts and transactions across a restart with statePath', async () => {
    const dir = await import('node:fs/promises').then((f) => f.mkdtemp('/tmp/gavel-svm-'));
    const s = await validator({ statePath: `${dir}/litesvm` });
    const c = connect(s);
    const kp = await funded(c);
    const sig = await sendAndConfirmTransaction(c, new Transaction().add(memoIx(kp.publicKey, 'kept')), [kp]);
    await s.close();
    servers = servers.filter((x) => x !== s);
    const s2 = await validator({ statePath: `${dir}/litesvm` });
    const c2 = connect(s2);
    expect(await c2.getBalance(kp.publicKey)).toBe(LAMPORTS_PER_SOL - 5000);
    const got = await c2.getTransaction(sig, { maxSupportedTransactionVersion: 0 });
    expect(Buffer.from(got?.transaction.message.compiledInstructions[0]?.data ?? []).toString()).toBe('kept');
  });
});

describe('local Solana validator: hostile input and fault knobs', () => {
  it('answers malformed calls with JSON-RPC errors, handles batches, refuses huge bodies', async () => {
    const s = await validator();
    expect(await rawCall(s.url, '{not json')).toMatchObject({ error: { code: -32700 } });
    expect(await rawCall(s.url, { jsonrpc: '2.0', id: 1, method: 'getNothing' })).toMatchObject({
      id: 1,
      error: { code: -32601 },
    });
    expect(await rawCall(s.url, { jsonrpc: '2.0', id: 2, method: 'toString' })).toMatchObject({
      error: { code: -32601 },
    });
    expect(
      await rawCall(s.url, {
        jsonrpc: '2.0',
        id: 3,
        method: 'sendTransaction',
        params: ['AAAA', { encoding: 'base64' }],
      }),
    ).toMatchObject({ error: { code: -32602 } });
    expect(
      await rawCall(s.url, { jsonrpc: '2.0', id: 4, method: 'getBalance', params: ['nope'] }),
    ).toMatchObject({
      error: { code: -32602, message: /Invalid pubkey/ },
    });
    expect(
      await rawCall(s.url, {
        jsonrpc: '2.0',
        id: 5,
        method: 'requestAirdrop',
        params: [MEMO.toBase58(), -1],
      }),
    ).toMatchObject({ error: { code: -32602 } });
    const batch = (await rawCall(s.url, [
      { jsonrpc: '2.0', id: 1, method: 'getHealth' },
      { jsonrpc: '2.0', id: 2, method: 'getSlot' },
    ])) as { id: number; result: unknown }[];
    expect(batch.map((b) => b.id)).toEqual([1, 2]);
    const big = await fetch(s.url, { method: 'POST', body: 'x'.repeat(2 << 20) }).catch(() => undefined);
    expect(big === undefined || big.status === 413).toBe(true);
    expect(await rawCall(s.url, { jsonrpc: '2.0', id: 9, method: 'getHealth' })).toMatchObject({
      result: 'ok',
    });
  });

  it('down/up, garbage, JSON-RPC errors and a hanging endpoint fail plain Connection calls, and it recovers', async () => {
    const s = await validator();
    const c = connect(s, 500);
    const kp = Keypair.generate();
    await s.down();
    await expect(c.getBalance(kp.publicKey)).rejects.toThrow();
    await s.up();
    expect(await c.getBalance(kp.publicKey)).toBe(0);
    s.mode = 'garbage';
    await expect(c.getBalance(kp.publicKey)).rejects.toThrow();
    s.mode = 'error';
    await expect(c.getBalance(kp.publicKey)).rejects.toThrow(/unhealthy/);
    s.mode = 'hang';
    await expect(c.getBalance(kp.publicKey)).rejects.toThrow();
    s.mode = 'ok';
    expect(await c.getBalance(kp.publicKey)).toBe(0);
    // halted: no new slots, so nothing executes until it resumes.
    const kp2 = await funded(c);
    s.halted = true;
    const slot = s.slot;
    const bh = await c.getLatestBlockhash();
    const tx = new Transaction({ feePayer: kp2.publicKey, ...bh }).add(memoIx(kp2.publicKey, 'halted'));
    tx.sign(kp2);
    const sig = await c.sendRawTransaction(tx.serialize());
    await sleep(200);
    expect(s.slot).toBe(slot);
    expect((await c.getSignatureStatuses([sig])).value[0]).toBeNull();
    s.halted = false;
    await c.confirmTransaction({ signature: sig, ...bh });
    expect((await c.getSignatureStatuses([sig])).value[0]?.err).toBeNull();
  });
});
