// The Solana target: one transaction with one SPL Memo instruction (payer as signer), optionally a
// compute-unit price, sent with @solana/web3.js 1.x `Connection` and our own retry loop.
//
// Retry rule (no duplicate spend): a signed transaction can only land while its blockhash is valid,
// i.e. in a block whose height is at most the `lastValidBlockHeight` returned with the blockhash.
// We rebroadcast the same signed transaction every `rebroadcastMs` (sendRawTransaction with
// skipPreflight and maxRetries 0: the node does not retry, we do) until it is included at the
// configured commitment (`confirmed` by default), or until the FINALIZED block height passes its
// `lastValidBlockHeight` — every later block, on any fork that can still win, is then too high to
// include it. Only then, after one more look with searchTransactionHistory that it did not land, is
// a new transaction signed with a fresh blockhash (attempt + 1). So at any moment at most one of an
// anchor's transactions can still land, and an anchor costs at most one fee (expired transactions
// never executed and cost nothing). A resumed anchor (`prior`, e.g. after a crash) first looks for
// any of its transactions that landed (returned as is, nothing sent) and waits until every prior
// transaction's blockhash has expired the same way before it signs anew.
import { readFileSync } from 'node:fs';
import {
  ComputeBudgetProgram,
  Connection,
  type Keypair,
  PublicKey,
  Transaction,
  TransactionInstruction,
} from '@solana/web3.js';
import { base58Encode } from './base58.js';
import { AnchorError } from './errors.js';
import { parseSolanaKey } from './keys.js';
import { type AnchorMemo, memoBytes, parseMemoBytes } from './memo.js';
import type { AnchorTarget, Included, SentTx, SubmitOptions } from './target.js';

export const MEMO_PROGRAM_ID = new PublicKey('MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr');
export type SolanaNetwork = 'devnet' | 'testnet' | 'mainnet-beta' | 'local';
export const SOLANA_NETWORKS: readonly SolanaNetwork[] = ['devnet', 'testnet', 'mainnet-beta', 'local'];

const PUBLIC_RPC: Record<Exclude<SolanaNetwork, 'local'>, string> = {
  devnet: 'https://api.devnet.solana.com',
  testnet: 'https://api.testnet.solana.com',
  'mainnet-beta': 'https://api.mainnet-beta.solana.com',
};

export interface SolanaTargetOptions {
  network: SolanaNetwork;
  /** JSON-RPC endpoint (default: the public one of the network; required for 'local'). */
  rpcUrl?: string;
  /** WebSocket endpoint, explicit (default: the RPC URL with ws(s)://). Submitting does not use it. */
  wsUrl?: string;
  /** The payer; absent (with `keypairFile`) for a read-only target (verification). */
  keypair?: Keypair;
  /** A solana-keygen keypair file (JSON array of 64 numbers), read once at construction. */
  keypairFile?: string;
  /** Priority fee in micro-lamports per compute unit (adds ComputeBudget instructions). */
  computeUnitPrice?: number;
  /** Compute-unit limit set with a priority fee (default 20,000: a gavel memo uses ~10,000). */
  computeUnitLimit?: number;
  /** Commitment at which submit() calls a transaction included (default 'confirmed'). */
  commitment?: 'confirmed' | 'finalized';
  /** Rebroadcast the signed transaction this often while it is pending (default 2,000 ms; 200 local). */
  rebroadcastMs?: number;
  /** Look at signature statuses this often (default 500 ms; 100 local). */
  pollMs?: number;
  /** Transactions signed per submit() call before giving up with EXPIRED (retryable; default 5). */
  maxAttempts?: number;
  /** Consecutive RPC failures tolerated while a signed transaction is pending (default 5). */
  maxRpcFailures?: number;
  /** Per-request timeout (default 10,000 ms). */
  timeoutMs?: number;
}

const LAMPORTS_PER_SIGNATURE = 5000n;
const DEFAULT_CU_LIMIT = 20_000;

/** Reads a solana-keygen keypair file; BAD_KEY names the file and what is wrong (never its bytes). */
export function loadSolanaKeypair(path: string): Keypair {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AnchorError(
      'BAD_KEY',
      `cannot read the Solana keypair file ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  try {
    return parseSolanaKey(text);
  } catch (err) {
    throw new AnchorError('BAD_KEY', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

interface Signed {
  sent: SentTx;
  raw: Buffer;
  lastValid: number;
  fee: bigint;
}

export class SolanaTarget implements AnchorTarget {
  readonly chain = 'solana' as const;
  readonly network: SolanaNetwork;
  readonly address: string;
  readonly connection: Connection;
  private readonly endpoint: string;
  private readonly keypair: Keypair | undefined;
  private readonly commitment: 'confirmed' | 'finalized';

  constructor(private readonly o: SolanaTargetOptions) {
    if (!SOLANA_NETWORKS.includes(o.network))
      throw new AnchorError(
        'BAD_CONFIG',
        `${String(o.network)} is not a Solana network (${SOLANA_NETWORKS.join(', ')})`,
      );
    this.network = o.network;
    if (o.network === 'local' && o.rpcUrl === undefined)
      throw new AnchorError('BAD_CONFIG', 'a local Solana target needs rpcUrl');
    this.endpoint = o.rpcUrl ?? PUBLIC_RPC[o.network as Exclude<SolanaNetwork, 'local'>];
    if (!/^https?:\/\/[^\s]+$/.test(this.endpoint))
      throw new AnchorError('BAD_CONFIG', `the Solana RPC URL must be http(s)://…, not ${this.endpoint}`);
    if (o.wsUrl !== undefined && !/^wss?:\/\/[^\s]+$/.test(o.wsUrl))
      throw new AnchorError('BAD_CONFIG', `the Solana WebSocket URL must be ws(s)://…, not ${o.wsUrl}`);
    const price = o.computeUnitPrice ?? 0;
    if (!Number.isSafeInteger(price) || price < 0)
      throw new AnchorError('BAD_CONFIG', `computeUnitPrice must be a whole number of micro-lamports ≥ 0`);
    const limit = o.computeUnitLimit ?? DEFAULT_CU_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1000 || limit > 1_400_000)
      throw new AnchorError('BAD_CONFIG', 'computeUnitLimit must be a whole number from 1,000 to 1,400,000');
    if (o.keypair !== undefined && o.keypairFile !== undefined)
      throw new AnchorError('BAD_CONFIG', 'give the Solana target keypair or keypairFile, not both');
    this.keypair = o.keypair ?? (o.keypairFile === undefined ? undefined : loadSolanaKeypair(o.keypairFile));
    this.commitment = o.commitment ?? 'confirmed';
    const timeoutMs = o.timeoutMs ?? 10_000;
    this.connection = new Connection(this.endpoint, {
      commitment: 'confirmed',
      wsEndpoint: o.wsUrl ?? this.endpoint.replace(/^http/, 'ws'),
      disableRetryOnRateLimit: true,
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
    });
    this.address = this.keypair?.publicKey.toBase58() ?? '(read-only)';
  }

  private get payer(): Keypair {
    if (this.keypair === undefined)
      throw new AnchorError('BAD_KEY', `the Solana ${this.network} target has no key (read-only)`);
    return this.keypair;
  }

  /** Runs one RPC call; any failure (transport, HTTP, garbage, JSON-RPC error) is AnchorError RPC. */
  private async rpc<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof AnchorError) throw err;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      let msg = String(e?.message ?? err).split('\n')[0] as string;
      if (e?.cause?.code !== undefined) msg += ` (${e.cause.code})`;
      else if (e?.name === 'TimeoutError') msg = `no answer within ${this.o.timeoutMs ?? 10_000} ms`;
      throw new AnchorError('RPC', `solana ${this.network} RPC ${this.endpoint}: ${what} failed: ${msg}`, {
        cause: err,
      });
    }
  }

  balance(): Promise<bigint> {
    const key = this.payer.publicKey;
    return this.rpc('getBalance', async () => BigInt(await this.connection.getBalance(key, 'confirmed')));
  }

  private local(): boolean {
    return this.network === 'local';
  }

  /** The fee of a memo transaction when the node cannot quote one: 5,000 + the priority fee. */
  private estimateFee(): bigint {
    const price = BigInt(this.o.computeUnitPrice ?? 0);
    const limit = BigInt(this.o.computeUnitLimit ?? DEFAULT_CU_LIMIT);
    return LAMPORTS_PER_SIGNATURE + (price * limit + 999_999n) / 1_000_000n;
  }

  /** Signs a fresh memo transaction with the latest blockhash; returns it with what a resume needs. */
  private async sign(memo: AnchorMemo, attempt: number): Promise<Signed> {
    const data = Buffer.from(memoBytes(memo));
    const payer = this.payer;
    const { blockhash, lastValidBlockHeight } = await this.rpc('getLatestBlockhash', () =>
      this.connection.getLatestBlockhash('confirmed'),
    );
    const tx = new Transaction({ feePayer: payer.publicKey, blockhash, lastValidBlockHeight });
    const price = this.o.computeUnitPrice ?? 0;
    if (price > 0) {
      tx.add(
        ComputeBudgetProgram.setComputeUnitLimit({ units: this.o.computeUnitLimit ?? DEFAULT_CU_LIMIT }),
      );
      tx.add(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: price }));
    }
    tx.add(
      new TransactionInstruction({
        programId: MEMO_PROGRAM_ID,
        keys: [{ pubkey: payer.publicKey, isSigner: true, isWritable: false }],
        data,
      }),
    );
    const quoted = await this.rpc('getFeeForMessage', () =>
      this.connection.getFeeForMessage(tx.compileMessage(), 'confirmed'),
    );
    tx.sign(payer);
    return {
      sent: {
        tx: base58Encode(tx.signature as Buffer),
        attempt,
        extra: { last_valid_block_height: lastValidBlockHeight },
      },
      raw: tx.serialize(),
      lastValid: lastValidBlockHeight,
      fee: quoted.value === null ? this.estimateFee() : BigInt(quoted.value),
    };
  }

  /** The included transaction among `sigs`, if any (a landed-but-failed one throws TX_FAILED). */
  private async landed(sigs: readonly string[]): Promise<Included | undefined> {
    if (sigs.length === 0) return undefined;
    const st = await this.rpc('getSignatureStatuses', () =>
      this.connection.getSignatureStatuses([...sigs], { searchTransactionHistory: true }),
    );
    for (let i = 0; i < sigs.length; i++) {
      const s = st.value[i];
      if (s === null || s === undefined) continue;
      const enough =
        s.confirmationStatus === 'finalized' ||
        (this.commitment === 'confirmed' && s.confirmationStatus === 'confirmed');
      if (!enough) continue;
      const sig = sigs[i] as string;
      if (s.err !== null)
        throw new AnchorError(
          'TX_FAILED',
          `anchor transaction ${sig} landed on solana ${this.network} but failed (${JSON.stringify(s.err)}); its fee was paid, its memo not recorded`,
        );
      const t = await this.rpc('getTransaction', () =>
        this.connection.getTransaction(sig, {
          commitment: this.commitment,
          maxSupportedTransactionVersion: 0,
        }),
      );
      if (t === null || t.meta === null) return undefined; // not served yet at this commitment: look again
      return { tx: sig, slot: t.slot, fee: String(t.meta.fee) };
    }
    return undefined;
  }

  private finalizedHeight(): Promise<number> {
    return this.rpc('getBlockHeight', () => this.connection.getBlockHeight('finalized'));
  }

  /**
   * Watches `sigs` (rebroadcasting `raw` every rebroadcastMs when given) until one is included
   * (returned) or the finalized block height passes `lastValid` and a last look with
   * searchTransactionHistory finds none of them (undefined: none can land any more).
   */
  private async watch(
    sigs: readonly string[],
    lastValid: number,
    raw: Buffer | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Included | undefined> {
    const pollMs = this.o.pollMs ?? (this.local() ? 100 : 500);
    const rebroadcastMs = this.o.rebroadcastMs ?? (this.local() ? 200 : 2000);
    const maxFailures = this.o.maxRpcFailures ?? 5;
    let lastSend = Number.NEGATIVE_INFINITY;
    let failures = 0;
    for (;;) {
      if (signal?.aborted) throw new AnchorError('ABORTED', 'anchor submission stopped');
      try {
        if (raw !== undefined && Date.now() - lastSend >= rebroadcastMs) {
          lastSend = Date.now();
          await this.rpc('sendRawTransaction', () =>
            this.connection.sendRawTransaction(raw, { skipPreflight: true, maxRetries: 0 }),
          );
        }
        const inc = await this.landed(sigs);
        if (inc !== undefined) return inc;
        if ((await this.finalizedHeight()) > lastValid) return await this.landed(sigs);
        failures = 0;
      } catch (err) {
        // A pending transaction is worth a few more tries through a flaky endpoint; past that the
        // caller (the anchoring service) backs off and resumes with `prior`, which is just as safe.
        if (!(err instanceof AnchorError) || err.code !== 'RPC' || ++failures >= maxFailures) throw err;
      }
      await sleep(pollMs, signal);
    }
  }

  async submit(memo: AnchorMemo, opts: SubmitOptions): Promise<Included> {
    const payer = this.payer;
    memoBytes(memo); // a bad memo is refused before anything is sent
    const ours: SentTx[] = [...(opts.prior ?? [])];
    let attempt = ours.reduce((m, s) => Math.max(m, s.attempt), 0);
    if (ours.length > 0) {
      // A resumed anchor: one of its transactions may have landed, or may still land until the
      // last of their blockhashes expires. Nothing new is signed before that.
      const lastValid = ours.reduce((m, s) => Math.max(m, Number(s.extra.last_valid_block_height) || 0), 0);
      const inc = await this.watch(
        ours.map((s) => s.tx),
        lastValid,
        undefined,
        opts.signal,
      );
      if (inc !== undefined) return inc;
    }
    const maxAttempts = this.o.maxAttempts ?? 5;
    for (let n = 0; n < maxAttempts; n++) {
      if (opts.signal?.aborted) throw new AnchorError('ABORTED', 'anchor submission stopped');
      const s = await this.sign(memo, ++attempt);
      const balance = await this.balance();
      if (balance < s.fee)
        throw new AnchorError(
          'BALANCE',
          `${payer.publicKey.toBase58()} holds ${balance} lamports on solana ${this.network}; an anchor costs ${s.fee}`,
        );
      await opts.onSent(s.sent);
      ours.push(s.sent);
      const inc = await this.watch(
        ours.map((x) => x.tx),
        s.lastValid,
        s.raw,
        opts.signal,
      );
      if (inc !== undefined) return inc;
    }
    throw new AnchorError(
      'EXPIRED',
      `${maxAttempts} anchor transactions on solana ${this.network} expired without landing; trying again`,
    );
  }

  async isFinal(inc: Included): Promise<boolean> {
    const st = await this.rpc('getSignatureStatuses', () =>
      this.connection.getSignatureStatuses([inc.tx], { searchTransactionHistory: true }),
    );
    return st.value[0]?.confirmationStatus === 'finalized' && st.value[0]?.err === null;
  }

  async read(tx: string): Promise<{ memo: AnchorMemo; slot: number | null; signer: string }> {
    if (!/^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(tx))
      throw new AnchorError('BAD_TX', `not a Solana signature: ${tx}`);
    const t = await this.rpc('getTransaction', () =>
      this.connection.getTransaction(tx, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 }),
    );
    if (t === null) throw new AnchorError('NOT_FOUND', `transaction ${tx} is not on solana ${this.network}`);
    if (t.meta !== null && t.meta.err !== null)
      throw new AnchorError(
        'TX_FAILED',
        `transaction ${tx} failed on solana ${this.network} (${JSON.stringify(t.meta.err)}): its memo was not recorded`,
      );
    const keys = t.transaction.message.staticAccountKeys;
    // The memo comes from the instruction data (base58 in the JSON answer, decoded by web3.js),
    // never from the program's logs.
    const memos = t.transaction.message.compiledInstructions.filter((ix) =>
      keys[ix.programIdIndex]?.equals(MEMO_PROGRAM_ID),
    );
    if (memos.length !== 1)
      throw new AnchorError('BAD_MEMO', `transaction ${tx} has ${memos.length} memo instructions, not one`);
    return {
      memo: parseMemoBytes((memos[0] as { data: Uint8Array }).data),
      slot: t.slot,
      signer: keys[0]?.toBase58() ?? '',
    };
  }

  explorer(tx: string): string | undefined {
    if (this.network === 'local') return undefined;
    const cluster = this.network === 'mainnet-beta' ? '' : `?cluster=${this.network}`;
    return `https://explorer.solana.com/tx/${tx}${cluster}`;
  }

  async close(): Promise<void> {}
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
