// MO§ES audit ledgers, read, verified, listed and extended exactly as the reference `audit_stub.py`
// does (shared/MOSES-FORMAT.md): its line format (Python's default json.dumps), entry hash, isnad
// blocks, `attestation` HMAC, messages and exit codes.
import { createHmac } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { ChainError } from './errors.js';
import { sha256Hex, ZERO_HASH } from './hash.js';
import { acquireLock } from './lock.js';

export const MOSES_ANCHOR = sha256Hex(
  'MO§ES™|Serial:63/877,177|DOI:https://zenodo.org/records/18792459|SCS Engine|Ello Cello LLC',
);

export const MOSES_DEFAULT_LEDGER = path.join(
  homedir(),
  '.openclaw',
  'audits',
  'moses',
  'audit_ledger.jsonl',
);
export const MOSES_DEFAULT_STATE = path.join(homedir(), '.openclaw', 'governance', 'state.json');

export interface VerifyReport {
  ok: boolean;
  message: string;
  exitCode: 0 | 1;
  entries: number;
  keyedChecks: number;
  failedEntry?: number;
  reason?: 'parse' | 'hash' | 'link' | 'attestation';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function pyString(s: string, ensureAscii: boolean): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || (ensureAscii && c > 0x7e)) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += s[i];
  }
  return `${out}"`;
}

/**
 * Python's `json.dumps` for the data MO§ES entries hold (strings, integers, null, booleans, objects,
 * arrays). `ensureAscii` escapes everything outside space..~ as \uXXXX (UTF-16 units, as Python does);
 * `sortKeys` orders members by code point; `compact` uses ',' and ':' instead of ', ' and ': '.
 */
export function pyDumps(v: Json, o: { ensureAscii: boolean; sortKeys: boolean; compact: boolean }): string {
  const [item, kv] = o.compact ? [',', ':'] : [', ', ': '];
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v))
      throw new ChainError('BAD_ENTRY', 'MO§ES entries hold integers only, not floats');
    return String(v);
  }
  if (typeof v === 'string') return pyString(v, o.ensureAscii);
  if (Array.isArray(v)) return `[${v.map((x) => pyDumps(x, o)).join(item)}]`;
  let keys = Object.keys(v);
  if (o.sortKeys)
    keys = keys.sort((a, b) => (codePoints(a) < codePoints(b) ? -1 : codePoints(a) > codePoints(b) ? 1 : 0));
  return `{${keys.map((k) => `${pyString(k, o.ensureAscii)}${kv}${pyDumps(v[k] as Json, o)}`).join(item)}}`;
}

function codePoints(s: string): string {
  // Python sorts str by code point; JS compares UTF-16 units. Equal except around astral characters.
  return Array.from(s, (ch) => (ch.codePointAt(0) as number).toString(16).padStart(6, '0')).join('');
}

/** The MO§ES entry hash: SHA-256 of json.dumps(entry minus hash, sort_keys, compact, ensure_ascii=False). */
export function mosesEntryHash(entry: Record<string, unknown>): string {
  const { hash: _hash, ...rest } = entry;
  return sha256Hex(pyDumps(rest as Json, { ensureAscii: false, sortKeys: true, compact: true }));
}

export function mosesAttestation(
  secret: string,
  state: { mode: string; posture: string; role: string },
  previousHashes: readonly string[],
): string {
  const msg = [state.mode, state.posture, state.role, ...previousHashes.slice(-10), MOSES_ANCHOR].join('|');
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(msg, 'utf8').digest('hex');
}

/** Python's `datetime.now(timezone.utc).isoformat()`: microseconds, +00:00, no fraction when zero. */
export function pythonUtcNow(nowMs = performance.timeOrigin + performance.now()): string {
  const ms = Math.floor(nowMs);
  const micros = Math.floor((nowMs - ms) * 1000) + (ms % 1000) * 1000;
  const base = new Date(ms).toISOString().slice(0, 19);
  return micros === 0 ? `${base}+00:00` : `${base}.${String(micros).padStart(6, '0')}+00:00`;
}

async function readEntries(
  file: string,
): Promise<{ entries: Record<string, unknown>[]; bad?: number } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const entries: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as unknown;
      if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new Error('not an object');
      entries.push(e as Record<string, unknown>);
    } catch {
      return { entries, bad: entries.length + 1 };
    }
  }
  return { entries };
}

const field = (e: Record<string, unknown>, k: string) =>
  typeof e[k] === 'string' && e[k] !== '' ? (e[k] as string) : 'unknown';

export async function verifyMosesLedger(file: string, opts: { secret?: string } = {}): Promise<VerifyReport> {
  const read = await readEntries(file);
  if (read === undefined)
    return {
      ok: true,
      exitCode: 0,
      entries: 0,
      keyedChecks: 0,
      message: '[VERIFY] No ledger found. Chain is empty.',
    };
  const { entries, bad } = read;
  if (entries.length === 0 && bad === undefined)
    return { ok: true, exitCode: 0, entries: 0, keyedChecks: 0, message: '[VERIFY] Ledger is empty.' };
  const fail = (i: number, reason: VerifyReport['reason'], what: string): VerifyReport => ({
    ok: false,
    exitCode: 1,
    entries: i - 1,
    keyedChecks: 0,
    failedEntry: i,
    reason,
    message: `[VERIFY FAILED] Entry ${i}: ${what}`,
  });
  let keyed = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Record<string, unknown>;
    const n = i + 1;
    let hash: string;
    try {
      hash = mosesEntryHash(e);
    } catch {
      return fail(n, 'hash', 'hash mismatch. Chain broken.');
    }
    if (hash !== e.hash) return fail(n, 'hash', 'hash mismatch. Chain broken.');
    if (i > 0) {
      const prev =
        typeof e.previous_hash === 'string' && e.previous_hash !== ''
          ? e.previous_hash
          : (e.prev_hash as unknown);
      if (prev !== (entries[i - 1] as Record<string, unknown>).hash)
        return fail(n, 'link', 'previous_hash broken. Chain tampered.');
    }
    if (opts.secret !== undefined && e.attestation !== undefined) {
      const before = entries.slice(Math.max(0, i - 10), i).map((x) => String(x.hash));
      const want = mosesAttestation(
        opts.secret,
        { mode: field(e, 'mode'), posture: field(e, 'posture'), role: field(e, 'role') },
        before,
      );
      if (want !== e.attestation) return fail(n, 'attestation', 'attestation invalid. State tampered.');
      keyed++;
    }
  }
  if (bad !== undefined) return fail(bad, 'parse', 'not a JSON entry. Chain broken.');
  const n = entries.length;
  return {
    ok: true,
    exitCode: 0,
    entries: n,
    keyedChecks: keyed,
    message:
      keyed > 0
        ? `[VERIFY OK] Chain intact. ${n} entries verified | ${keyed} attestations verified.`
        : `[VERIFY OK] Chain intact. ${n} entries verified.`,
  };
}

export async function recentMoses(
  file: string,
  n: number,
  format: (e: Record<string, unknown>) => string,
): Promise<string[]> {
  const read = await readEntries(file);
  if (read === undefined) return ['[RECENT] No ledger found.'];
  return read.entries.slice(Math.max(0, read.entries.length - n)).map(format);
}

interface MosesState {
  mode: string;
  posture: string;
  role: string;
  session_hash: Json;
}

async function readState(statePath: string): Promise<MosesState> {
  const defaults: MosesState = {
    mode: 'high-integrity',
    posture: 'defense',
    role: 'primary',
    session_hash: null,
  };
  let text: string;
  try {
    text = await readFile(statePath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaults;
    throw err;
  }
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ChainError('BAD_ENTRY', `MO§ES state file ${statePath} is not JSON`, { exitCode: 2 });
  }
  const str = (k: keyof MosesState, d: string) => (typeof s[k] === 'string' ? (s[k] as string) : d);
  return {
    mode: str('mode', defaults.mode),
    posture: str('posture', defaults.posture),
    role: str('role', defaults.role),
    session_hash: (s.session_hash ?? null) as Json,
  };
}

export interface MosesLogFields {
  action?: string;
  agent?: string;
  detail?: string;
  outcome?: string;
  inputHash?: string;
  sourceId?: string;
}

/** Appends one entry the way audit_stub.py's `log` does; returns it (with its hash). */
export async function appendMosesEntry(
  file: string,
  fields: MosesLogFields,
  opts: { secret?: string; statePath?: string; lockWaitMs?: number } = {},
): Promise<Record<string, unknown>> {
  const state = await readState(opts.statePath ?? MOSES_DEFAULT_STATE);
  const lock = await acquireLock(file, { waitMs: opts.lockWaitMs ?? 10_000 });
  try {
    const read = (await readEntries(file)) ?? { entries: [] };
    if (read.bad !== undefined)
      throw new ChainError('CORRUPT', `line ${read.bad} of ${file} is not JSON; refusing to extend it`, {
        exitCode: 2,
      });
    const entries = read.entries;
    const last = entries[entries.length - 1];
    const agent = fields.agent ?? state.role;
    const entry: Record<string, Json> = {
      timestamp: pythonUtcNow(),
      agent,
      component: 'moses-governance',
      action: fields.action ?? 'unspecified',
      detail: fields.detail ?? '',
      outcome: fields.outcome ?? 'logged',
      mode: state.mode,
      posture: state.posture,
      role: state.role,
      session_hash: state.session_hash,
      previous_hash: typeof last?.hash === 'string' ? last.hash : ZERO_HASH,
    };
    if (fields.inputHash !== undefined) {
      let prevIsnad = ZERO_HASH;
      for (let i = entries.length - 1; i >= 0; i--) {
        const isnad = (entries[i] as Record<string, unknown>).isnad as { isnad_hash?: unknown } | undefined;
        if (isnad !== undefined && typeof isnad.isnad_hash === 'string') {
          prevIsnad = isnad.isnad_hash;
          break;
        }
      }
      const isnad: Record<string, Json> = {
        input_hash: fields.inputHash,
        source_id: fields.sourceId ?? 'unspecified',
        transmitter: agent,
        prev_isnad_hash: prevIsnad,
      };
      isnad.isnad_hash = sha256Hex(pyDumps(isnad, { ensureAscii: true, sortKeys: true, compact: true }));
      entry.isnad = isnad;
    }
    if (opts.secret !== undefined) {
      const before = entries.slice(-10).map((x) => String(x.hash));
      entry.attestation = mosesAttestation(opts.secret, state, before);
    }
    entry.hash = mosesEntryHash(entry);
    const line = `${pyDumps(entry, { ensureAscii: true, sortKeys: false, compact: false })}\n`;
    const fh = await open(file, 'a', 0o640);
    try {
      await fh.write(line);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    return entry;
  } finally {
    await lock.release();
  }
}
