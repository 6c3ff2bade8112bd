// The Base target: a zero-value transaction from the anchor key to itself whose calldata is the memo,
// sent with viem on base, baseSepolia or a local chain; read back from the transaction's calldata
// (never from logs) and judged final by the `finalized` block tag.
import { readFileSync, statSync } from 'node:fs';
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  hexToBytes,
  http,
  type PublicClient,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { base, baseSepolia } from 'viem/chains';
import { AnchorError } from './errors.js';
import { type AnchorMemo, memoBytes, parseMemoBytes } from './memo.js';

export type BaseNetwork = 'base' | 'base-sepolia' | 'local';

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
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0)
    throw new AnchorError('BAD_KEY', `${file} is readable by group or others; chmod 600 it`, { exitCode: 2 });
  const text = readFileSync(file, 'utf8').trim().replace(/^0x/, '');
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    throw new AnchorError('BAD_KEY', `${file} does not hold a 32-byte hex private key`, { exitCode: 2 });
  return `0x${text.toLowerCase()}`;
}

export interface BaseAnchorResult {
  network: BaseNetwork;
  tx: Hex;
  block: bigint;
  from: Hex;
  gasUsed: bigint;
  effectiveGasPrice: bigint;
}

export interface BaseTargetOptions {
  network: BaseNetwork;
  rpcUrl?: string;
  privateKey: Hex;
  /** Refuse to send when the fee per gas would exceed this (wei). */
  maxFeePerGas?: bigint;
}

export class BaseTarget {
  readonly publicClient: PublicClient;
  private readonly chain: Chain;
  constructor(private readonly o: BaseTargetOptions) {
    this.chain = baseChain(o.network, o.rpcUrl);
    this.publicClient = createPublicClient({ chain: this.chain, transport: http(o.rpcUrl) }) as PublicClient;
  }

  get address(): Hex {
    return privateKeyToAccount(this.o.privateKey).address;
  }

  /** Sends the memo and waits for inclusion (one confirmation). */
  async submit(memo: AnchorMemo): Promise<BaseAnchorResult> {
    const account = privateKeyToAccount(this.o.privateKey);
    const wallet = createWalletClient({ account, chain: this.chain, transport: http(this.o.rpcUrl) });
    const data = toHex(memoBytes(memo));
    let fees: { maxFeePerGas?: bigint };
    try {
      fees = await this.publicClient.estimateFeesPerGas();
    } catch (err) {
      throw new AnchorError('RPC', `cannot read fees from ${this.o.network}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (this.o.maxFeePerGas !== undefined && (fees.maxFeePerGas ?? 0n) > this.o.maxFeePerGas)
      throw new AnchorError(
        'FEE_CAP',
        `fee ${fees.maxFeePerGas} wei/gas is over the cap ${this.o.maxFeePerGas}`,
      );
    const balance = await this.publicClient.getBalance({ address: account.address });
    if (balance === 0n)
      throw new AnchorError('BALANCE', `${account.address} has no funds on ${this.o.network}`);
    const tx = await wallet.sendTransaction({ to: account.address, value: 0n, data, chain: this.chain });
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: tx });
    if (receipt.status !== 'success') throw new AnchorError('RPC', `anchor transaction ${tx} reverted`);
    return {
      network: this.o.network,
      tx,
      block: receipt.blockNumber,
      from: account.address,
      gasUsed: receipt.gasUsed,
      effectiveGasPrice: receipt.effectiveGasPrice,
    };
  }

  /** The memo a transaction carries, read from its calldata. */
  async read(tx: Hex): Promise<{ memo: AnchorMemo; block: bigint | null; from: Hex; to: Hex | null }> {
    const t = await this.publicClient.getTransaction({ hash: tx });
    return { memo: parseMemoBytes(hexToBytes(t.input)), block: t.blockNumber, from: t.from, to: t.to };
  }

  /** Whether the block holding the anchor is at or below the chain's `finalized` block. */
  async isFinal(block: bigint): Promise<boolean> {
    const f = await this.publicClient.getBlock({ blockTag: 'finalized' });
    return f.number !== null && f.number >= block;
  }
}
