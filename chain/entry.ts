// The native entry: a superset of the MO§ES fields (DESIGN.md "The ledger"), hashed as
//   hash = SHA-256(UTF-8(JCS(entry without `hash`)))                      (the MO§ES rule)
//   seal.mac = HMAC-SHA256(epoch key, JCS(entry without `hash` and without `seal.mac`))
// Lines are written in canonical form themselves (members in JCS order, `hash` included), so a
// line is byte-for-byte the canonical text plus its hash, and readers that re-canonicalize (Python's
// json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False)) get the same bytes.
import { createHmac } from 'node:crypto';
import { ChainError } from './errors.js';
import { type HmacSha256, sha256Hex } from './hash.js';
import { canonicalJson, canonicalString } from './jcs.js';

export interface EntryInput {
  kind: string;
  source?: string;
  agent?: string;
  component?: string;
  action?: string;
  detail?: string;
  outcome?: string;
  mode?: string;
  posture?: string;
  role?: string;
  session_hash?: string | null;
  payload?: Record<string, unknown>;
}

export interface Seal {
  epoch: number;
  mac: string;
}

export interface Entry {
  seq: number;
  timestamp: string;
  kind: string;
  source: string;
  agent: string;
  component: string;
  action: string;
  detail: string;
  outcome: string;
  mode: string;
  posture: string;
  role: string;
  session_hash: string | null;
  payload: Record<string, unknown>;
  previous_hash: string;
  seal?: Seal;
  hash: string;
}

/** Defaults for fields a caller leaves out (MO§ES defaults where MO§ES has one). */
export const ENTRY_DEFAULTS = {
  source: 'gavel',
  agent: 'gavel',
  component: 'gavel',
  detail: '',
  outcome: 'logged',
  mode: 'high-integrity',
  posture: 'defense',
  role: 'primary',
} as const;

/** Every top-level member a native entry has (`seal` only when sealed). */
export const ENTRY_FIELDS: readonly string[] = [
  'seq',
  'timestamp',
  'kind',
  'source',
  'agent',
  'component',
  'action',
  'detail',
  'outcome',
  'mode',
  'posture',
  'role',
  'session_hash',
  'payload',
  'previous_hash',
  'seal',
  'hash',
];

function str(v: unknown, field: string, fallback: string): string {
  if (v === undefined) return fallback;
  if (typeof v !== 'string') throw new ChainError('BAD_ENTRY', `${field} must be a string, got ${typeof v}`);
  return v;
}

/** The entry's fields (without seq, timestamp, links, seal, hash), defaults applied and types checked. */
export function normalizeInput(
  input: EntryInput,
): Omit<Entry, 'seq' | 'timestamp' | 'previous_hash' | 'seal' | 'hash'> {
  if (typeof input !== 'object' || input === null)
    throw new ChainError('BAD_ENTRY', 'an entry must be an object');
  if (typeof input.kind !== 'string' || input.kind === '')
    throw new ChainError('BAD_ENTRY', 'kind is required');
  const sh = input.session_hash;
  if (sh !== undefined && sh !== null && typeof sh !== 'string')
    throw new ChainError('BAD_ENTRY', 'session_hash must be a string or null');
  const payload = input.payload ?? {};
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    throw new ChainError('BAD_ENTRY', 'payload must be a JSON object');
  return {
    kind: input.kind,
    source: str(input.source, 'source', ENTRY_DEFAULTS.source),
    agent: str(input.agent, 'agent', ENTRY_DEFAULTS.agent),
    component: str(input.component, 'component', ENTRY_DEFAULTS.component),
    action: str(input.action, 'action', input.kind),
    detail: str(input.detail, 'detail', ENTRY_DEFAULTS.detail),
    outcome: str(input.outcome, 'outcome', ENTRY_DEFAULTS.outcome),
    mode: str(input.mode, 'mode', ENTRY_DEFAULTS.mode),
    posture: str(input.posture, 'posture', ENTRY_DEFAULTS.posture),
    role: str(input.role, 'role', ENTRY_DEFAULTS.role),
    session_hash: sh ?? null,
    payload,
  };
}

export type EntryBody = ReturnType<typeof normalizeInput>;

/**
 * Canonical text of a new entry, assembled from its known members in JCS order (action, agent,
 * component, detail, [hash], kind, mode, outcome, payload, posture, previous_hash, role, [seal], seq,
 * session_hash, source, timestamp) without re-sorting. `payloadJson` is the payload's canonical text,
 * computed once by the caller.
 */
export class EntryText {
  private readonly head: string;
  private readonly middle: string;
  private readonly tail: string;
  constructor(body: EntryBody, payloadJson: string, seq: number, timestamp: string, previousHash: string) {
    const q = canonicalString;
    this.head = `{"action":${q(body.action)},"agent":${q(body.agent)},"component":${q(body.component)},"detail":${q(body.detail)},`;
    this.middle = `"kind":${q(body.kind)},"mode":${q(body.mode)},"outcome":${q(body.outcome)},"payload":${payloadJson},"posture":${q(body.posture)},"previous_hash":${q(previousHash)},"role":${q(body.role)}`;
    this.tail = `"seq":${seq},"session_hash":${body.session_hash === null ? 'null' : q(body.session_hash)},"source":${q(body.source)},"timestamp":${q(timestamp)}}`;
  }
  /** The HMAC input: the entry without `hash` and with a seal holding only its epoch. */
  macInput(epoch: number): string {
    return `${this.head}${this.middle},"seal":{"epoch":${epoch}},${this.tail}`;
  }
  /** HMAC-SHA256 of macInput(epoch) (one update of the assembled text: cheaper than several). */
  mac(key: Uint8Array, epoch: number): string {
    return createHmac('sha256', key).update(this.macInput(epoch), 'utf8').digest('hex');
  }
  private sealPart(seal: Seal | undefined): string {
    return seal === undefined ? ',' : `,"seal":{"epoch":${seal.epoch},"mac":"${seal.mac}"},`;
  }
  /** The hash input: the entry without `hash`. */
  hashInput(seal: Seal | undefined): string {
    return `${this.head}${this.middle}${this.sealPart(seal)}${this.tail}`;
  }
  /** The stored line (no newline): canonical text of the whole entry, `hash` included. */
  line(seal: Seal | undefined, hash: string): string {
    return `${this.head}"hash":"${hash}",${this.middle}${this.sealPart(seal)}${this.tail}`;
  }
  /** Bytes writeLine() may need at most. */
  maxBytes(): number {
    return 3 * (this.head.length + this.middle.length + this.tail.length) + 256;
  }
  /**
   * Writes the stored line and its newline into `out` at `at` (room: maxBytes()), sealing it with
   * `hmac` under `epoch` when given, and returns where it ends with the hash and MAC. The same bytes
   * as line(seal, hash) + '\n', built in place: the text is written once as the MAC input (the seal
   * holding only its epoch), MACed from there, the MAC member slid in, the result — now the hash
   * input — hashed where it lies, and the hash member slid in after the head. No string is built or
   * encoded twice, and no per-entry buffer is allocated.
   */
  writeLine(
    out: Buffer,
    at: number,
    seal: { epoch: number; hmac: HmacSha256 } | undefined,
  ): { end: number; hash: string; mac: string | undefined } {
    let p = at + out.write(this.head, at, 'utf8');
    const headEnd = p;
    p += out.write(this.middle, p, 'utf8');
    let sealClose = -1;
    if (seal !== undefined) {
      p += out.write(`,"seal":{"epoch":${seal.epoch}}`, p, 'latin1');
      sealClose = p - 1;
    }
    out[p++] = 0x2c;
    p += out.write(this.tail, p, 'utf8');
    let mac: string | undefined;
    if (seal !== undefined) {
      const n = p - at;
      out.copy(seal.hmac.messageBuffer(n), 64, at, p);
      mac = seal.hmac.macOf(n);
      // `,"mac":"<64 hex>"` (73 bytes) goes before the seal's closing brace.
      out.copyWithin(sealClose + 73, sealClose, p);
      out.write(`,"mac":"${mac}"`, sealClose, 'latin1');
      p += 73;
    }
    const hash = sha256Hex(new Uint8Array(out.buffer, out.byteOffset + at, p - at));
    // `"hash":"<64 hex>",` (74 bytes) goes right after the head (members in JCS order).
    out.copyWithin(headEnd + 74, headEnd, p);
    out.write(`"hash":"${hash}",`, headEnd, 'latin1');
    p += 74;
    out[p++] = 0x0a;
    return { end: p, hash, mac };
  }
}

/** Hash of any parsed entry: SHA-256 of the canonical form without `hash`. */
export function entryHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return sha256Hex(canonicalJson(rest));
}

/**
 * Canonical text of a parsed entry without `hash`, and (when sealed) the HMAC input, which is the
 * same text with the top-level seal reduced to its epoch. The seal is cut out of the text rather than
 * re-serialized when it is the last structured member (as in every native entry: only scalar members
 * sort after "seal"); anything else takes the general path.
 */
export function canonicalForms(entry: Record<string, unknown>): { hashInput: string; macInput?: string } {
  const { hash: _hash, ...rest } = entry;
  const hashInput = canonicalJson(rest);
  const seal = rest.seal as { epoch?: unknown; mac?: unknown } | undefined;
  if (seal === undefined || typeof seal !== 'object' || seal === null) return { hashInput };
  const { mac: _mac, ...sealWithoutMac } = seal;
  if (typeof seal.mac === 'string' && Number.isSafeInteger(seal.epoch) && Object.keys(seal).length === 2) {
    const member = `"seal":{"epoch":${seal.epoch as number},"mac":${canonicalJson(seal.mac)}}`;
    const at = hashInput.lastIndexOf(member);
    const after = at < 0 ? '' : hashInput.slice(at + member.length);
    if (at > 0 && !after.includes('{') && !after.includes('[') && after.indexOf('}') === after.length - 1) {
      return {
        hashInput,
        macInput: `${hashInput.slice(0, at)}"seal":{"epoch":${seal.epoch as number}}${after}`,
      };
    }
  }
  return { hashInput, macInput: canonicalJson({ ...rest, seal: sealWithoutMac }) };
}
