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

/**
 * HMAC-SHA256 (RFC 2104) over bytes written in place: the key's padded inner block sits in front of
 * the message in one reusable buffer, so a MAC is two one-shot SHA-256 calls with no per-call key
 * setup (createHmac costs ~3.3 us a 900-byte entry here, this ~1.7 us). Same MAC, byte for byte.
 */
export class HmacSha256 {
  private inner: Buffer;
  private readonly outer = Buffer.alloc(96);
  private readonly ipad = Buffer.alloc(64);
  constructor(key: Uint8Array, capacity = 4096) {
    // Keys longer than a block are hashed first (RFC 2104 §2); shorter ones are zero-padded.
    const k = key.length > 64 ? hash('sha256', key, 'buffer') : key;
    for (let i = 0; i < 64; i++) {
      const b = i < k.length ? (k[i] as number) : 0;
      this.ipad[i] = b ^ 0x36;
      this.outer[i] = b ^ 0x5c;
    }
    this.inner = Buffer.alloc(64 + capacity);
    this.ipad.copy(this.inner, 0);
  }
  /** The buffer to write the message into, at byte 64, with room for `n` message bytes. */
  messageBuffer(n: number): Buffer {
    if (this.inner.length < 64 + n) {
      this.inner = Buffer.alloc(64 + 2 * n);
      this.ipad.copy(this.inner, 0);
    }
    return this.inner;
  }
  /** Hex MAC of the `n` message bytes at [64, 64 + n) of messageBuffer(). */
  macOf(n: number): string {
    const inner = hash('sha256', new Uint8Array(this.inner.buffer, this.inner.byteOffset, 64 + n), 'binary');
    this.outer.write(inner, 64, 'latin1');
    return hash('sha256', this.outer, 'hex');
  }
  /** Hex MAC of the UTF-8 of `text`. */
  macOfText(text: string): string {
    const buf = this.messageBuffer(text.length * 3);
    return this.macOf(buf.write(text, 64, 'utf8'));
  }
}
