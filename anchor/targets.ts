// Builds anchor targets from configuration: the daemon's [[anchor.targets]] and the verifier's
// read-only view (which needs no key: it only reads transactions back).
import { type BaseNetwork, BaseTarget } from './base.js';
import { AnchorError } from './errors.js';
import { parseSolanaKey } from './keys.js';
import { type SolanaNetwork, SolanaTarget } from './solana.js';
import type { AnchorTarget, ChainKind } from './target.js';

export interface TargetConfig {
  chain: ChainKind;
  network: string;
  rpcUrl?: string;
  wsUrl?: string;
  /** Key file text: solana-keygen JSON or hex EVM key. Absent for a read-only target. */
  key?: string;
  maxFeePerGas?: bigint;
  computeUnitPrice?: number;
}

const SOLANA: readonly string[] = ['devnet', 'testnet', 'mainnet-beta', 'local'];
const BASE: readonly string[] = ['base', 'base-sepolia', 'local'];

export function createTarget(c: TargetConfig): AnchorTarget {
  if (c.chain === 'solana') {
    if (!SOLANA.includes(c.network))
      throw new AnchorError('BAD_CONFIG', `${c.network} is not a Solana network (${SOLANA.join(', ')})`);
    return new SolanaTarget({
      network: c.network as SolanaNetwork,
      rpcUrl: c.rpcUrl,
      wsUrl: c.wsUrl,
      keypair: c.key === undefined ? undefined : parseSolanaKey(c.key),
      computeUnitPrice: c.computeUnitPrice,
    });
  }
  if (c.chain === 'base') {
    if (!BASE.includes(c.network))
      throw new AnchorError('BAD_CONFIG', `${c.network} is not a Base network (${BASE.join(', ')})`);
    let privateKey: `0x${string}` | undefined;
    if (c.key !== undefined) {
      const t = c.key.trim().replace(/^0x/, '');
      if (!/^[0-9a-fA-F]{64}$/.test(t))
        throw new AnchorError('BAD_KEY', 'an EVM key file holds a 32-byte hex private key');
      privateKey = `0x${t.toLowerCase()}`;
    }
    return new BaseTarget({
      network: c.network as BaseNetwork,
      rpcUrl: c.rpcUrl,
      privateKey,
      maxFeePerGas: c.maxFeePerGas,
    });
  }
  throw new AnchorError('BAD_CONFIG', `unknown chain ${String(c.chain)} (solana or base)`);
}
