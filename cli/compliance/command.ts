// `gavel compliance report`: gathers the facts from a ledger (and a running daemon when asked) and
// prints the report as Markdown, HTML or JSON. Exit 0 when every check passes, 1 when any fails.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../daemon/index.js';
import { operatorSecret } from '../audit/secret.js';
import { type ConnectOpts, connect } from '../daemon/connect.js';
import { UsageError } from '../errors.js';
import { toHtml, toJson, toMarkdown } from './render.js';
import { buildReport, gather, loadGates } from './report.js';

export interface ComplianceOptions extends ConnectOpts {
  ledger?: string;
  config?: string;
  daemon?: boolean;
  format: string;
  out?: string;
  now?: string;
  anchorInterval?: string;
  secretFile?: string;
}

export async function complianceReport(o: ComplianceOptions): Promise<void> {
  if (!['md', 'html', 'json'].includes(o.format))
    throw new UsageError(`--format: expected md, html or json, got ${o.format}`);
  const now = o.now === undefined ? new Date() : new Date(o.now);
  if (Number.isNaN(now.getTime())) throw new UsageError(`--now: expected an ISO date, got ${o.now}`);
  const configFile = o.config ?? process.env.GAVEL_CONFIG;
  const config = configFile === undefined ? undefined : loadConfig(configFile);
  const ledger = o.ledger ?? config?.ledger.path;
  if (ledger === undefined) throw new UsageError('give --ledger FILE or --config FILE');
  let defaultIntervalS = 600;
  if (o.anchorInterval !== undefined) {
    defaultIntervalS = Number(o.anchorInterval);
    if (!Number.isInteger(defaultIntervalS) || defaultIntervalS < 1)
      throw new UsageError(`--anchor-interval: expected whole seconds, got ${o.anchorInterval}`);
  }
  const intervalS: Record<string, number> = {};
  for (const t of config?.anchor?.targets ?? []) intervalS[t.name] = t.intervalMs / 1000;
  let live: { name: string; version: string; sha256: string; gates: string[] }[] | undefined;
  if (o.daemon) {
    const c = connect(o);
    try {
      live = (await c.status()).policies as typeof live;
    } finally {
      c.close();
    }
  }
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const facts = await gather(path.resolve(ledger), {
    secret:
      o.secretFile !== undefined || config === undefined ? operatorSecret(o, 'native') : config.ledger.secret,
    live,
  });
  const report = buildReport(facts, loadGates(repo), { now, intervalS, defaultIntervalS });
  const text =
    o.format === 'json' ? toJson(report) : o.format === 'html' ? toHtml(report) : toMarkdown(report);
  if (o.out !== undefined) writeFileSync(o.out, text);
  else process.stdout.write(text);
  if (!report.summary.ok) process.exitCode = 1;
}
