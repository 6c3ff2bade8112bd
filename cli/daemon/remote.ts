// CLI paths that go through a running daemon (`--daemon`): the daemon is the ledger's only writer,
// so while it runs the CLI asks it instead of opening the ledger.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatRecentLine } from '../../chain/index.js';
import { UsageError } from '../errors.js';
import { type ConnectOpts, connect, print } from './connect.js';

export interface GateEvalOpts extends ConnectOpts {
  effect?: string;
  context?: string[];
  mode?: string;
  posture?: string;
  environment?: string;
  json?: boolean;
}

function parseEffect(s: string | undefined): Record<string, number> | undefined {
  if (s === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const part of s.split(',')) {
    const [k, v] = part.split('=');
    if (k === undefined || v === undefined || !/^-?[0-9.eE+-]+$/.test(v)) {
      throw new UsageError(
        `--effect expects dim=value pairs like risk=0.4,privacy=0.1 (got ${JSON.stringify(part)})`,
      );
    }
    out[k.trim()] = Number(v);
  }
  return out;
}

function parseContext(items: string[] | undefined): Record<string, string> | undefined {
  if (items === undefined || items.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const it of items) {
    const i = it.indexOf('=');
    if (i <= 0) throw new UsageError(`--context expects key=value (got ${JSON.stringify(it)})`);
    out[it.slice(0, i)] = it.slice(i + 1);
  }
  return out;
}

/** Exit status of a verdict, as the local `gate eval`: 0 permit, 10 permit-with-warning, 20 escalate, 30 deny. */
export function verdictExit(v: string): number {
  return v === 'deny' ? 30 : v === 'escalate' ? 20 : v === 'permit-with-warning' ? 10 : 0;
}

export async function gateEvalViaDaemon(gate: string, o: GateEvalOpts): Promise<void> {
  const c = connect(o);
  try {
    const body: Record<string, unknown> = {};
    const effect = parseEffect(o.effect);
    const context = parseContext(o.context);
    if (effect) body.effect = effect;
    if (context) body.context = context;
    if (o.mode) body.mode = o.mode;
    if (o.posture) body.posture = o.posture;
    if (o.environment) body.environment = o.environment;
    const d = await c.evaluate(gate, body);
    print(
      o.json === true,
      d,
      `${d.verdict} ${gate}: ${d.reason} [rule ${d.rule}, ${d.policy.name}@${d.policy.version}, fuel ${d.fuel}, entry ${d.seq}]`,
    );
    process.exitCode = verdictExit(d.verdict);
  } finally {
    c.close();
  }
}

/** `gavel audit log --daemon`: the entry is appended by the daemon, recorded under the token's identity. */
export async function auditLogViaDaemon(
  o: ConnectOpts & {
    action: string;
    agent?: string;
    detail?: string;
    outcome?: string;
    kind?: string;
    mode?: string;
    posture?: string;
    payload?: string;
    json?: boolean;
  },
): Promise<void> {
  let payload: Record<string, unknown> | undefined;
  if (o.payload !== undefined) {
    try {
      payload = JSON.parse(o.payload) as Record<string, unknown>;
    } catch {
      throw new UsageError('--payload must be a JSON object');
    }
  }
  const c = connect(o);
  try {
    const body: Record<string, unknown> & { kind: string } = {
      kind: o.kind ?? 'moses.log',
      action: o.action,
    };
    for (const k of ['agent', 'detail', 'outcome', 'mode', 'posture'] as const)
      if (o[k] !== undefined) body[k] = o[k];
    if (payload !== undefined) body.payload = payload;
    const r = await c.appendEvent(body);
    print(o.json === true, r, `[AUDIT] Entry logged. Hash: ${r.hash.slice(0, 16)}... (entry ${r.seq})`);
  } finally {
    c.close();
  }
}

/** `gavel audit recent --daemon`. */
export async function auditRecentViaDaemon(o: ConnectOpts & { n?: string; json?: boolean }): Promise<void> {
  const n = o.n === undefined ? 10 : Number(o.n);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError('--n must be 1..1000');
  const c = connect(o);
  try {
    const r = await c.recent(n);
    for (const e of r.entries)
      process.stdout.write(o.json ? `${JSON.stringify(e)}\n` : `${formatRecentLine(e)}\n`);
  } finally {
    c.close();
  }
}

/** Reads a built, signed package folder into the deploy body. */
export function packageBody(dir: string): { envelope: unknown; component: string } {
  try {
    return {
      envelope: JSON.parse(readFileSync(join(dir, 'manifest.dsse.json'), 'utf8')),
      component: readFileSync(join(dir, 'component.wasm')).toString('base64'),
    };
  } catch (err) {
    throw new UsageError(
      `${dir} is not a signed policy package (component.wasm + manifest.dsse.json): ${(err as Error).message}`,
    );
  }
}

interface DeploymentReply {
  id: string;
  name: string;
  version: string;
  state: string;
  signers: number;
  threshold: number;
  reason: string;
  seqs: number[];
}
const line = (d: DeploymentReply) =>
  `${d.name}@${d.version}: ${d.state} (${d.reason})${d.id ? ` deployment ${d.id}` : ''}; entries ${d.seqs.join(', ')}`;

export async function policyDeploy(dir: string, o: ConnectOpts & { json?: boolean }): Promise<void> {
  const c = connect(o);
  try {
    const d = await c.call<DeploymentReply>('POST', '/v1/policies/deployments', packageBody(dir));
    print(o.json === true, d, line(d));
    if (d.state === 'rejected') process.exitCode = 1;
  } finally {
    c.close();
  }
}

export async function policySign(
  id: string,
  sigFile: string,
  o: ConnectOpts & { json?: boolean },
): Promise<void> {
  const env = JSON.parse(readFileSync(sigFile, 'utf8')) as { signatures?: unknown[] };
  const c = connect(o);
  try {
    const d = await c.call<DeploymentReply>(
      'POST',
      `/v1/policies/deployments/${encodeURIComponent(id)}/signatures`,
      { signatures: env.signatures ?? [] },
    );
    print(o.json === true, d, line(d));
  } finally {
    c.close();
  }
}

export async function policyRollback(name: string, o: ConnectOpts & { json?: boolean }): Promise<void> {
  const c = connect(o);
  try {
    const d = await c.call<DeploymentReply>('POST', '/v1/policies/rollback', { name });
    print(o.json === true, d, line(d));
  } finally {
    c.close();
  }
}

export async function policyVeto(
  id: string,
  o: ConnectOpts & { key: string; reason: string; sha256: string; json?: boolean },
): Promise<void> {
  const { parseSignerKey, formatVerifierKey, sign } = await import('../../chain/index.js');
  const { vetoMessage } = await import('../../daemon/policies.js');
  const key = parseSignerKey(readFileSync(o.key, 'utf8').trim());
  const sig = Buffer.from(sign(key, vetoMessage(id, o.sha256))).toString('base64');
  const c = connect(o);
  try {
    const d = await c.call<DeploymentReply>(
      'POST',
      `/v1/policies/deployments/${encodeURIComponent(id)}/veto`,
      {
        reason: o.reason,
        signatures: [{ keyid: formatVerifierKey(key), sig }],
      },
    );
    print(o.json === true, d, line(d));
  } finally {
    c.close();
  }
}
