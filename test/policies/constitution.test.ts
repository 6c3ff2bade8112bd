// The built constitution against its case table. The table is generated from the rules model
// (scripts/constitution.ts), the policy implements the rules in AssemblyScript: this checks one
// against the other, calling the component's core module directly through the canonical ABI (so the
// policy is checked on its own; the engine's own tests run it under fuel in the pool).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { coreModules } from '../../engine/index.js';
import { CONSTITUTION_DIR, loadConstitution } from '../../scripts/constitution.js';
import { casesText, generateCases } from '../../scripts/constitution-cases.js';
import { REPO } from '../helpers/run.js';

const VERDICTS = ['permit', 'permit-with-warning', 'escalate', 'deny'];
const DIMS = ['risk', 'fairness', 'privacy', 'novelty', 'security'];

interface Req {
  gate: string;
  actor: string;
  role: string;
  mode: string;
  posture: string;
  environment: string;
  effect: Partial<Record<string, number>>;
  context: Record<string, string>;
}

/** A fresh instance per call: the canonical ABI lowering of gate-request, lifting of decision. */
function caller(pkg: string): (r: Req) => { verdict: string; reason: string; rule: string } {
  const component = new Uint8Array(readFileSync(path.join(REPO, 'policies', 'build', pkg, 'component.wasm')));
  const [core] = coreModules(component);
  const module = new WebAssembly.Module(core as Uint8Array);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  return (r) => {
    const ex = new WebAssembly.Instance(module, {}).exports as unknown as {
      memory: { buffer: ArrayBuffer };
      cabi_realloc(a: number, b: number, c: number, d: number): number;
      evaluate(p: number): number;
    };
    const alloc = (n: number, align: number) => ex.cabi_realloc(0, 0, align, n);
    const str = (s: string): [number, number] => {
      const b = enc.encode(s);
      const p = alloc(Math.max(1, b.length), 1);
      new Uint8Array(ex.memory.buffer).set(b, p);
      return [p, b.length];
    };
    const fields = [r.gate, r.actor, r.role, r.mode, r.posture, r.environment].map(str);
    const ctx = Object.entries(r.context).map(([k, v]) => [str(k), str(v)] as const);
    const list = alloc(16 * Math.max(1, ctx.length), 4);
    const base = alloc(96, 8);
    const dv = new DataView(ex.memory.buffer);
    fields.forEach(([p, n], i) => {
      dv.setUint32(base + i * 8, p, true);
      dv.setUint32(base + i * 8 + 4, n, true);
    });
    DIMS.forEach((d, i) => {
      dv.setFloat64(base + 48 + i * 8, r.effect[d] ?? Number.NaN, true);
    });
    ctx.forEach(([[kp, kn], [vp, vn]], i) => {
      dv.setUint32(list + i * 16, kp, true);
      dv.setUint32(list + i * 16 + 4, kn, true);
      dv.setUint32(list + i * 16 + 8, vp, true);
      dv.setUint32(list + i * 16 + 12, vn, true);
    });
    dv.setUint32(base + 88, list, true);
    dv.setUint32(base + 92, ctx.length, true);
    const out = ex.evaluate(base);
    const d = new DataView(ex.memory.buffer);
    const u8 = new Uint8Array(ex.memory.buffer);
    const s = (o: number) =>
      dec.decode(
        u8.subarray(d.getUint32(out + o, true), d.getUint32(out + o, true) + d.getUint32(out + o + 4, true)),
      );
    return { verdict: VERDICTS[d.getUint8(out)] as string, reason: s(4), rule: s(12) };
  };
}

describe('the default constitution', () => {
  let evaluate: ReturnType<typeof caller>;
  beforeAll(() => {
    evaluate = caller('constitution');
  });

  it('ships a case table that is up to date with gates.json and the rules model', () => {
    expect(readFileSync(path.join(CONSTITUTION_DIR, 'cases.jsonl'), 'utf8')).toBe(
      casesText(loadConstitution()),
    );
  });

  it('decides every case of the table as the rules model does (verdict and rule)', () => {
    const cases = generateCases(loadConstitution());
    expect(cases.length).toBeGreaterThan(3000);
    const wrong: string[] = [];
    for (const c of cases) {
      const d = evaluate(c.request);
      if (d.verdict !== c.expect || d.rule !== c.rule)
        wrong.push(`${c.name}: want ${c.expect} (${c.rule}) got ${d.verdict} (${d.rule}) — ${d.reason}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('explains its decisions', () => {
    const base = {
      actor: 'a',
      role: 'primary',
      mode: 'high-integrity',
      environment: 'production',
      context: {},
    };
    const d = evaluate({ ...base, gate: 'agent.elevate', posture: 'defense', effect: { risk: 0.6 } });
    expect(d).toMatchObject({ verdict: 'deny', rule: 'threshold.risk' });
    expect(d.reason).toBe('agent.elevate: risk 0.6 over its threshold 0.35');
    expect(evaluate({ ...base, gate: 'tool.execute', posture: 'scout', effect: {} }).reason).toContain(
      'SCOUT posture is read-only',
    );
    expect(evaluate({ ...base, gate: 'nope', posture: 'scout', effect: {} }).reason).toContain(
      'unknown gate nope',
    );
  });

  // Reasons are written as UTF-8 in place (SDK Text) and constants built at instantiation: every
  // path's exact text, and the number format (3 decimals, trailing zeros dropped) at its edges.
  it('writes every kind of reason exactly', () => {
    const r = (
      gate: string,
      posture: string,
      effect: Record<string, number>,
      mode = 'high-integrity',
      env = 'development',
    ) =>
      evaluate({ actor: 'a', role: 'primary', mode, environment: env, context: {}, gate, posture, effect });
    const cases: [ReturnType<typeof r>, string, string, string][] = [
      [
        r('tool.execute', 'defense', { risk: 0.1 }),
        'escalate',
        'posture.defense.outbound',
        'DEFENSE posture: tool.execute is outbound',
      ],
      [
        r('agent.kill', 'defense', { risk: 0.1 }),
        'escalate',
        'posture.defense.destructive',
        'DEFENSE posture: agent.kill is destructive',
      ],
      [
        r('agent.elevate', 'defense', { risk: 0.1 }),
        'escalate',
        'posture.defense.elevating',
        'DEFENSE posture: agent.elevate elevates authority',
      ],
      [
        r('assess.run', 'defense', { risk: 0.1 }),
        'permit',
        'permit.within_thresholds',
        'assess.run: every dimension within its threshold',
      ],
      [
        r('assess.run', 'offense', { risk: 0.1 }),
        'permit-with-warning',
        'posture.offense.logged',
        'assess.run: within thresholds (OFFENSE posture: logged)',
      ],
      [
        r('tool.sign', 'scout', {}),
        'deny',
        'posture.scout.mutating',
        'SCOUT posture is read-only: tool.sign mutates state',
      ],
      [
        r('assess.run', 'defense', { privacy: 0.8125 }),
        'escalate',
        'threshold.privacy',
        'assess.run: privacy 0.813 over its threshold 0.7',
      ],
      [
        r('assess.run', 'offense', { novelty: 1 }),
        'permit-with-warning',
        'posture.offense.override',
        'assess.run: novelty 1 over its threshold 0.8 (OFFENSE posture: permitted, logged)',
      ],
      [
        r('assess.run', 'defense', { risk: 0.6, fairness: 0.6, privacy: 0.6, novelty: 0.6, security: 0.6 }),
        'escalate',
        'threshold.l2',
        'assess.run: L2 score 1.342 over its threshold 1.2',
      ],
      [
        r('assess.run', 'defense', { risk: 0.7 }, 'high-integrity', 'staging'),
        'escalate',
        'threshold.risk',
        'assess.run: risk 0.7 over its threshold 0.525',
      ],
      [
        r('assess.run', 'defense', { risk: 0.65 }, 'self-growth', 'staging'),
        'escalate',
        'threshold.risk',
        'assess.run: risk 0.65 over its threshold 0.473',
      ],
    ];
    for (const [d, verdict, rule, reason] of cases) {
      expect(d).toMatchObject({ verdict, rule });
      expect(d.reason).toBe(reason);
    }
  });
});

describe('the context-rules example', () => {
  it('decides from context attributes', () => {
    const evaluate = caller('context-rules');
    const r = (gate: string, context: Record<string, string>) =>
      evaluate({
        gate,
        actor: 'a',
        role: 'primary',
        mode: 'high-integrity',
        posture: 'defense',
        environment: 'production',
        effect: {},
        context,
      });
    expect(r('tool.execute', { tool: 'read_file' })).toMatchObject({
      verdict: 'permit',
      rule: 'context.tool.allowed',
    });
    expect(r('tool.execute', { tool: 'deploy' })).toMatchObject({
      verdict: 'escalate',
      rule: 'context.tool.review',
    });
    expect(r('tool.execute', { tool: 'rm_rf' })).toMatchObject({
      verdict: 'deny',
      rule: 'context.tool.denied',
    });
    expect(r('tool.execute', {})).toMatchObject({ verdict: 'deny', rule: 'context.tool.missing' });
    expect(r('tool.execute', { tool: 'search', tenant: 'a', resource_tenant: 'b' })).toMatchObject({
      verdict: 'deny',
      rule: 'context.tenant.mismatch',
    });
    // A reason longer than a Text's first buffer, with non-ASCII text in it (SDK fallbacks).
    const long = `Zürich-Ωmega-🦀-${'x'.repeat(150)}`;
    expect(r('tool.execute', { tool: 'search', tenant: long, resource_tenant: 'bé' })).toEqual({
      verdict: 'deny',
      reason: `tenant ${long} may not act on a resource of tenant bé`,
      rule: 'context.tenant.mismatch',
    });
    expect(r('tool.execute', { tool: 'search', hour: '23' })).toMatchObject({
      verdict: 'escalate',
      rule: 'context.hours.outside',
    });
    expect(r('mesh.connect', { peer: 'db.internal' })).toMatchObject({ verdict: 'permit' });
    expect(r('mesh.connect', { peer: 'evil.example.com' })).toMatchObject({ verdict: 'deny' });
    expect(r('agent.kill', {})).toMatchObject({ verdict: 'deny', rule: 'gate.unknown' });
  });
});
