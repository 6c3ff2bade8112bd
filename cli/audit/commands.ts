// Implementations of `gavel audit log|verify|recent` (registered in cli/commands/audit.ts).
import {
  appendMosesEntry,
  createSecretScanner,
  detectLedgerFormat,
  type Entry,
  formatRecentLine,
  Ledger,
  recentMoses,
  validateEvent,
  verifyLedgerParallel,
  verifyMosesLedger,
} from '../../chain/index.js';
import { UsageError } from '../errors.js';
import { operatorSecret } from './secret.js';

function positiveInt(v: string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

function pickFormat(given: string | undefined, allowed: readonly string[]): string | undefined {
  if (given === undefined) return undefined;
  if (!allowed.includes(given))
    throw new UsageError(`--format must be one of ${allowed.join(', ')}, got ${JSON.stringify(given)}`);
  return given;
}

export interface LogOptions {
  ledger: string;
  action: string;
  format?: string;
  agent?: string;
  detail?: string;
  outcome?: string;
  kind?: string;
  inputHash?: string;
  sourceId?: string;
  mode?: string;
  posture?: string;
  role?: string;
  payload?: string;
  secretFile?: string;
  state?: string;
  wait?: string;
  json?: boolean;
}

export async function logCommand(o: LogOptions): Promise<void> {
  if (o.sourceId !== undefined && o.inputHash === undefined)
    throw new UsageError('--source-id needs --input-hash');
  const detected = await detectLedgerFormat(o.ledger);
  const format = pickFormat(o.format, ['native', 'moses']) ?? (detected === 'moses' ? 'moses' : 'native');
  if (format === 'native' && detected === 'moses')
    throw new UsageError(`${o.ledger} is a MO§ES ledger; log to it with --format moses`);
  if (format === 'moses' && detected === 'native')
    throw new UsageError(`${o.ledger} is a native gavel ledger; --format moses cannot extend it`);
  const wait = positiveInt(o.wait, '--wait', 10_000);
  let hash: string;
  let printed: unknown;
  if (format === 'moses') {
    const secret = operatorSecret(o, 'moses');
    const e = await appendMosesEntry(
      o.ledger,
      {
        action: o.action,
        agent: o.agent,
        detail: o.detail,
        outcome: o.outcome,
        inputHash: o.inputHash,
        sourceId: o.sourceId,
      },
      { secret, statePath: o.state, lockWaitMs: wait },
    );
    hash = String(e.hash);
    printed = e;
  } else {
    let payload: Record<string, unknown> = {};
    if (o.payload !== undefined) {
      try {
        payload = JSON.parse(o.payload) as Record<string, unknown>;
      } catch {
        throw new UsageError('--payload must be a JSON object');
      }
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
        throw new UsageError('--payload must be a JSON object');
    }
    if (o.inputHash !== undefined)
      payload = { ...payload, isnad: { input_hash: o.inputHash, source_id: o.sourceId ?? 'unspecified' } };
    const secret = operatorSecret(o, 'native');
    const ledger = await Ledger.open(o.ledger, {
      secret,
      lockWaitMs: wait,
      validate: validateEvent,
      scanner: createSecretScanner({
        mode: 'refuse',
        ...(secret !== undefined ? { operatorSecret: secret } : {}),
      }),
    });
    let e: Entry;
    try {
      e = await ledger.append({
        kind: o.kind ?? 'moses.log',
        action: o.action,
        agent: o.agent,
        detail: o.detail,
        outcome: o.outcome,
        mode: o.mode,
        posture: o.posture,
        role: o.role,
        payload,
      });
    } finally {
      await ledger.close();
    }
    hash = e.hash;
    printed = e;
  }
  process.stdout.write(
    o.json ? `${JSON.stringify(printed)}\n` : `[AUDIT] Entry logged. Hash: ${hash.slice(0, 16)}...\n`,
  );
}

export interface VerifyOptions {
  ledger: string;
  format?: string;
  secretFile?: string;
  checkpoint?: string;
  vkey?: string[];
  threads?: string;
  json?: boolean;
}

async function progressBar(total: number): Promise<{ update(n: number): void; stop(): void } | undefined> {
  if (!process.stderr.isTTY || total < 8 << 20) return undefined;
  const { default: cliProgress } = await import('cli-progress');
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: 'verify [{bar}] {percentage}% | {value}/{total} MiB',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const mib = (b: number) => Math.round(b / 2 ** 20);
  bar.start(mib(total), 0);
  return { update: (n) => bar.update(mib(n)), stop: () => bar.stop() };
}

export async function verifyCommand(o: VerifyOptions): Promise<void> {
  const want = pickFormat(o.format ?? 'auto', ['auto', 'native', 'moses']);
  const detected = await detectLedgerFormat(o.ledger);
  if (detected === 'missing') {
    const r = {
      ok: true,
      exitCode: 0,
      entries: 0,
      keyedChecks: 0,
      message: '[VERIFY] No ledger found. Chain is empty.',
    };
    process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${r.message}\n`);
    return;
  }
  const format = want === 'auto' ? (detected === 'moses' ? 'moses' : 'native') : want;
  const threads = o.threads === undefined ? undefined : positiveInt(o.threads, '--threads', 0);
  if (o.checkpoint !== undefined) {
    if (o.vkey === undefined || o.vkey.length === 0) throw new UsageError('--checkpoint needs --vkey');
    const m = await import('./proofs.js');
    await m.verifyCheckpointCommand({
      ledger: o.ledger,
      checkpoint: o.checkpoint,
      vkey: o.vkey,
      json: o.json,
    });
    if (process.exitCode === 1) return;
  }
  let r: { ok: boolean; message: string; exitCode: number };
  if (format === 'moses') {
    r = await verifyMosesLedger(o.ledger, { secret: operatorSecret(o, 'moses') });
  } else {
    const { stat } = await import('node:fs/promises');
    const bar = await progressBar((await stat(o.ledger)).size);
    try {
      r = await verifyLedgerParallel(o.ledger, {
        secret: operatorSecret(o, 'native'),
        ...(threads !== undefined ? { threads } : {}),
        ...(bar !== undefined ? { onProgress: (n: number) => bar.update(n) } : {}),
      });
    } finally {
      bar?.stop();
    }
  }
  process.stdout.write(o.json ? `${JSON.stringify(r)}\n` : `${r.message}\n`);
  if (!r.ok) process.exitCode = 1;
}

export async function recentCommand(o: { ledger: string; n?: string; json?: boolean }): Promise<void> {
  const n = positiveInt(o.n, '--n', 10);
  const format = await detectLedgerFormat(o.ledger);
  if (format === 'missing') {
    process.stdout.write('[RECENT] No ledger found.\n');
    return;
  }
  if (format === 'moses') {
    const lines = await recentMoses(o.ledger, n, o.json ? (e) => JSON.stringify(e) : formatRecentLine);
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  if (format === 'empty') return;
  const ledger = await Ledger.open(o.ledger, { readOnly: true });
  try {
    const out: string[] = [];
    for await (const e of ledger.range(Math.max(0, ledger.size - n), ledger.size)) {
      out.push(o.json ? JSON.stringify(e) : formatRecentLine(e as unknown as Record<string, unknown>));
    }
    if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    await ledger.close();
  }
}
