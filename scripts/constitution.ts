// The default constitution as data (policies/constitution/gates.json) and its rules as a plain
// TypeScript model. The AssemblyScript policy implements the same rules (policies/constitution/
// assembly/index.ts, its table generated from gates.json); the case table is generated from this
// model, so the shipped policy is checked against an independent statement of the rules.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { POLICIES } from './paths.js';

export type Verdict = 'permit' | 'permit-with-warning' | 'escalate' | 'deny';

export interface GateSpec {
  gate: string;
  defaults: number[];
  thresholds: number[];
  l2: number;
  over: 'escalate' | 'deny';
  mutating: boolean;
  outbound: boolean;
  destructive: boolean;
  elevating: boolean;
}

export interface Constitution {
  dimensions: string[];
  environments: Record<string, number>;
  unknownEnvironment: string;
  modes: Record<string, number>;
  postures: string[];
  gates: GateSpec[];
}

export interface ModelRequest {
  gate: string;
  mode: string;
  posture: string;
  environment: string;
  effect: Partial<Record<string, number>>;
}

export const CONSTITUTION_DIR = path.join(POLICIES, 'constitution');

export function loadConstitution(file = path.join(CONSTITUTION_DIR, 'gates.json')): Constitution {
  return JSON.parse(readFileSync(file, 'utf8')) as Constitution;
}

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/** The constitution's rules, in the order the policy applies them. */
export function decide(c: Constitution, r: ModelRequest): { verdict: Verdict; rule: string } {
  const g = c.gates.find((x) => x.gate === r.gate);
  if (g === undefined) return { verdict: 'deny', rule: 'gate.unknown' };
  if (!c.postures.includes(r.posture)) return { verdict: 'deny', rule: 'posture.unknown' };
  const modeMul = c.modes[r.mode];
  if (modeMul === undefined) return { verdict: 'deny', rule: 'mode.unknown' };
  const envMul = c.environments[r.environment] ?? (c.environments[c.unknownEnvironment] as number);
  const mul = envMul * modeMul;
  const v = c.dimensions.map((d, i) => {
    const x = r.effect[d];
    return x === undefined || Number.isNaN(x) ? (g.defaults[i] as number) : x;
  });
  if (v.some((x) => !(x >= 0 && x <= 1))) return { verdict: 'deny', rule: 'effect.invalid' };
  if (r.posture === 'scout' && g.mutating) return { verdict: 'deny', rule: 'posture.scout.mutating' };
  let over: string | undefined;
  for (let i = 0; i < v.length && over === undefined; i++) {
    if ((v[i] as number) > (g.thresholds[i] as number) * mul) over = `threshold.${c.dimensions[i]}`;
  }
  if (over === undefined) {
    let sq = 0;
    for (const x of v) sq += x * x;
    if (Math.sqrt(sq) > g.l2 * mul) over = 'threshold.l2';
  }
  if (over !== undefined) {
    if (r.mode === 'high-security' || g.over === 'deny') return { verdict: 'deny', rule: over };
    if (r.posture === 'offense') return { verdict: 'permit-with-warning', rule: 'posture.offense.override' };
    return { verdict: 'escalate', rule: over };
  }
  if (r.posture === 'defense') {
    if (g.outbound) return { verdict: 'escalate', rule: 'posture.defense.outbound' };
    if (g.destructive) return { verdict: 'escalate', rule: 'posture.defense.destructive' };
    if (g.elevating) return { verdict: 'escalate', rule: 'posture.defense.elevating' };
  }
  if (r.posture === 'offense') return { verdict: 'permit-with-warning', rule: 'posture.offense.logged' };
  return { verdict: 'permit', rule: 'permit.within_thresholds' };
}

/** AssemblyScript source of the gate table, generated so that gates.json stays the one source. */
export function tableSource(c: Constitution): string {
  const lines = [
    '// GENERATED from policies/constitution/gates.json by scripts/build-policies.ts: do not edit.',
    'export const DIMENSION_NAMES: string[] = [' +
      c.dimensions.map((d) => JSON.stringify(d)).join(', ') +
      '];',
    `export const GATE_NAMES: string[] = [${c.gates.map((g) => JSON.stringify(g.gate)).join(', ')}];`,
    'export const DEFAULTS: f64[] = [' +
      c.gates
        .flatMap((g) => g.defaults)
        .map(fmt)
        .join(', ') +
      '];',
    'export const THRESHOLDS: f64[] = [' +
      c.gates
        .flatMap((g) => g.thresholds)
        .map(fmt)
        .join(', ') +
      '];',
    `export const L2: f64[] = [${c.gates.map((g) => fmt(g.l2)).join(', ')}];`,
    '// over: 1 deny, 0 escalate; flags: 1 mutating, 2 outbound, 4 destructive, 8 elevating',
    `export const OVER_DENY: u8[] = [${c.gates.map((g) => (g.over === 'deny' ? 1 : 0)).join(', ')}];`,
    'export const FLAGS: u8[] = [' +
      c.gates
        .map(
          (g) =>
            (g.mutating ? 1 : 0) | (g.outbound ? 2 : 0) | (g.destructive ? 4 : 0) | (g.elevating ? 8 : 0),
        )
        .join(', ') +
      '];',
    'export const ENV_NAMES: string[] = [' +
      Object.keys(c.environments)
        .map((e) => JSON.stringify(e))
        .join(', ') +
      '];',
    `export const ENV_MUL: f64[] = [${Object.values(c.environments).map(fmt).join(', ')}];`,
    `export const UNKNOWN_ENV_MUL: f64 = ${fmt(c.environments[c.unknownEnvironment] as number)};`,
    'export const MODE_NAMES: string[] = [' +
      Object.keys(c.modes)
        .map((m) => JSON.stringify(m))
        .join(', ') +
      '];',
    `export const MODE_MUL: f64[] = [${Object.values(c.modes).map(fmt).join(', ')}];`,
    '',
  ];
  return lines.join('\n');
}
