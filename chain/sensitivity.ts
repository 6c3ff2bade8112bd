// Data sensitivity: before an entry is written, text that looks like a secret is refused (or, where
// configured, redacted) — private keys (PEM, 0x-hex, base58 Solana keys, JSON-array keypairs as
// solana-keygen writes them), API tokens, JWTs, and the operator secret itself in any common
// encoding. Nothing else is altered.
//
// Digests look like keys: a SHA-256 is 64 hex digits, an EVM transaction hash is 0x + 64 hex and a
// Solana signature is 87-88 base58 characters, exactly like the keys. So those three forms are
// refused in free text and in fields named like keys, but allowed in fields named like digests or
// transaction ids (hash, sha256, digest, root, head, tx, txid, signature, sig, mac, checksum, id...).
import { ChainError } from './errors.js';

export type SecretType =
  | 'pem-private-key'
  | 'jwt'
  | 'api-token'
  | 'hex-private-key'
  | 'base58-private-key'
  | 'json-keypair'
  | 'operator-secret';

export interface Redaction {
  path: string;
  type: SecretType;
}

export interface SecretScanner {
  /** The value itself (refuse mode) or a redacted copy; throws ChainError SECRET_DETECTED when refusing. */
  scan<T>(value: T): T;
  /** Same, with what was redacted. */
  scanWithReport<T>(value: T): { value: T; redactions: Redaction[] };
}

export interface ScannerOptions {
  mode: 'refuse' | 'redact';
  operatorSecret?: string | Uint8Array;
  extraSecrets?: (string | Uint8Array)[];
}

interface Rule {
  type: SecretType;
  re: RegExp;
  /** Allowed where the field is named like a digest or a transaction id. */
  digestLike?: boolean;
}

const RULES: Rule[] = [
  {
    type: 'pem-private-key',
    re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|$)/g,
  },
  { type: 'jwt', re: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g },
  {
    type: 'api-token',
    re: /\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|(?:sk|rk)_live_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:AKIA|ASIA)[0-9A-Z]{16}|glpat-[A-Za-z0-9_-]{20,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|hf_[A-Za-z]{34})\b/g,
  },
  {
    type: 'hex-private-key',
    re: /(?<![0-9a-fA-Fx])(?:0x)?[0-9a-fA-F]{64}(?![0-9a-fA-F])/g,
    digestLike: true,
  },
  {
    type: 'base58-private-key',
    re: /(?<![1-9A-HJ-NP-Za-km-z])[1-9A-HJ-NP-Za-km-z]{86,88}(?![1-9A-HJ-NP-Za-km-z])/g,
    digestLike: true,
  },
  { type: 'json-keypair', re: /\[\s*(?:\d{1,3}\s*,\s*){63}\d{1,3}\s*\]/g },
];

/** Cheap first look: most strings contain none of these and need no further work. (Alternatives
 *  with a common first letter are grouped: the same strings match, with less backtracking.) */
const MAYBE =
  /-----BEGIN|eyJ|sk-|_live_|g(?:h[pousr]_|ithub_pat_|lpat-)|xox[abposr]-|A(?:KIA|SIA|Iza)|npm_|hf_|\[/;
/** One character every MAYBE alternative holds: a single class scans a string faster than the
 *  alternation, and most text holds none of them. */
const MAYBE_CHAR = /[-_[JA]/;
/** Hex and base58 keys are at least 64 characters long. */
const LONG_TOKEN = /[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{86}/;
/** The shortest text any rule can match (an `xoxb-` token); shorter strings need no regex at all. */
const MIN_RULE_LENGTH = 15;
const MIN_LONG_TOKEN = 64;
/** Bounds of a scanner's memo of texts found clean. */
const MEMO_MAX_LENGTH = 256;
const MEMO_MAX_SIZE = 4096;

function ruleSuspect(s: string): boolean {
  return s.length >= MIN_RULE_LENGTH && (MAYBE.test(s) || (s.length >= MIN_LONG_TOKEN && LONG_TOKEN.test(s)));
}

const DIGEST_FIELD =
  /(?:^|_|\.|-)(?:hash|hashes|sha256|sha|digest|root|head|tx|txid|tx_hash|signature|sig|mac|checksum|id|ids|fingerprint|commit|block_hash|blockhash|leaf|leaves|proof|path)$/i;
const KEY_FIELD = /(?:key|secret|private|seed|priv|password|passphrase|mnemonic|token|credential)/i;

/** Member names repeat from entry to entry: each is classified once (a bounded cache). */
const digestFields = new Map<string, boolean>();
function digestField(field: string): boolean {
  let d = digestFields.get(field);
  if (d === undefined) {
    d = DIGEST_FIELD.test(field) && !KEY_FIELD.test(field);
    if (digestFields.size >= 1024) digestFields.clear();
    digestFields.set(field, d);
  }
  return d;
}

function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

function bytesOf(s: string | Uint8Array): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s);
}

/** Every text form a secret may take inside a string: plain, hex, base64(url) at each alignment, URL-encoded, reversed. */
function encodings(secret: string | Uint8Array): string[] {
  const b = bytesOf(secret);
  if (b.length === 0) return [];
  const forms = new Set<string>();
  const plain = b.toString('utf8');
  forms.add(plain);
  forms.add(b.toString('hex'));
  forms.add(b.toString('hex').toUpperCase());
  forms.add(encodeURIComponent(plain));
  forms.add([...plain].reverse().join(''));
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), b]);
    for (const enc of [padded.toString('base64'), padded.toString('base64url')]) {
      // Characters that depend only on the secret's bytes at this alignment.
      const start = Math.ceil((k * 4) / 3);
      const end = Math.floor((padded.length * 4) / 3) - (padded.length % 3 === 0 ? 0 : 1);
      const core = enc.slice(start, Math.max(start, Math.min(end, enc.length)));
      if (core.length >= Math.min(8, Math.ceil((b.length * 4) / 3) - 2)) forms.add(core);
    }
  }
  for (const f of [...forms]) if (f.length < 4) forms.delete(f);
  return [...forms];
}

export function createSecretScanner(opts: ScannerOptions): SecretScanner {
  const secretForms = [
    ...(opts.operatorSecret !== undefined ? encodings(opts.operatorSecret) : []),
    ...(opts.extraSecrets ?? []).flatMap(encodings),
  ].sort((a, b) => b.length - a.length);

  // Paths are built only when something is found: most entries hold nothing, and building a path
  // string for every member would cost more than the scan.
  type Path = () => string;
  function scanString(s: string, field: string, pathOf: Path, found: Redaction[]): string {
    let out = s;
    for (const form of secretForms) {
      if (out.includes(form)) {
        found.push({ path: pathOf(), type: 'operator-secret' });
        if (opts.mode === 'refuse') return out;
        out = out.split(form).join('[REDACTED:operator-secret]');
      }
    }
    if (!ruleSuspect(out)) return out;
    const digestOk = digestField(field);
    for (const rule of RULES) {
      if (rule.digestLike && digestOk) continue;
      rule.re.lastIndex = 0;
      if (!rule.re.test(out)) continue;
      found.push({ path: pathOf(), type: rule.type });
      if (opts.mode === 'refuse') return out;
      rule.re.lastIndex = 0;
      out = out.replace(rule.re, `[REDACTED:${rule.type}]`);
    }
    return out;
  }

  function isKeypairArray(v: unknown[]): boolean {
    return (
      v.length === 64 && v.every((x) => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255)
    );
  }

  function walk(v: unknown, field: string, pathOf: Path, found: Redaction[]): unknown {
    if (typeof v === 'string') return scanString(v, field, pathOf, found);
    if (Array.isArray(v)) {
      if (isKeypairArray(v)) {
        found.push({ path: pathOf(), type: 'json-keypair' });
        return '[REDACTED:json-keypair]';
      }
      let changed = false;
      const out = v.map((x, i) => {
        const y = walk(x, field, () => `${pathOf()}[${i}]`, found);
        if (y !== x) changed = true;
        return y;
      });
      return changed ? out : v;
    }
    if (typeof v === 'object' && v !== null) {
      let out: Record<string, unknown> | undefined;
      const entries = Object.entries(v as Record<string, unknown>);
      for (const [k, x] of entries) {
        // A member name can carry a secret too; in redact mode the name itself is redacted.
        const name = scanString(k, '', () => `${pathOf() || 'the entry'}: a member name`, found);
        const y = walk(x, k, () => (pathOf() === '' ? k : `${pathOf()}.${k}`), found);
        if (y !== x || name !== k) {
          out ??= Object.fromEntries(entries);
          if (name !== k) delete out[k];
          out[name] = y;
        }
      }
      return out ?? v;
    }
    return v;
  }

  const minForm = secretForms.reduce((m, f) => Math.min(m, f.length), Number.POSITIVE_INFINITY);
  // Whether a string holds any secret form, in one regex pass instead of one search per form (the
  // forms are literals, so this matches exactly when some form is a substring).
  const anyForm = secretForms.length > 0 ? new RegExp(secretForms.map(escapeRegExp).join('|')) : undefined;
  /** The regexes of suspect(); `digest`: the member is named like a digest (digestField). */
  function looksSuspect(s: string, digest: boolean): boolean {
    if (s.length >= MIN_RULE_LENGTH) {
      if (MAYBE_CHAR.test(s) && MAYBE.test(s)) return true;
      if (s.length >= MIN_LONG_TOKEN && !digest && LONG_TOKEN.test(s)) return true;
    }
    return s.length >= minForm && anyForm !== undefined && anyForm.test(s);
  }
  // Texts already found clean, by content. The same texts come back entry after entry (a policy's
  // sha256 and name, a decision's detail line), and looking one up costs less than the regexes, the
  // more so as a string that is the same object each time keeps its hash. Only what the regexes
  // cleared is remembered, with the one thing besides the text that changes the answer (whether the
  // member is named like a digest); short and bounded, so hostile input cannot grow it.
  const clean = new Set<string>();
  const cleanAsDigest = new Set<string>();
  /** Whether `s`, the value of member `field`, needs the full scan. A long hex or base58 run in a
   *  field named like a digest is what scanString lets through, so it is no reason to look closer
   *  (every gate decision carries its policy's sha256). */
  function suspect(s: string, field: string): boolean {
    if (s.length < MIN_RULE_LENGTH && s.length < minForm) return false;
    if (s.length > MEMO_MAX_LENGTH) return looksSuspect(s, s.length >= MIN_LONG_TOKEN && digestField(field));
    if (clean.has(s)) return false;
    const digest = s.length >= MIN_LONG_TOKEN && digestField(field);
    if (digest && cleanAsDigest.has(s)) return false;
    if (looksSuspect(s, digest)) return true;
    const memo = digest ? cleanAsDigest : clean;
    if (memo.size >= MEMO_MAX_SIZE) memo.clear();
    memo.add(s);
    return false;
  }
  /** First pass without any bookkeeping: is there anything to look at closely? */
  function anySuspect(v: unknown, depth: number, field: string): boolean {
    if (typeof v === 'string') return suspect(v, field);
    if (typeof v !== 'object' || v === null || depth > 64) return depth > 64;
    if (Array.isArray(v)) {
      if (isKeypairArray(v)) return true;
      for (const x of v) if (anySuspect(x, depth + 1, field)) return true;
      return false;
    }
    for (const k in v as Record<string, unknown>) {
      if (suspect(k, '') || anySuspect((v as Record<string, unknown>)[k], depth + 1, k)) return true;
    }
    return false;
  }

  function scanWithReport<T>(value: T): { value: T; redactions: Redaction[] } {
    if (!anySuspect(value, 0, '')) return { value, redactions: [] };
    const found: Redaction[] = [];
    const out = walk(value, '', () => '', found) as T;
    if (found.length > 0 && opts.mode === 'refuse') {
      const first = found[0] as Redaction;
      throw new ChainError(
        'SECRET_DETECTED',
        `refusing to record ${first.path || 'the entry'}: it looks like a ${first.type.replace(/-/g, ' ')}` +
          `${found.length > 1 ? ` (and ${found.length - 1} more finding${found.length > 2 ? 's' : ''})` : ''}; ` +
          'secrets never go into the ledger',
      );
    }
    return { value: out, redactions: found };
  }

  return { scan: (v) => scanWithReport(v).value, scanWithReport };
}
