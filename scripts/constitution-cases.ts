// Generates policies/constitution/cases.jsonl — the constitution's case table, shipped as a
// `gavel policy test` file — from the rules model (scripts/constitution.ts): every gate at, just
// below and just above each dimension's threshold, under each posture and environment; the L2 score
// around its threshold; every mode; defaults; and the refusals (unknown gate, posture, mode, values).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONSTITUTION_DIR,
  type Constitution,
  decide,
  loadConstitution,
  type ModelRequest,
} from './constitution.js';

interface Case {
  name: string;
  request: ModelRequest & { actor: string; role: string; context: Record<string, string> };
  expect: string;
  rule: string;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function generateCases(c: Constitution): Case[] {
  const cases: Case[] = [];
  const add = (name: string, r: ModelRequest) => {
    const d = decide(c, r);
    cases.push({
      name,
      request: { ...r, actor: 'case-table', role: 'primary', context: {} },
      expect: d.verdict,
      rule: d.rule,
    });
  };
  const zero = () => Object.fromEntries(c.dimensions.map((d) => [d, 0])) as Record<string, number>;
  for (const g of c.gates) {
    for (const environment of Object.keys(c.environments)) {
      for (const posture of c.postures) {
        const mul = (c.environments[environment] as number) * (c.modes['high-integrity'] as number);
        c.dimensions.forEach((dim, i) => {
          const at = (g.thresholds[i] as number) * mul;
          for (const [where, v] of [
            ['at', at],
            ['below', round(at - 0.01)],
            ['above', round(at + 0.01)],
          ] as const) {
            if (v < 0 || v > 1) continue;
            add(`${g.gate} ${dim} ${where} threshold, ${posture}, ${environment}`, {
              gate: g.gate,
              mode: 'high-integrity',
              posture,
              environment,
              effect: { ...zero(), [dim]: v },
            });
          }
        });
        // The L2 score: every dimension at 95% of its threshold, so only the norm can trip.
        const near = Object.fromEntries(
          c.dimensions.map((d, i) => [d, round((g.thresholds[i] as number) * mul * 0.95)]),
        );
        add(`${g.gate} L2 with every dimension near its threshold, ${posture}, ${environment}`, {
          gate: g.gate,
          mode: 'high-integrity',
          posture,
          environment,
          effect: near,
        });
        add(`${g.gate} defaults only, ${posture}, ${environment}`, {
          gate: g.gate,
          mode: 'high-integrity',
          posture,
          environment,
          effect: {},
        });
      }
    }
    for (const mode of Object.keys(c.modes)) {
      add(`${g.gate} defaults, mode ${mode}`, {
        gate: g.gate,
        mode,
        posture: 'defense',
        environment: 'development',
        effect: {},
      });
      const t = (g.thresholds[0] as number) * (c.modes[mode] as number);
      add(`${g.gate} risk just above the ${mode} threshold`, {
        gate: g.gate,
        mode,
        posture: 'offense',
        environment: 'development',
        effect: { ...zero(), risk: round(Math.min(1, t + 0.01)) },
      });
    }
  }
  const base = { mode: 'high-integrity', posture: 'defense', environment: 'development', effect: {} };
  add('unknown gate', { ...base, gate: 'payments.transfer' });
  add('unknown posture', { ...base, gate: 'tool.execute', posture: 'reckless' });
  add('unknown mode', { ...base, gate: 'tool.execute', mode: 'yolo' });
  add('unknown environment counts as production', {
    ...base,
    gate: 'tool.sign',
    environment: 'moon',
    effect: { risk: 0.4 },
  });
  add('dimension over 1', { ...base, gate: 'tool.execute', effect: { risk: 1.5 } });
  add('negative dimension', { ...base, gate: 'tool.execute', effect: { privacy: -0.1 } });
  return cases;
}

export function casesText(c: Constitution): string {
  return generateCases(c)
    .map((x) => JSON.stringify(x))
    .join('\n')
    .concat('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = path.join(CONSTITUTION_DIR, 'cases.jsonl');
  const text = casesText(loadConstitution());
  writeFileSync(file, text);
  process.stdout.write(`wrote ${text.split('\n').length - 1} cases to ${file}\n`);
}
