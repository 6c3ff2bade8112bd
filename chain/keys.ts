// Ed25519 keys in the C2SP signed-note encodings (c2sp.org/signed-note), which gavel uses for every
// Ed25519 key it has: checkpoint signing and policy signing alike.
//   verifier key: <name>+<hex key id>+<base64(0x01 || 32-byte public key)>
//   signer key:   PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>
// key id = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)  (signed-note §"Signatures").
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ChainError } from './errors.js';

/** Signature type byte for Ed25519 in signed notes. */
export const ED25519_ALG = 0x01;

export interface VerifierKey {
  name: string;
  /** 4-byte key id, as carried in every signature line. */
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

export interface SignerKey extends VerifierKey {
  seed: Uint8Array;
}

const enc = new TextEncoder();

/** A key name is non-empty Unicode with no plus sign, space or newline (signed-note). */
export function checkKeyName(name: string): void {
  if (name.length === 0 || /[+\s]/u.test(name)) {
    throw new ChainError(
      'BAD_KEY',
      `key name ${JSON.stringify(name)} must be non-empty and contain no '+' or whitespace`,
    );
  }
}

export function noteKeyId(name: string, publicKey: Uint8Array): Uint8Array {
  const nameBytes = enc.encode(name);
  const msg = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  msg.set(nameBytes, 0);
  msg[nameBytes.length] = 0x0a;
  msg[nameBytes.length + 1] = ED25519_ALG;
  msg.set(publicKey, nameBytes.length + 2);
  return sha256(msg).subarray(0, 4);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function withAlg(key: Uint8Array): string {
  const out = new Uint8Array(33);
  out[0] = ED25519_ALG;
  out.set(key, 1);
  return Buffer.from(out).toString('base64');
}

export function signerFromSeed(name: string, seed: Uint8Array): SignerKey {
  checkKeyName(name);
  if (seed.length !== 32) throw new ChainError('BAD_KEY', 'an Ed25519 seed is 32 bytes');
  const publicKey = ed25519.getPublicKey(seed);
  return { name, keyId: noteKeyId(name, publicKey), publicKey, seed };
}

export function generateSigner(name: string): SignerKey {
  return signerFromSeed(name, ed25519.utils.randomSecretKey());
}

export function formatSignerKey(k: SignerKey): string {
  return `PRIVATE+KEY+${k.name}+${hex(k.keyId)}+${withAlg(k.seed)}`;
}

export function formatVerifierKey(k: VerifierKey): string {
  return `${k.name}+${hex(k.keyId)}+${withAlg(k.publicKey)}`;
}

function decodeKeyMaterial(b64: string, what: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new ChainError('BAD_KEY', `${what}: key data is not base64`);
  const raw = new Uint8Array(Buffer.from(b64, 'base64'));
  if (raw.length !== 33 || raw[0] !== ED25519_ALG) {
    throw new ChainError('BAD_KEY', `${what}: expected an Ed25519 key (type 0x01 and 32 bytes)`);
  }
  return raw.subarray(1);
}

function checkId(name: string, idHex: string, publicKey: Uint8Array, what: string): Uint8Array {
  if (!/^[0-9a-f]{8}$/.test(idHex))
    throw new ChainError('BAD_KEY', `${what}: key id must be 8 lowercase hex digits`);
  const id = noteKeyId(name, publicKey);
  if (hex(id) !== idHex)
    throw new ChainError('BAD_KEY', `${what}: key id ${idHex} does not match the key (expected ${hex(id)})`);
  return id;
}

/** Splits on the first n-1 plus signs only: standard base64 key data may itself contain '+'. */
function splitPlus(s: string, n: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (out.length < n - 1) {
    const i = rest.indexOf('+');
    if (i < 0) break;
    out.push(rest.slice(0, i));
    rest = rest.slice(i + 1);
  }
  out.push(rest);
  return out;
}

/** Parses `<name>+<hex id>+<base64>`; the key id is recomputed and must match. */
export function parseVerifierKey(text: string): VerifierKey {
  const s = text.trim();
  const parts = splitPlus(s, 3);
  if (parts.length !== 3)
    throw new ChainError('BAD_KEY', 'verifier key must look like <name>+<hex id>+<base64 key>');
  const [name, idHex, b64] = parts as [string, string, string];
  checkKeyName(name);
  const publicKey = decodeKeyMaterial(b64, 'verifier key');
  return { name, keyId: checkId(name, idHex, publicKey, 'verifier key'), publicKey };
}

/** Parses `PRIVATE+KEY+<name>+<hex id>+<base64>`; the id must match the derived public key. */
export function parseSignerKey(text: string): SignerKey {
  const s = text.trim();
  const parts = splitPlus(s, 5);
  if (parts.length !== 5 || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new ChainError('BAD_KEY', 'signer key must look like PRIVATE+KEY+<name>+<hex id>+<base64 key>');
  }
  const [, , name, idHex, b64] = parts as [string, string, string, string, string];
  checkKeyName(name);
  const seed = decodeKeyMaterial(b64, 'signer key');
  const publicKey = ed25519.getPublicKey(seed);
  return { name, keyId: checkId(name, idHex, publicKey, 'signer key'), publicKey, seed };
}

export function sign(k: SignerKey, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, k.seed);
}

export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
