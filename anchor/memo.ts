// The anchor memo: short, versioned ASCII that commits to a checkpoint and the ledger head,
//   gavel:v1:<origin>:<tree size>:<RFC 6962 root, 64 hex>:<head entry hash, 64 hex>
// written as Solana SPL Memo data or Base calldata, and parsed back strictly: anything else —
// other versions, extra fields, upper-case hex, leading zeros, unexpected characters — is refused.
import { AnchorError } from './errors.js';

export interface AnchorMemo {
  origin: string;
  size: number;
  /** Merkle root, 64 lowercase hex. */
  root: string;
  /** Hash of the ledger's last entry at `size`, 64 lowercase hex. */
  head: string;
}

export const MEMO_PREFIX = 'gavel:v1:';
/** Origins as gavel writes them (`gavel.local/<id>`, `example.com/log`): no ':' so fields split cleanly. */
const ORIGIN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const SIZE = /^(0|[1-9][0-9]{0,15})$/;

function bad(why: string): never {
  throw new AnchorError('BAD_MEMO', `not a gavel v1 anchor memo: ${why}`);
}

export function formatMemo(m: AnchorMemo): string {
  if (!ORIGIN.test(m.origin)) bad(`origin ${JSON.stringify(m.origin)} must match ${ORIGIN}`);
  if (!Number.isSafeInteger(m.size) || m.size < 0) bad(`size ${m.size} must be a whole number`);
  if (!HEX64.test(m.root)) bad('root must be 64 lowercase hex digits');
  if (!HEX64.test(m.head)) bad('head must be 64 lowercase hex digits');
  return `${MEMO_PREFIX}${m.origin}:${m.size}:${m.root}:${m.head}`;
}

export function parseMemo(text: string): AnchorMemo {
  if (!text.startsWith(MEMO_PREFIX)) bad(`it does not start with ${MEMO_PREFIX}`);
  const fields = text.slice(MEMO_PREFIX.length).split(':');
  if (fields.length !== 4) bad(`expected 4 fields after the prefix, found ${fields.length}`);
  const [origin, size, root, head] = fields as [string, string, string, string];
  if (!ORIGIN.test(origin)) bad('bad origin');
  if (!SIZE.test(size) || !Number.isSafeInteger(Number(size))) bad('bad tree size');
  if (!HEX64.test(root)) bad('bad root');
  if (!HEX64.test(head)) bad('bad head hash');
  return { origin, size: Number(size), root, head };
}

export function memoBytes(m: AnchorMemo): Uint8Array {
  return new TextEncoder().encode(formatMemo(m));
}

/** Parses memo bytes as read back from a chain (instruction data or calldata); strict UTF-8/ASCII. */
export function parseMemoBytes(bytes: Uint8Array): AnchorMemo {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    bad('the data is not UTF-8');
  }
  if (/[^\x20-\x7e]/.test(text)) bad('the data is not printable ASCII');
  return parseMemo(text);
}
