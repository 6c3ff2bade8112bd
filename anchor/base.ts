// The Base target: a zero-value transaction from the anchor key to itself whose calldata is the memo,
// sent with viem on base, baseSepolia or a local chain; read back from the transaction's calldata
// (never from logs) and judged final by the `finalized` block tag.
//
// No duplicate spend: every transaction of one anchor uses the SAME nonce, and a nonce carries at
// most one transaction, so at most one of them can ever be included. The transaction is signed
// locally and recorded (onSent) before it is broadcast. A dropped transaction is rebroadcast as is;
// one pending longer than `bumpAfterMs` is replaced by a re-signed one with fees raised by 25 %
// (same nonce, attempt + 1) within the fee cap. Only when the nonce was used by a transaction that is
// not ours (none of our hashes has a receipt) is a new nonce taken. On resume (`prior`), the last
// transaction is re-signed from the recorded nonce, gas and fees: signing is deterministic
// (RFC 6979), so that reproduces the very same transaction and hash.
import { readFileSync, statSync } from 'node:fs';
import {
  type Chain,
  createPublicClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  keccak256,
  type PublicClient,
  toHex,
} from 'viem';
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { base, baseSepolia } from 'viem/chains';
import { AnchorError } from './errors.js';
import { type AnchorMemo, memoBytes, parseMemoBytes } from './memo.js';
import type { AnchorTarget, Included, SentTx, SubmitOptions } from './target.js';

export type BaseNetwork = 'base' | 'base-sepolia' | 'local';
export const BASE_NETWORKS: readonly BaseNetwork[] = ['base', 'base-sepolia', 'local'];

export function baseChain(network: BaseNetwork, rpcUrl?: string): Chain {
  if (network === 'base') return base;
  if (network === 'base-sepolia') return baseSepolia;
  return defineChain({
    id: 84532,
    name: 'gavel local (anvil)',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl ?? 'http://127.0.0.1:8545'] } },
  });
}

/** Reads a hex private key file (0x-prefixed or not); refuses a file others can read. */
export function readEvmKeyFile(file: string): Hex {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new AnchorError(
      'BAD_KEY',
      `EVM key file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      {
        exitCode: 2,
      },
    );
  }
  if ((mode & 0o077) !== 0)
    throw new AnchorError('BAD_KEY', `${file} is readable by group or others; chmod 600 it`, { exitCode: 2 });
  const text = readFileSync(file, 'utf8').trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new AnchorError('BAD_KEY', `${file} does not hold a 32-byte hex private key`, { exitCode: 2 });
  return `0x${text.toLowerCase()}`;
}

export interface BaseTargetOptions {
  network: BaseNetwork;
  rpcUrl?: string;
  /** Absent for a read-only target (verification): submit then refuses. */
  privateKey?: Hex;
  /** Refuse to send (or bump) when the fee per gas would exceed this (wei). */
  maxFeePerGas?: bigint;
  /** How often to look for the receipt (default 1,000 ms; 250 on local). */
  pollMs?: number;
  /** Replace a transaction still pending after this long with higher fees (default 90 s). */
  bumpAfterMs?: number;
}

interface Signed {
  sent: SentTx;
  raw: Hex;
}

export class BaseTarget implements AnchorTarget {
  readonly chain = 'base' as const;
  readonly network: BaseNetwork;
  readonly address: Hex;
  readonly publicClient: PublicClient;
  private readonly key: PrivateKeyAccount | undefined;
  private readonly chainDef: Chain;
  private readonly endpoint: string;

  constructor(private readonly o: BaseTargetOptions) {
    this.network = o.network;
    this.chainDef = baseChain(o.network, o.rpcUrl);
    this.endpoint = o.rpcUrl ?? this.chainDef.rpcUrls.default.http[0] ?? '(default RPC)';
    this.publicClient = createPublicClient({
      chain: this.chainDef,
      transport: http(o.rpcUrl, { retryCount: 0, timeout: 10_000 }),
    }) as PublicClient;
    this.key = o.privateKey === undefined ? undefined : privateKeyToAccount(o.privateKey);
    this.address = this.key?.address ?? '0x0000000000000000000000000000000000000000';
  }

  private get account(): PrivateKeyAccount {
    if (this.key === undefined)
      throw new AnchorError('BAD_KEY', `the ${this.network} target has no key (read-only)`);
    return this.key;
  }

  /** Runs one RPC call; any failure becomes AnchorError RPC naming the endpoint and the call. */
  private async rpc<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof AnchorError) throw err;
      const msg = ((err as { shortMessage?: string }).shortMessage ?? (err as Error).message).split('\n')[0];
      throw new AnchorError('RPC', `${this.network} RPC ${this.endpoint}: ${what} failed: ${msg}`, {
        cause: err,
      });
    }
  }

  balance(): Promise<bigint> {
    return this.rpc('eth_getBalance', () => this.publicClient.getBalance({ address: this.address }));
  }

  private async sign(data: Hex, nonce: number, gas: bigint, maxFee: bigint, tip: bigint, attempt: number) {
    const raw = await this.account.signTransaction({
      chainId: this.chainDef.id,
      type: 'eip1559',
      to: this.address,
      value: 0n,
      data,
      nonce,
      gas,
      maxFeePerGas: maxFee,
      maxPriorityFeePerGas: tip,
    });
    const sent: SentTx = {
      tx: keccak256(raw),
      attempt,
      extra: { nonce, gas: gas.toString(), max_fee: maxFee.toString(), max_priority_fee: tip.toString() },
    };
    return { sent, raw } satisfies Signed;
  }

  private async broadcast(raw: Hex): Promise<void> {
    try {
      await this.publicClient.request({ method: 'eth_sendRawTransaction', params: [raw] });
    } catch (err) {
      const msg = ((err as { details?: string }).details ?? (err as Error).message).toLowerCase();
      // Already in the pool, or its nonce is used (by this very tx, or another: the loop finds out).
      if (/already known|already imported|nonce too low|known transaction|replacement/.test(msg)) return;
      throw new AnchorError(
        'RPC',
        `${this.network} RPC ${this.endpoint}: eth_sendRawTransaction failed: ${msg}`,
        {
          cause: err,
        },
      );
    }
  }

  private async receipt(tx: string): Promise<Included | undefined> {
    const r = await this.rpc('eth_getTransactionReceipt', async () => {
      try {
        return await this.publicClient.getTransactionReceipt({ hash: tx as Hex });
      } catch (err) {
        if ((err as Error).name === 'TransactionReceiptNotFoundError') return undefined;
        throw err;
      }
    });
    if (r === undefined) return undefined;
    if (r.status !== 'success')
      throw new AnchorError('REVERTED', `anchor transaction ${tx} was included but reverted`);
    // OP-stack receipts carry the L1 data fee separately from gas x price.
    const l1 = (r as unknown as { l1Fee?: bigint | null }).l1Fee ?? 0n;
    return {
      tx,
      slot: Number(r.blockNumber),
      fee: (r.gasUsed * r.effectiveGasPrice + l1).toString(),
      extra: {
        gas_used: r.gasUsed.toString(),
        effective_gas_price: r.effectiveGasPrice.toString(),
        l1_fee: l1.toString(),
      },
    };
  }

  private async fresh(data: Hex, attempt: number, opts: SubmitOptions): Promise<Signed> {
    const fees = await this.rpc('fee estimate', () => this.publicClient.estimateFeesPerGas());
    const maxFee = fees.maxFeePerGas ?? 0n;
    const tip = fees.maxPriorityFeePerGas ?? 0n;
    if (this.o.maxFeePerGas !== undefined && maxFee > this.o.maxFeePerGas)
      throw new AnchorError(
        'FEE_CAP',
        `fee ${maxFee} wei/gas on ${this.network} is over the cap ${this.o.maxFeePerGas}`,
      );
    const gas = await this.rpc('eth_estimateGas', () =>
      this.publicClient.estimateGas({ account: this.address, to: this.address, value: 0n, data }),
    );
    const balance = await this.balance();
    if (balance < gas * maxFee)
      throw new AnchorError(
        'BALANCE',
        `${this.address} holds ${balance} wei on ${this.network}; one anchor may cost up to ${gas * maxFee} wei`,
      );
    const nonce = await this.rpc('eth_getTransactionCount', () =>
      this.publicClient.getTransactionCount({ address: this.address, blockTag: 'pending' }),
    );
    const s = await this.sign(data, nonce, gas, maxFee, tip, attempt);
    await opts.onSent(s.sent);
    await this.broadcast(s.raw);
    return s;
  }

  async submit(memo: AnchorMemo, opts: SubmitOptions): Promise<Included> {
    const data = toHex(memoBytes(memo));
    const ours: SentTx[] = [...(opts.prior ?? [])];
    for (const p of ours) {
      const inc = await this.receipt(p.tx);
      if (inc !== undefined) return inc;
    }
    let current: Signed;
    const last = ours[ours.length - 1];
    if (last !== undefined && last.extra.nonce !== undefined) {
      // Resume: re-sign the recorded transaction (same hash) and rebroadcast it.
      const e = last.extra;
      current = await this.sign(
        data,
        Number(e.nonce),
        BigInt(e.gas ?? 0),
        BigInt(e.max_fee ?? 0),
        BigInt(e.max_priority_fee ?? 0),
        last.attempt,
      );
      if (current.sent.tx !== last.tx) {
        ours.push(current.sent);
        await opts.onSent(current.sent);
      }
      await this.broadcast(current.raw);
    } else {
      current = await this.fresh(data, ours.length + 1, opts);
      ours.push(current.sent);
    }
    const pollMs = this.o.pollMs ?? (this.network === 'local' ? 250 : 1000);
    const bumpAfter = this.o.bumpAfterMs ?? 90_000;
    let since = Date.now();
    for (;;) {
      if (opts.signal?.aborted) throw new AnchorError('ABORTED', 'anchor submission stopped');
      await new Promise((r) => setTimeout(r, pollMs));
      for (const s of ours) {
        const inc = await this.receipt(s.tx);
        if (inc !== undefined) return inc;
      }
      const nonce = Number(current.sent.extra.nonce);
      const used = await this.rpc('eth_getTransactionCount', () =>
        this.publicClient.getTransactionCount({ address: this.address, blockTag: 'latest' }),
      );
      if (used > nonce) {
        // The nonce is spent. Look once more at our hashes (the block may have just landed).
        for (const s of ours) {
          const inc = await this.receipt(s.tx);
          if (inc !== undefined) return inc;
        }
        current = await this.fresh(data, ours.length + 1, opts);
        ours.push(current.sent);
        since = Date.now();
        continue;
      }
      const known = await this.rpc('eth_getTransactionByHash', async () => {
        try {
          return await this.publicClient.getTransaction({ hash: current.sent.tx as Hex });
        } catch (err) {
          if ((err as Error).name === 'TransactionNotFoundError') return undefined;
          throw err;
        }
      });
      if (known === undefined) {
        await this.broadcast(current.raw); // dropped from the pool: the same transaction again
        continue;
      }
      if (Date.now() - since >= bumpAfter) {
        const e = current.sent.extra;
        const maxFee = (BigInt(e.max_fee ?? 0) * 5n) / 4n + 1n;
        const tip = (BigInt(e.max_priority_fee ?? 0) * 5n) / 4n + 1n;
        since = Date.now();
        if (this.o.maxFeePerGas !== undefined && maxFee > this.o.maxFeePerGas) continue; // keep waiting
        current = await this.sign(data, nonce, BigInt(e.gas ?? 0), maxFee, tip, ours.length + 1);
        ours.push(current.sent);
        await opts.onSent(current.sent);
        await this.broadcast(current.raw);
      }
    }
  }

  /** Whether the block holding the anchor is at or below the chain's `finalized` block. */
  async isFinal(inc: Included): Promise<boolean> {
    const f = await this.rpc('eth_getBlockByNumber(finalized)', () =>
      this.publicClient.getBlock({ blockTag: 'finalized' }),
    );
    if (f.number === null || f.number < BigInt(inc.slot)) return false;
    // Still the same transaction in that block (a reorg before finality would drop or move it).
    const r = await this.receipt(inc.tx);
    return r !== undefined && r.slot === inc.slot;
  }

  /** The memo a transaction carries, read from its calldata. */
  async read(tx: string): Promise<{ memo: AnchorMemo; slot: number | null; signer: string }> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(tx)) throw new AnchorError('BAD_TX', `not a transaction hash: ${tx}`);
    const t = await this.rpc('eth_getTransactionByHash', async () => {
      try {
        return await this.publicClient.getTransaction({ hash: tx as Hex });
      } catch (err) {
        if ((err as Error).name === 'TransactionNotFoundError')
          throw new AnchorError('NOT_FOUND', `transaction ${tx} is not on ${this.network}`);
        throw err;
      }
    });
    return {
      memo: parseMemoBytes(hexToBytes(t.input)),
      slot: t.blockNumber === null ? null : Number(t.blockNumber),
      signer: t.from,
    };
  }

  explorer(tx: string): string | undefined {
    if (this.network === 'base') return `https://basescan.org/tx/${tx}`;
    if (this.network === 'base-sepolia') return `https://sepolia.basescan.org/tx/${tx}`;
    return undefined;
  }

  async close(): Promise<void> {}
}
