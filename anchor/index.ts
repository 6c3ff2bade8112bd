// The anchor part's public surface.
export {
  BASE_NETWORKS,
  type BaseNetwork,
  BaseTarget,
  type BaseTargetOptions,
  baseChain,
  readEvmKeyFile,
} from './base.js';
export { base58Decode, base58Encode } from './base58.js';
export { AnchorError, type AnchorErrorCode } from './errors.js';
export { type ChainKey, evmAddress, newEvmKey, newSolanaKey, parseSolanaKey } from './keys.js';
export { type Anvil, type AnvilOptions, anvilBinary, LOCAL_CHAIN_ID, startAnvil } from './localnet/anvil.js';
export { airdrop, findTestValidator, type SolanaLocal, startSolanaLocal } from './localnet/solana.js';
export { type SolanaRpcOptions, type SolanaRpcServer, startSolanaRpc } from './localnet/solana-rpc.js';
export { type AnchorMemo, formatMemo, MEMO_PREFIX, memoBytes, parseMemo, parseMemoBytes } from './memo.js';
export {
  ANCHOR_PROOF_FORMAT,
  type AnchorProof,
  type AnchorProofCheck,
  buildAnchorProof,
  checkAnchorProof,
} from './proof.js';
export { type AnchorRecord, type AnchorState, anchorEntries, foldAnchorEntry, scanAnchors } from './scan.js';
export {
  type AnchorHost,
  AnchorService,
  type AnchorServiceOptions,
  type AnchorSnapshot,
  type TargetSpec,
  type TargetStatus,
} from './service.js';
export {
  loadSolanaKeypair,
  MEMO_PROGRAM_ID,
  SOLANA_NETWORKS,
  type SolanaNetwork,
  SolanaTarget,
  type SolanaTargetOptions,
} from './solana.js';
export type { AnchorTarget, ChainKind, Included, SentTx, SubmitOptions } from './target.js';
export { createTarget, type TargetConfig } from './targets.js';
export {
  type AnchorCheck,
  type AnchorReceipt,
  type AnchorRef,
  type AnchorVerifyReport,
  receiptsPath,
  type VerifyAnchorsOptions,
  verifyAnchors,
} from './verify.js';
