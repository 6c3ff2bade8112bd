// The Solana target: one transaction with one SPL Memo instruction (payer as signer), optionally a
// compute-unit price, sent with @solana/web3.js 1.x `Connection` and our own retry loop.
//
// Retry rule (no duplicate spend): a signed transaction can only land while its blockhash is valid.
// We rebroadcast the same signed transaction every `rebroadcastMs` until it is `confirmed` or the
// block height passes its `lastValidBlockHeight`; only then — after checking once more, with
// searchTransactionHistory, that it did not land — is a new transaction signed with a fresh blockhash
// (attempt + 1). At any moment at most one of an anchor's transactions can still land, so an anchor
// costs at most one fee (plus nothing for the expired ones, which never executed). A resumed anchor
// (`prior`) waits for its last transaction's blockhash to expire before signing anew.
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
  rpcUrl?: string;
  /** WebSocket endpoint, explicit (default: the RPC URL with ws(s)://). */
  wsUrl?: string;
  /** The payer; absent for a read-only target (verification). */
  keypair?: Keypair;
  /** Priority fee in micro-lamports per compute unit (adds a ComputeBudget instruction). */
  computeUnitPrice?: number;
  /** Rebroadcast the signed transaction this often while it is pending (default 2,000 ms; 200 local). */
  rebroadcastMs?: number;
  /** Look at signature statuses this often (default 500 ms; 100 local). */
  pollMs?: number;
  /** Transactions signed per submit() call before giving up with EXPIRED (retryable; default 5). */
  maxAttempts?: number;
  /** Per-request timeout (default 10,000 ms). */
  timeoutMs?: number;
}

const CU_LIMIT = 30_000; // a memo of ~160 bytes uses ~30k CU less; the limit bounds the priority fee

export class SolanaTarget implements AnchorTarget {
  readonly chain = 'solana' as const;
  readonly network: SolanaNetwork;
  readonly address: string;
  readonly connection: Connection;
  private readonly endpoint: string;

  constructor(private readonly o: SolanaTargetOptions) {
    this.network = o.network;
    if (o.network === 'local' && o.rpcUrl === undefined)
      throw new AnchorError('BAD_CONFIG', 'a local Solana target needs rpcUrl');
    this.endpoint = o.rpcUrl ?? PUBLIC_RPC[o.network as Exclude<SolanaNetwork, 'local'>];
    const timeoutMs = o.timeoutMs ?? 10_000;
    this.connection = new Connection(this.endpoint, {
      commitment: 'confirmed',
      wsEndpoint: o.wsUrl ?? this.endpoint.replace(/^http/, 'ws'),
      disableRetryOnRateLimit: true,
      fetch: (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) }),
    });
    this.address = o.keypair?.publicKey.toBase58() ?? '(read-only)';
  }

  private get payer(): Keypair {
    if (this.o.keypair === undefined)
      throw new AnchorError('BAD_KEY', `the Solana ${this.network} target has no key (read-only)`);
    return this.o.keypair;
  }

  private async rpc<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof AnchorError) throw err;
      const msg = String((err as Error).message ?? err).split('\n')[0];
      throw new AnchorError('RPC', `solana ${this.network} RPC ${this.endpoint}: ${what} failed: ${msg}`, {
        cause: err,
      });
    }
  }

  balance(): Promise<bigint> {
    return this.rpc('getBalance', async () => BigInt(await this.connection.getBalance(this.payer.publicKey)));
  }

  private local(): boolean {
    return this.network === 'local';
  }

  /** Signs a fresh memo transaction; returns it with what a resume needs. */
  private async sign(memo: AnchorMemo, attempt: number) {
    const { blockhash, lastValidBlockHeight } = await this.rpc('getLatestBlockhash', () =>
      this.connection.getLatestBlockhash('confirmed'),
    );
    const tx = new Transaction({ feePayer: this.payer.publicKey, blockhash, lastValidBlockHeight });
    if ((this.o.computeUnitPrice ?? 0) > 0) {
      tx.add(ComputeBudgetProgram.setComputeUnitLimit({ units: CU_LIMIT }));
      tx.add(ComputeBudgetProgram.setComputeUnitPrice({ microLamports: this.o.computeUnitPrice as number }));
    }
    tx.add(
      new TransactionInstruction({
        programId: MEMO_PROGRAM_ID,
        keys: [{ pubkey: this.payer.publicKey, isSigner: true, isWritable: false }],
        data: Buffer.from(memoBytes(memo)),
      }),
    );
    tx.sign(this.payer);
    const raw = tx.serialize();
    const sent: SentTx = {
      tx: base58Encode(tx.signature as Buffer),
      attempt,
      extra: { last_valid_block_height: lastValidBlockHeight },
    };
    return { sent, raw, lastValid: lastValidBlockHeight };
  }

  private async fee(): Promise<bigint> {
    const cu = BigInt(this.o.computeUnitPrice ?? 0);
    return 5000n + (cu * BigInt(CU_LIMIT) + 999_999n) / 1_000_000n;
  }

  /** The included transaction among `sigs`, if any (a landed-but-failed one throws TX_FAILED). */
  private async landed(sigs: string[]): Promise<Included | undefined> {
    if (sigs.length === 0) return undefined;
    const st = await this.rpc('getSignatureStatuses', () =>
      this.connection.getSignatureStatuses(sigs, { searchTransactionHistory: true }),
    );
    for (let i = 0; i < sigs.length; i++) {
      const s = st.value[i];
      if (s === null || s === undefined) continue;
      if (s.confirmationStatus !== 'confirmed' && s.confirmationStatus !== 'finalized') continue;
      const sig = sigs[i] as string;
      if (s.err !== null)
        throw new AnchorError(
          'TX_FAILED',
          `anchor transaction ${sig} landed but failed: ${JSON.stringify(s.err)}`,
        );
      const t = await this.rpc('getTransaction', () =>
        this.connection.getTransaction(sig, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 }),
      );
      return { tx: sig, slot: s.slot, fee: String(t?.meta?.fee ?? 0) };
    }
    return undefined;
  }

  private height(): Promise<number> {
    return this.rpc('getBlockHeight', () => this.connection.getBlockHeight('confirmed'));
  }

  async submit(memo: AnchorMemo, opts: SubmitOptions): Promise<Included> {
    const ours: SentTx[] = [...(opts.prior ?? [])];
    const found = await this.landed(ours.map((s) => s.tx));
    if (found !== undefined) return found;
    const pollMs = this.o.pollMs ?? (this.local() ? 100 : 500);
    const rebroadcastMs = this.o.rebroadcastMs ?? (this.local() ? 200 : 2000);
    const maxAttempts = this.o.maxAttempts ?? 5;
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const abort = () => {
      if (opts.signal?.aborted) throw new AnchorError('ABORTED', 'anchor submission stopped');
    };

    // A resumed anchor: its last transaction may still land until its blockhash expires.
    const last = ours[ours.length - 1];
    if (last !== undefined) {
      const lastValid = Number(last.extra.last_valid_block_height ?? 0);
      while ((await this.height()) <= lastValid) {
        abort();
        const inc = await this.landed(ours.map((s) => s.tx));
        if (inc !== undefined) return inc;
        await sleep(pollMs);
      }
      const inc = await this.landed(ours.map((s) => s.tx));
      if (inc !== undefined) return inc;
    }

    const balance = await this.balance();
    const fee = await this.fee();
    if (balance < fee)
      throw new AnchorError(
        'BALANCE',
        `${this.address} holds ${balance} lamports on ${this.network}; an anchor costs ${fee}`,
      );

    for (let n = 0; n < maxAttempts; n++) {
      abort();
      const s = await this.sign(memo, (last?.attempt ?? 0) + n + 1);
      await opts.onSent(s.sent);
      ours.push(s.sent);
      let lastSend = 0;
      for (;;) {
        abort();
        if (Date.now() - lastSend >= rebroadcastMs) {
          lastSend = Date.now();
          await this.rpc('sendRawTransaction', () =>
            this.connection.sendRawTransaction(s.raw, { skipPreflight: true, maxRetries: 0 }),
          );
        }
        await sleep(pollMs);
        const inc = await this.landed(ours.map((x) => x.tx));
        if (inc !== undefined) return inc;
        if ((await this.height()) > s.lastValid) {
          // Expired: it can no longer land. One last look at the history before signing anew.
          const late = await this.landed(ours.map((x) => x.tx));
          if (late !== undefined) return late;
          break;
        }
      }
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
    const keys = t.transaction.message.staticAccountKeys;
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
