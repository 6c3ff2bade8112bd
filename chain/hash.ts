// SHA-256 and HMAC-SHA256 over UTF-8 text, hex out. node:crypto rather than @noble/hashes here: on
// this machine it hashes a 300-byte entry in ~1.5 us against ~3 us (CONVENTIONS.md), and both the
// append and the verify paths run it once or twice per entry.
import { createHmac, hash } from 'node:crypto';

export const ZERO_HASH = '0'.repeat(64);

export function sha256Hex(text: string | Uint8Array): string {
  // One-shot crypto.hash (Node >= 20.12): about half the cost of createHash().update().digest().
  return hash('sha256', text, 'hex');
}

export function hmacSha256Hex(key: Uint8Array, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

export function isHash(s: unknown): s is string {
  return typeof s === 'string' && s.length === 64 && /^[0-9a-f]{64}$/.test(s);
}
