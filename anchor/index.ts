// The anchor part's public surface (issue 6, in progress: memo format and the Base target).
export {
  type BaseAnchorResult,
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
