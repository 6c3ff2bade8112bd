// `gavel compliance report`: gathers the facts from a ledger (and a running daemon when asked) and
// prints the report as Markdown, HTML or JSON. Exit 0 when every check passes, 1 when any fails.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectLedgerFormat, parseSignerKey, type VerifierKey } from '../../chain/index.js';
import { loadVerifiers } from '../audit/proofs.js';
import { operatorSecret } from '../audit/secret.js';
import type { ConnectOpts } from '../daemon/connect.js';
import { UsageError } from '../errors.js';
import { gather, loadGates } from './gather.js';
import { toHtml, toJson, toMarkdown } from './render.js';
import { buildReport } from './report.js';

export interface ComplianceOptions extends ConnectOpts {
  ledger?: string;
  config?: string;
  /** true: the socket/--url/env daemon; a string: the daemon's URL. */
  daemon?: boolean | string;
  format: string;
  out?: string;
  now?: string;
  anchorInterval?: string;
  overdueIntervals?: string;
  secretFile?: string;
  vkey?: string[];
}

export async function complianceReport(o: ComplianceOptions): Promise<void> {
  if (!['md', 'html', 'json'].includes(o.format))
    throw new UsageError(`--format: expected md, html or json, got ${o.format}`);
  const now = o.now === undefined ? new Date() : new Date(o.now);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now: expected an ISO date, got ${o.now}`);
  const configFile = o.config ?? (process.env.GAVEL_CONFIG || undefined);
  // The daemon part (fastify, engine glue) loads only when a config or a daemon is asked for.
  const config =
    configFile === undefined ? undefined : (await import('../../daemon/index.js')).loadConfig(configFile);
  const ledger = o.ledger ?? config?.ledger.path;
  if (ledger === undefined) throw new UsageError('give --ledger FILE or --config FILE');
  let defaultIntervalS = 600;
  if (o.anchorInterval !== undefined) {
    defaultIntervalS = Number(o.anchorInterval);
    if (!Number.isInteger(defaultIntervalS) || defaultIntervalS < 1)
      throw new UsageError(`--anchor-interval: expected whole seconds, got ${o.anchorInterval}`);
  }
  const overdueIntervals = Number(o.overdueIntervals ?? '3');
  if (!Number.isInteger(overdueIntervals) || overdueIntervals < 1)
    throw new UsageError(`--overdue-intervals: expected a whole number >= 1, got ${o.overdueIntervals}`);
  const ledgerPath = path.resolve(ledger);
  if (!existsSync(ledgerPath))
    throw new UsageError(
      `no ledger at ${ledgerPath}${o.ledger === undefined ? ` (ledger.path of ${configFile})` : ''}: give --ledger FILE`,
    );
  const format = await detectLedgerFormat(ledgerPath);
  if (format === 'moses')
    throw new UsageError(
      `${ledgerPath} is a MO§ES ledger: it has no gates, policies or anchors to report; check it with gavel audit verify`,
    );
  let verifiers: VerifierKey[] | undefined;
  if (o.vkey !== undefined && o.vkey.length > 0) verifiers = loadVerifiers(o.vkey);
  else if (config?.checkpoint !== undefined) verifiers = [parseSignerKey(config.checkpoint.key)];
  const intervalS: Record<string, number> = {};
  for (const t of config?.anchor?.targets ?? []) intervalS[t.name] = t.intervalMs / 1000;
  let live: { name: string; version: string; sha256: string; gates: string[] }[] | undefined;
  let liveLedger: { path: string; size: number; head: string | null } | undefined;
  if (o.daemon !== undefined && o.daemon !== false) {
    const { connect } = await import('../daemon/connect.js');
    const c = connect(typeof o.daemon === 'string' ? { ...o, url: o.daemon } : o);
    try {
      const st = await c.status();
      live = st.policies as typeof live;
      liveLedger = st.ledger as typeof liveLedger;
    } finally {
      c.close();
    }
  }
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const facts = await gather(ledgerPath, {
    secret: operatorSecret(o, 'native') ?? config?.ledger.secret,
    live,
    liveLedger,
    verifiers,
  });
  const report = buildReport(facts, loadGates(repo), { now, intervalS, defaultIntervalS, overdueIntervals });
  const text =
    o.format === 'json' ? toJson(report) : o.format === 'html' ? toHtml(report) : toMarkdown(report);
  if (o.out !== undefined) writeFileSync(o.out, text);
  else process.stdout.write(text);
  if (!report.summary.ok) process.exitCode = 1;
}
