// C2SP signed notes (c2sp.org/signed-note) and transparency-log checkpoints
// (c2sp.org/tlog-checkpoint) — the signed statement "this ledger had N entries with Merkle root R".
//
// signed note = text ending in "\n", a blank line, then one or more signature lines
//               "— <key name> <base64(4-byte key id || signature)>\n" (U+2014 EM DASH, then a space).
//               Ed25519 signs the note text (including its final newline, excluding the blank line).
// checkpoint  = note text of at least three non-empty lines: origin, decimal tree size with no leading
//               zeroes, base64 RFC 6962 root; further non-empty lines are opaque extension lines.
//
// gavel's origin for a ledger is `gavel.local/<ledger id>`, where the ledger id is the first 16 hex
// digits of the genesis (seq 0) entry's hash: stable for the ledger's whole life, different for
// every ledger, and computable by an auditor from the ledger itself (`ledgerOrigin`).
import { ChainError } from './errors.js';
import type { SignerKey, VerifierKey } from './keys.js';
import { sign, verifySignature } from './keys.js';

export interface Checkpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  /** Extension lines (opaque, non-empty); tlog-checkpoint does not recommend them. */
  extensions?: string[];
}

const EM_DASH = '\u2014';
/** Verifiers must accept at least 16 signatures (signed-note); a cap keeps hostile notes cheap. */
const MAX_SIGNATURES = 100;
const MAX_NOTE_BYTES = 1 << 20;

const enc = new TextEncoder();

function bad(message: string): ChainError {
  return new ChainError('BAD_NOTE', message);
}

/** Standard base64 (RFC 4648 §4), padded, canonical: decoding and re-encoding gives the same text. */
function decodeBase64Strict(s: string, what: string): Uint8Array {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
    throw bad(`${what} is not standard padded base64`);
  }
  const raw = Buffer.from(s, 'base64');
  if (raw.toString('base64') !== s) throw bad(`${what} is not canonical base64`);
  return new Uint8Array(raw);
}

/** The stable origin line of a ledger's checkpoints, from its genesis entry hash (hex). */
export function ledgerOrigin(genesisHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(genesisHash)) {
    throw new ChainError('BAD_ENTRY', 'genesis hash must be 64 lowercase hex digits');
  }
  return `gavel.local/${genesisHash.slice(0, 16)}`;
}

function checkOrigin(origin: string): void {
  // tlog-checkpoint: non-empty; gavel additionally keeps it a key-name-like token (no spaces, no '+')
  // so it can double as the signing key's name, as the spec recommends.
  if (origin.length === 0 || /[\s+\p{Cc}]/u.test(origin)) {
    throw bad(
      `checkpoint origin ${JSON.stringify(origin)} must be non-empty with no spaces, '+' or controls`,
    );
  }
}

/** The checkpoint's note text (tlog-checkpoint §"Note text"). */
export function formatCheckpoint(c: Checkpoint): string {
  checkOrigin(c.origin);
  if (!Number.isSafeInteger(c.size) || c.size < 0)
    throw bad(`tree size ${c.size} is not a non-negative integer`);
  if (c.root.length !== 32) throw bad('a checkpoint root is 32 bytes');
  let text = `${c.origin}\n${c.size}\n${Buffer.from(c.root).toString('base64')}\n`;
  for (const ext of c.extensions ?? []) {
    if (ext.length === 0 || /[\p{Cc}]/u.test(ext))
      throw bad('extension lines must be non-empty with no controls');
    text += `${ext}\n`;
  }
  return text;
}

/** Parses a checkpoint note text (strict: exactly the form `formatCheckpoint` writes). */
export function parseCheckpoint(body: string): Checkpoint {
  if (!body.endsWith('\n')) throw bad('checkpoint text must end with a newline');
  const lines = body.slice(0, -1).split('\n');
  if (lines.length < 3) throw bad('checkpoint text needs origin, tree size and root hash lines');
  if (lines.some((l) => l.length === 0)) throw bad('checkpoint text has an empty line');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw bad('checkpoint origin is empty');
  if (!/^(?:0|[1-9][0-9]*)$/.test(sizeText))
    throw bad(`checkpoint tree size ${JSON.stringify(sizeText)} is not decimal`);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw bad(`checkpoint tree size ${sizeText} is too large`);
  const root = decodeBase64Strict(rootText, 'checkpoint root hash');
  if (root.length !== 32) throw bad('checkpoint root hash is not 32 bytes');
  const c: Checkpoint = { origin, size, root };
  if (extensions.length > 0) c.extensions = extensions;
  return c;
}

function checkNoteText(text: string, what: string): void {
  // signed-note: valid UTF-8 (a JS string re-encodes lone surrogates as U+FFFD, so refuse them) and no
  // ASCII control characters other than newline.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a)
      throw bad(`${what} contains a control character (U+${c.toString(16).padStart(4, '0')})`);
  }
  if (Buffer.from(text, 'utf8').toString('utf8') !== text) throw bad(`${what} is not valid UTF-8 text`);
}

/** Signs `body` (which must end with a newline) and returns the whole signed note. */
export function signNote(body: string, key: SignerKey): string {
  if (!body.endsWith('\n')) throw bad('note text must end with a newline');
  checkNoteText(body, 'note text');
  const sig = sign(key, enc.encode(body));
  const blob = new Uint8Array(4 + sig.length);
  blob.set(key.keyId, 0);
  blob.set(sig, 4);
  return `${body}\n${EM_DASH} ${key.name} ${Buffer.from(blob).toString('base64')}\n`;
}

/** Adds a further signature line (e.g. a witness co-signature) to an already signed note. */
export function cosignNote(note: string, key: SignerKey): string {
  const { body } = splitNote(note);
  const extra = signNote(body, key);
  return note + extra.slice(body.length + 1);
}

interface SignatureLine {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

function splitNote(note: string): { body: string; sigs: SignatureLine[] } {
  if (enc.encode(note).length > MAX_NOTE_BYTES) throw bad('note is larger than 1 MiB');
  checkNoteText(note, 'note');
  if (!note.endsWith('\n')) throw bad('note must end with a newline');
  // The text is separated from the signatures by the LAST blank line of the note.
  const sep = note.lastIndexOf('\n\n');
  if (sep < 0) throw bad('note has no blank line before its signatures');
  const body = note.slice(0, sep + 1);
  const sigLines = note.slice(sep + 2, -1).split('\n');
  if (sigLines.length === 0 || sigLines[0] === '') throw bad('note has no signature lines');
  if (sigLines.length > MAX_SIGNATURES) throw bad(`note has more than ${MAX_SIGNATURES} signatures`);
  const sigs = sigLines.map((line, i) => {
    const m = /^\u2014 ([^\s+]+) (\S+)$/u.exec(line);
    if (m === null) throw bad(`signature line ${i + 1} is not "— <key name> <base64 signature>"`);
    const blob = decodeBase64Strict(m[2] as string, `signature line ${i + 1}`);
    if (blob.length < 5) throw bad(`signature line ${i + 1} is too short to hold a key id and a signature`);
    return { name: m[1] as string, keyId: blob.subarray(0, 4), signature: blob.subarray(4) };
  });
  return { body, sigs };
}

function sameId(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Verifies a signed note against trusted keys (signed-note §"Signatures"): signatures by unknown
 * keys are ignored; a known key (same name AND key id) whose signature fails rejects the note; at
 * least one known key must have signed. Returns the note text and the names of the keys that signed.
 */
export function openNote(note: string, verifiers: VerifierKey[]): { body: string; signers: string[] } {
  const { body, sigs } = splitNote(note);
  const msg = enc.encode(body);
  const signers: string[] = [];
  for (const s of sigs) {
    const key = verifiers.find((v) => v.name === s.name && sameId(v.keyId, s.keyId));
    if (key === undefined) continue;
    if (!verifySignature(key.publicKey, msg, s.signature)) {
      throw bad(
        `signature by ${s.name} does not verify: the note text was changed or the signature is forged`,
      );
    }
    if (!signers.includes(s.name)) signers.push(s.name);
  }
  if (signers.length === 0) {
    const names = sigs.map((s) => s.name).join(', ');
    throw bad(`note is not signed by any trusted key (signed by: ${names})`);
  }
  return { body, signers };
}

/** Signs a checkpoint: the full signed note text. */
export function signCheckpoint(c: Checkpoint, key: SignerKey): string {
  return signNote(formatCheckpoint(c), key);
}

/** Verifies a signed checkpoint note and parses its body. */
export function openCheckpoint(note: string, verifiers: VerifierKey[]): Checkpoint & { signers: string[] } {
  const { body, signers } = openNote(note, verifiers);
  return { ...parseCheckpoint(body), signers };
}
