// The anchor part's public surface.
export {
  BASE_NETWORKS,
  type BaseNetwork,
  BaseTarget,
  type BaseTargetOptions,
  baseChain,
  readEvmKeyFile,
} from './base.js';
export { AnchorError, type AnchorErrorCode } from './errors.js';
export { type ChainKey, evmAddress, newEvmKey, newSolanaKey, parseSolanaKey } from './keys.js';
export { type Anvil, anvilBinary, LOCAL_CHAIN_ID, startAnvil } from './localnet/anvil.js';
export { type AnchorMemo, formatMemo, MEMO_PREFIX, memoBytes, parseMemo, parseMemoBytes } from './memo.js';
export type { AnchorTarget, ChainKind, Included, SentTx, SubmitOptions } from './target.js';
