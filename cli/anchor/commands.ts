// Implementations of `gavel anchor now|status|verify|prove|check-proof`.
import { readFileSync, writeFileSync } from 'node:fs';
import {
  type AnchorRef,
  type AnchorTarget,
  buildAnchorProof,
  checkAnchorProof,
  createTarget,
  scanAnchors,
  verifyAnchors,
} from '../../anchor/index.js';
import { loadConfig } from '../../daemon/index.js';
import { operatorSecret } from '../audit/secret.js';
import { type ConnectOpts, connect, print } from '../daemon/connect.js';
import { UsageError } from '../errors.js';

interface TargetView {
  name: string;
  chain: string;
  network: string;
  address: string;
  busy: boolean;
  last?: {
    anchorId: string;
    state: string;
    tx?: string;
    slot?: number;
    explorer?: string;
    reason?: string;
    checkpoint: { size: number };
  };
  lastFinalized?: {
    anchorId: string;
    tx?: string;
    slot?: number;
    explorer?: string;
    checkpoint: { size: number };
    at: string;
  };
  lastError?: string;
  spentToday: string;
  retries: number;
}

function statusLines(targets: TargetView[]): string {
  if (targets.length === 0) return 'no anchor targets configured ([[anchor.targets]] in the daemon config)';
  return targets
    .map((t) => {
      const lines = [`${t.name}  ${t.chain} ${t.network}  ${t.address}${t.busy ? '  (working)' : ''}`];
      if (t.last !== undefined)
        lines.push(
          `  last:      ${t.last.anchorId} ${t.last.state}${t.last.tx ? ` ${t.last.tx}` : ''}${t.last.reason ? ` — ${t.last.reason}` : ''}`,
        );
      if (t.lastFinalized !== undefined)
        lines.push(
          `  finalized: ${t.lastFinalized.anchorId} at ${t.lastFinalized.at} slot/block ${t.lastFinalized.slot}${t.lastFinalized.explorer ? `\n             ${t.lastFinalized.explorer}` : ''}`,
        );
      else lines.push('  finalized: none yet');
      if (t.lastError !== undefined) lines.push(`  last error: ${t.lastError}`);
      lines.push(
        `  spent today: ${t.spentToday} ${t.chain === 'solana' ? 'lamports' : 'wei'}; RPC retries ${t.retries}`,
      );
      return lines.join('\n');
    })
    .join('\n');
}

export async function anchorStatus(o: ConnectOpts & { ledger?: string; json?: boolean }): Promise<void> {
  if (o.ledger !== undefined) {
    const records = [...(await scanAnchors(o.ledger)).values()];
    const byTarget = new Map<string, TargetView>();
    for (const r of records) {
      const v: TargetView = byTarget.get(r.target) ?? {
        name: r.target,
        chain: r.chain,
        network: r.network,
        address: '(from the ledger)',
        busy: false,
        spentToday: '0',
        retries: 0,
      };
      v.last = {
        anchorId: r.anchorId,
        state: r.state,
        tx: r.tx,
        slot: r.slot,
        explorer: r.explorer,
        reason: r.reason,
        checkpoint: r.checkpoint,
      };
      if (r.state === 'finalized')
        v.lastFinalized = {
          anchorId: r.anchorId,
          tx: r.tx,
          slot: r.slot,
          explorer: r.explorer,
          checkpoint: r.checkpoint,
          at: r.steps[r.steps.length - 1]?.timestamp ?? '',
        };
      byTarget.set(r.target, v);
    }
    const targets = [...byTarget.values()];
    print(o.json === true, { targets, anchors: records }, statusLines(targets));
    return;
  }
  const c = connect(o);
  const s = await c.call<{ targets: TargetView[] }>('GET', '/v1/anchors');
  print(o.json === true, s, statusLines(s.targets));
}

export async function anchorNow(
  o: ConnectOpts & { wait?: boolean; timeout?: string; json?: boolean },
): Promise<void> {
  const c = connect(o);
  const before = await c.call<{ targets: TargetView[] }>('GET', '/v1/anchors');
  const r = await c.call<{ targets: string[]; size: number }>('POST', '/v1/anchors/now', {});
  if (!o.wait) {
    print(
      o.json === true,
      r,
      `anchoring now on ${r.targets.join(', ') || 'no target'}, covering at least ${r.size} entries (gavel anchor status to follow)`,
    );
    return;
  }
  const timeoutMs = Number(o.timeout ?? 120) * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new UsageError(`--timeout: expected seconds, got ${o.timeout}`);
  const deadline = Date.now() + timeoutMs;
  const seen = new Map(before.targets.map((t) => [t.name, t.last?.anchorId]));
  for (;;) {
    const s = await c.call<{ targets: TargetView[] }>('GET', '/v1/anchors');
    // Done when each target has a finalized anchor covering the head at the time of asking, or a
    // newer anchor that failed.
    const done = s.targets.every(
      (t) =>
        (t.lastFinalized !== undefined && t.lastFinalized.checkpoint.size >= r.size) ||
        (t.last?.state === 'failed' && t.last.anchorId !== seen.get(t.name)),
    );
    if (done) {
      const failed = s.targets.filter((t) => (t.lastFinalized?.checkpoint.size ?? -1) < r.size);
      print(o.json === true, s, statusLines(s.targets));
      if (failed.length > 0) process.exitCode = 1;
      return;
    }
    if (Date.now() > deadline) {
      print(o.json === true, s, statusLines(s.targets));
      process.stderr.write(`gavel: anchors not final after ${o.timeout} s\n`);
      process.exitCode = 1;
      return;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

const DEFAULT_RPC: Record<string, string> = {
  'solana:devnet': 'https://api.devnet.solana.com',
  'solana:testnet': 'https://api.testnet.solana.com',
  'solana:mainnet-beta': 'https://api.mainnet-beta.solana.com',
  'base:base': 'https://mainnet.base.org',
  'base:base-sepolia': 'https://sepolia.base.org',
};

export async function anchorVerify(o: {
  ledger?: string;
  config?: string;
  all?: boolean;
  seq?: string;
  rpc: string[];
  tx: string[];
  secretFile?: string;
  json?: boolean;
}): Promise<void> {
  const configFile = o.config ?? process.env.GAVEL_CONFIG;
  const config = configFile === undefined ? undefined : loadConfig(configFile);
  const ledger = o.ledger ?? config?.ledger.path ?? process.env.GAVEL_LEDGER;
  if (ledger === undefined) throw new UsageError('give --ledger FILE or --config FILE (or $GAVEL_LEDGER)');
  let seq: number | undefined;
  if (o.seq !== undefined) {
    if (!/^(0|[1-9][0-9]*)$/.test(o.seq))
      throw new UsageError(`--seq: expected an entry number, got ${o.seq}`);
    seq = Number(o.seq);
  }
  if (seq !== undefined && o.all) throw new UsageError('give --all or --seq, not both');
  const rpc = new Map<string, string>();
  for (const kv of o.rpc) {
    const i = kv.indexOf('=');
    if (i <= 0 || !/^https?:\/\//.test(kv.slice(i + 1)))
      throw new UsageError(`--rpc: expected NAME=http(s)://..., got ${kv}`);
    rpc.set(kv.slice(0, i), kv.slice(i + 1));
  }
  const extra = o.tx.map((s) => {
    const [chain, network, tx, ...rest] = s.split(':');
    if (chain === undefined || network === undefined || tx === undefined || rest.length > 0)
      throw new UsageError(`--tx: expected chain:network:tx, got ${s}`);
    return { chain, network, tx };
  });
  const readers = new Map<string, AnchorTarget>();
  const reader = (ref: AnchorRef): AnchorTarget => {
    const key = `${ref.target}|${ref.chain}:${ref.network}`;
    const have = readers.get(key);
    if (have !== undefined) return have;
    const conf = config?.anchor?.targets.find((t) => t.name === ref.target);
    const url =
      rpc.get(ref.target) ??
      rpc.get(`${ref.chain}:${ref.network}`) ??
      conf?.rpcUrl ??
      DEFAULT_RPC[`${ref.chain}:${ref.network}`];
    if (url === undefined)
      throw new UsageError(
        `no RPC endpoint for target ${ref.target} (${ref.chain} ${ref.network}): give --rpc ${ref.target}=URL or --config`,
      );
    const t = createTarget({
      chain: ref.chain as 'solana' | 'base',
      network: ref.network,
      rpcUrl: url,
      wsUrl: conf?.rpcUrl === url ? conf?.wsUrl : undefined,
    });
    readers.set(key, t);
    return t;
  };
  const report = await verifyAnchors({
    ledgerPath: ledger,
    reader,
    all: o.all,
    seq,
    secret: operatorSecret(o, 'native'),
    extra,
  });
  await Promise.all([...readers.values()].map((t) => t.close()));
  const lines = [
    `ledger ${report.ledger.path}: ${report.ledger.entries} entries, ${report.ledger.ok ? 'verifies' : 'FAILS'} (${report.ledger.message})`,
    ...report.anchors.map(
      (a) =>
        `${a.ok ? 'OK  ' : a.status === 'unreachable' ? '??  ' : 'FAIL'} ${a.anchorId}  ${a.chain} ${a.network}  size ${a.size ?? '?'}  slot/block ${a.slot ?? '?'}${a.final ? ' final' : ''}  ${a.tx}${a.explorer ? `\n      ${a.explorer}` : ''}${a.problems.map((p) => `\n      ${p}`).join('')}`,
    ),
    ...(report.inclusion === undefined
      ? []
      : [`${report.inclusion.ok ? 'OK  ' : 'FAIL'} ${report.inclusion.message}`]),
    report.ok
      ? `OK: ${report.message}`
      : report.unreachable
        ? `UNCHECKED: ${report.message}`
        : `FAIL: ${report.message}`,
  ];
  print(o.json === true, report, lines.join('\n'));
  if (!report.ok) process.exitCode = report.unreachable ? 3 : 1;
}

function seqOf(v: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(v)) throw new UsageError(`--seq: expected an entry number, got ${v}`);
  return Number(v);
}

export async function anchorProve(o: {
  seq: string;
  ledger?: string;
  config?: string;
  target?: string;
  out?: string;
}) {
  const configFile = o.config ?? process.env.GAVEL_CONFIG;
  const ledger = o.ledger ?? (configFile === undefined ? undefined : loadConfig(configFile).ledger.path);
  if (ledger === undefined) throw new UsageError('give --ledger FILE or --config FILE');
  const proof = await buildAnchorProof(ledger, seqOf(o.seq), o.target);
  const text = `${JSON.stringify(proof, null, 2)}\n`;
  if (o.out !== undefined) {
    writeFileSync(o.out, text);
    process.stderr.write(
      `wrote ${o.out}: entry ${proof.index} under ${proof.anchor.anchor_id} (${proof.anchor.chain} ${proof.anchor.network} ${proof.anchor.tx})\n`,
    );
  } else process.stdout.write(text);
}

export async function anchorCheckProof(file: string, o: { rpc?: string; json?: boolean }) {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${file}: ${(err as NodeJS.ErrnoException).code ?? 'not JSON'}: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  if (o.rpc !== undefined && !/^https?:\/\//.test(o.rpc))
    throw new UsageError(`--rpc: expected http(s)://..., got ${o.rpc}`);
  let reader: AnchorTarget | undefined;
  const r = await checkAnchorProof(json, (p) => {
    const url = o.rpc ?? DEFAULT_RPC[`${p.anchor.chain}:${p.anchor.network}`];
    if (url === undefined)
      throw new UsageError(`the proof's anchor is on ${p.anchor.chain} ${p.anchor.network}: give --rpc URL`);
    reader = createTarget({
      chain: p.anchor.chain as 'solana' | 'base',
      network: p.anchor.network,
      rpcUrl: url,
    });
    return reader;
  });
  await reader?.close();
  print(
    o.json === true,
    r,
    `${r.ok ? 'OK' : r.status === 'unreachable' ? 'UNCHECKED' : 'FAIL'}: ${r.message}`,
  );
  if (!r.ok) process.exitCode = r.status === 'unreachable' ? 3 : 1;
}
