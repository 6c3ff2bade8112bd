// The chain part's public surface: other parts import only from here.
export { ChainError, type ChainErrorCode } from './errors.js';
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
