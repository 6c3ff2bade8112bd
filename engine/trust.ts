// Trust file and DSSE verification of policy packages.
//
// Trust file (JSON), documented in engine/README.md:
//   { "authors": [vkey...], "operators": [vkey...], "operatorThreshold": n, "judicial"?: [vkey...] }
// Each vkey is a C2SP signed-note verifier key `<name>+<hex key id>+<base64(0x01 || pubkey)>`.
// `threshold` is accepted as an alias of `operatorThreshold` (the daemon's spelling).
// A package loads when its DSSE envelope over manifest.json carries valid signatures from at least
// `operatorThreshold` distinct operator keys (author signatures are reported, not counted).
//
// The engine imports none of our parts (DESIGN layout rule), so it parses verifier keys itself with
// the same rule as chain/keys.ts (signed-note: key id = SHA-256(name || 0x0A || 0x01 || key)[:4]).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { EngineError } from './errors.js';

export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.gavel.policy-manifest+json';

export interface TrustKey {
  /** The verifier key as written (normalised). */
  vkey: string;
  name: string;
  publicKey: Uint8Array;
}
export interface TrustFile {
  authors: TrustKey[];
  operators: TrustKey[];
  operatorThreshold: number;
}
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** Parse a signed-note verifier key (Ed25519 only). Throws EngineError BAD_TRUST. */
export function parseVkey(text: string): TrustKey {
  const s = text.trim();
  // name+id+base64: names have no '+', but standard base64 may (split at the first two only).
  const i = s.indexOf('+');
  const j = i < 0 ? -1 : s.indexOf('+', i + 1);
  if (i <= 0 || j < 0) throw new EngineError('BAD_TRUST', `not a verifier key: ${JSON.stringify(s)}`);
  const [name, idHex, b64] = [s.slice(0, i), s.slice(i + 1, j), s.slice(j + 1)];
  const raw = Buffer.from(b64, 'base64');
  if (name === '' || !/^[0-9a-f]{8}$/.test(idHex) || raw.length !== 33 || raw[0] !== 0x01)
    throw new EngineError('BAD_TRUST', `not an Ed25519 signed-note verifier key: ${JSON.stringify(s)}`);
  const publicKey = new Uint8Array(raw.subarray(1));
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name, 'utf8'), Buffer.from([0x0a, 0x01]), publicKey]))
    .digest()
    .subarray(0, 4)
    .toString('hex');
  if (id !== idHex) throw new EngineError('BAD_TRUST', `verifier key ${name}: key id does not match the key`);
  return { vkey: s, name, publicKey };
}

/** Validate a parsed trust-file JSON value. */
export function parseTrust(json: unknown, where = 'trust file'): TrustFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new EngineError('BAD_TRUST', `${where}: must be a JSON object`);
  const j = json as Record<string, unknown>;
  const keys = (field: string): TrustKey[] => {
    const v = j[field];
    if (v === undefined) return [];
    if (!Array.isArray(v))
      throw new EngineError('BAD_TRUST', `${where}: "${field}" must be an array of verifier keys`);
    return v.map((k) => parseVkey(String(k)));
  };
  const operators = keys('operators');
  const t = j.operatorThreshold ?? j.threshold ?? 1;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1)
    throw new EngineError('BAD_TRUST', `${where}: operatorThreshold must be an integer >= 1`);
  if (operators.length < t)
    throw new EngineError(
      'BAD_TRUST',
      `${where}: operatorThreshold ${t} exceeds the ${operators.length} operator keys`,
    );
  return { authors: keys('authors'), operators, operatorThreshold: t };
}

export function loadTrustFile(path: string): TrustFile {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new EngineError('BAD_TRUST', `trust file ${path}: ${(err as Error).message}`, {
      exitCode: 2,
      cause: err,
    });
  }
  return parseTrust(json, `trust file ${path}`);
}

/** DSSE v1 pre-authentication encoding (secure-systems-lab/dsse protocol.md). */
export function pae(type: string, body: Uint8Array): Uint8Array {
  const t = Buffer.from(type, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${body.length} `), body]);
}

export interface SignatureCheck {
  keyid: string;
  valid: boolean;
  role: 'operator' | 'author' | 'unknown';
}
export interface EnvelopeReport {
  /** Payload bytes (the manifest.json the envelope signs). */
  payload: Uint8Array;
  checks: SignatureCheck[];
  operators: string[];
  authors: string[];
}

/** Check every signature of an envelope against the trust keys; never throws on a bad signature. */
export function checkEnvelope(env: DsseEnvelope, trust: TrustFile | undefined): EnvelopeReport {
  if (
    env.payloadType !== MANIFEST_PAYLOAD_TYPE ||
    typeof env.payload !== 'string' ||
    !Array.isArray(env.signatures)
  )
    throw new EngineError(
      'BAD_PACKAGE',
      `manifest.dsse.json is not a DSSE envelope of type ${MANIFEST_PAYLOAD_TYPE}`,
    );
  const payload = new Uint8Array(Buffer.from(env.payload, 'base64'));
  const msg = pae(env.payloadType, payload);
  const byKey = new Map<string, { k: TrustKey; role: 'operator' | 'author' }>();
  for (const k of trust?.authors ?? [])
    byKey.set(Buffer.from(k.publicKey).toString('hex'), { k, role: 'author' });
  for (const k of trust?.operators ?? [])
    byKey.set(Buffer.from(k.publicKey).toString('hex'), { k, role: 'operator' });
  const checks: SignatureCheck[] = [];
  const operators = new Set<string>();
  const authors = new Set<string>();
  for (const s of env.signatures) {
    let key: TrustKey;
    try {
      key = parseVkey(String(s.keyid));
    } catch {
      checks.push({ keyid: String(s.keyid), valid: false, role: 'unknown' });
      continue;
    }
    let valid = false;
    try {
      valid = ed25519.verify(Buffer.from(String(s.sig), 'base64'), msg, key.publicKey);
    } catch {
      valid = false;
    }
    const t = byKey.get(Buffer.from(key.publicKey).toString('hex'));
    const role = t?.role ?? 'unknown';
    checks.push({ keyid: key.vkey, valid, role });
    if (valid && role === 'operator') operators.add(key.vkey);
    if (valid && role === 'author') authors.add(key.vkey);
  }
  return { payload, checks, operators: [...operators], authors: [...authors] };
}

/** Throw the precise refusal for an envelope that does not meet the trust file. */
export function requireTrusted(r: EnvelopeReport, trust: TrustFile): void {
  if (r.checks.length === 0) throw new EngineError('UNSIGNED', 'the package has no signatures');
  const bad = r.checks.filter((c) => !c.valid);
  if (r.operators.length >= trust.operatorThreshold) return;
  if (bad.length > 0)
    throw new EngineError('BAD_SIGNATURE', `signature by ${bad[0]?.keyid} does not verify over the manifest`);
  if (r.operators.length === 0 && r.authors.length === 0)
    throw new EngineError(
      'UNTRUSTED_KEY',
      `no signer is in the trust file (signed by ${r.checks.map((c) => c.keyid).join(', ')})`,
    );
  throw new EngineError(
    'BELOW_THRESHOLD',
    `${r.operators.length} valid operator signature(s), the trust file requires ${trust.operatorThreshold}`,
  );
}
