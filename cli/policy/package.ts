// Shared helpers of the policy and gate commands: locating packages, reading trust and key files,
// building requests from flags.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GateRequest, loadTrustFile, type TrustFile } from '../../engine/index.js';
import { UsageError } from '../errors.js';

/** The built constitution: policies/build/constitution beside the installed package. */
export function defaultPolicyDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../..', '../..']) {
    const d = resolve(here, up, 'policies', 'build', 'constitution');
    if (existsSync(join(d, 'manifest.json'))) return d;
  }
  throw new UsageError(
    'no built constitution at policies/build/constitution: run `gavel policy build`, or pass --policy PKG',
  );
}

export function requirePackage(dir: string): string {
  if (!existsSync(join(dir, 'manifest.json')))
    throw new UsageError(`${dir} is not a policy package (no manifest.json)`);
  return dir;
}

export function readTrust(path: string | undefined): TrustFile | undefined {
  return path === undefined ? undefined : loadTrustFile(path);
}

export interface RequestFlags {
  actor?: string;
  role?: string;
  mode?: string;
  posture?: string;
  env?: string;
  ctx?: string[];
  risk?: string;
  fairness?: string;
  privacy?: string;
  novelty?: string;
  security?: string;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n))
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export function requestFromFlags(gate: string, f: RequestFlags): GateRequest {
  const context: Record<string, string> = {};
  for (const kv of f.ctx ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--ctx takes key=value, got ${JSON.stringify(kv)}`);
    context[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const effect: GateRequest['effect'] = {};
  for (const d of ['risk', 'fairness', 'privacy', 'novelty', 'security'] as const) {
    const v = num(d, f[d]);
    if (v !== undefined) effect[d] = v;
  }
  return {
    gate,
    actor: f.actor ?? 'cli',
    role: f.role ?? 'operator',
    mode: f.mode ?? 'high-integrity',
    posture: f.posture ?? 'defense',
    environment: f.env ?? 'development',
    effect,
    context,
  };
}

export const VERDICT_EXIT: Record<string, number> = {
  permit: 0,
  'permit-with-warning': 10,
  escalate: 20,
  deny: 30,
};

export function readJsonl(path: string): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.trim() === '' || text.trimStart().startsWith('#')) return;
      try {
        out.push({ line: i + 1, value: JSON.parse(text) });
      } catch (err) {
        throw new UsageError(`${path}:${i + 1}: not JSON: ${(err as Error).message}`);
      }
    });
  return out;
}
