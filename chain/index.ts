// The chain part's public surface: other parts import only from here.

export {
  canonicalForms,
  ENTRY_DEFAULTS,
  ENTRY_FIELDS,
  type Entry,
  type EntryInput,
  entryHash,
  type Seal,
} from './entry.js';
export { ChainError, type ChainErrorCode } from './errors.js';
export { detectLedgerFormat, formatRecentLine, type LedgerFormat } from './format.js';
export { sha256Hex, ZERO_HASH } from './hash.js';
// The ledger itself: entries, canonical form, seals, the lock and the store.
export { type ByteSink, canonicalJson, putAscii, putMember, putString } from './jcs.js';
export {
  formatSignerKey,
  formatVerifierKey,
  generateSigner,
  noteKeyId,
  parseSignerKey,
  parseVerifierKey,
  type SignerKey,
  sign,
  signerFromSeed,
  type VerifierKey,
  verifySignature,
} from './keys.js';
export { EVENT_KINDS, isMutatingKind, type KindSpec, listKinds, validateEvent } from './kinds.js';
export { acquireLock, type LockHandle, lockPath } from './lock.js';
// Merkle tree, checkpoints and proofs (proofs engineer).
export {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  leafHash,
  leafHashHex,
  MemoryTree,
  type NodeSource,
  nodeHash,
  rootFromInclusionProof,
  TreeFrontier,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export {
  appendMosesEntry,
  MOSES_ANCHOR,
  MOSES_DEFAULT_LEDGER,
  MOSES_DEFAULT_STATE,
  type MosesLogFields,
  mosesAttestation,
  mosesEntryHash,
  pyDumps,
  pythonUtcNow,
  recentMoses,
  type VerifyReport,
  verifyMosesLedger,
} from './moses.js';
export {
  type Checkpoint,
  cosignNote,
  formatCheckpoint,
  ledgerOrigin,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  signCheckpoint,
  signNote,
} from './note.js';
export {
  buildConsistencyFile,
  buildProofFile,
  type CheckedProof,
  CONSISTENCY_FORMAT,
  checkConsistencyFile,
  checkProofFile,
  PROOF_FORMAT,
  type ProofFile,
} from './proof-file.js';
export { EpochKeys, initialKey, nextKey, readSealKey, sealKeyPath, sealMac } from './seal.js';
export {
  createSecretScanner,
  type Redaction,
  type ScannerOptions,
  type SecretScanner,
  type SecretType,
} from './sensitivity.js';
export { Ledger, type LedgerOptions, type LedgerSidecar } from './store.js';
export { LedgerTree, type TreeOpenContext, TreeReader, TreeSidecar, treePath } from './tree.js';
export { type CheckpointVerifyReport, verifyLedgerAgainstCheckpoint } from './verify-checkpoint.js';
export { type ParallelVerifyReport, verifyLedgerParallel } from './verify-parallel.js';
