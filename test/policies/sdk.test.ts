// The AssemblyScript SDK's Text, compiled into a policy of its own: reasons that outgrow the initial
// buffer (several times over), non-ASCII text in the middle, appended texts and numbers come out
// byte for byte as written, in-process and in the pool, one request after another (nothing of a
// longer reason shows through a shorter one), and a reason over the engine's limit is refused.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type GateRequest, loadPolicy } from '../../engine/index.js';
import { compileAssemblyScript } from '../../scripts/build-policies.js';
import { POLICIES } from '../../scripts/paths.js';
import { writeComponentPackage } from '../engine/fixtures.js';

/** The policy: `n` (context) rounds of "ab" and a number, then the actor and three more numbers. */
function source(sdk: string): string {
  return `import { cabi_realloc, Decision, decision, handle, Name, name, Request, Text, text, Verdict } from '${sdk}';
export { cabi_realloc };
const RULE = text('sdk.text');
const PREFIX = text('prefix \\u00a7 ');
const ROLES: string[] = [${ROLES.map((r) => JSON.stringify(r)).join(', ')}];
const ROLE_NAMES: Name[] = ROLES.map<Name>((r) => name(r));
const SHORT = text('.');
const NINE = new Text(9).add('123456789'); // full to its capacity: appended a byte at a time
function decide(req: Request): Decision {
  const ns = req.context('n');
  const n = ns == null ? 0 : I32.parseInt(ns);
  const t = new Text(4).append(PREFIX);
  for (let i = 0; i < n; i++) t.add('ab').num(<f64>i * 0.125);
  t.add(' ').add(req.actor).add(' ').num(req.effect(0)).add(' ').num(-2.5).add(' ').num(1234.5678);
  t.add(' role ');
  for (let i = 0; i < ROLES.length; i++) t.add(req.fieldIs(2, ROLES[i]) ? '1' : '0');
  t.add(' is ');
  for (let i = 0; i < ROLE_NAMES.length; i++) t.add(req.is(2, ROLE_NAMES[i]) ? '1' : '0');
  t.add(' at ').num(<f64>req.indexOf(2, ROLE_NAMES)).append(SHORT).append(PREFIX).append(NINE);
  return decision(Verdict.Escalate, t, RULE);
}
export function evaluate(ptr: usize): usize {
  return handle(ptr, decide);
}
`;
}

/**
 * Names the policy compares the role with (fieldIs: four characters at a time, then one by one).
 * \u0165's low byte is "e": a compare of low bytes alone would match "operator".
 */
const ROLES = ['operator', 'operatoR', 'operators-and-more', 'op', 'op\u0165rator', 'opérator'];

/** What Text.num writes: rounded to 3 decimals, trailing zeros dropped. */
function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const n = Math.round(Math.abs(v) * 1000);
  const frac = n % 1000;
  const whole = `${v < 0 ? '-' : ''}${(n - frac) / 1000}`;
  return frac === 0 ? whole : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

function expected(n: number, actor: string, risk: number, role = 'operator'): string {
  actor = new TextDecoder().decode(new TextEncoder().encode(actor)); // what the policy reads back
  let s = 'prefix \u00a7 ';
  for (let i = 0; i < n; i++) s += `ab${num(i * 0.125)}`;
  // fieldIs is for ASCII names: a name with a character over 0x7f matches no UTF-8 request field.
  const ascii = (r: string) => [...r].every((c) => c.charCodeAt(0) < 0x80);
  const bits = ROLES.map((r) => (r === role && ascii(r) ? '1' : '0')).join('');
  // is() and indexOf() compare UTF-8 with UTF-8: any name matches exactly its own bytes.
  const same = ROLES.map((r) => (r === role ? '1' : '0')).join('');
  return `${s} ${actor} ${num(risk)} -2.5 1234.568 role ${bits} is ${same} at ${num(ROLES.indexOf(role))}.prefix \u00a7 123456789`;
}

const base: GateRequest = {
  gate: 'tool.execute',
  actor: 'agent-7',
  role: 'operator',
  mode: 'general',
  posture: 'defense',
  environment: 'production',
  effect: {},
  context: {},
};

describe('SDK Text', () => {
  let dir = '';
  let engine: Engine;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gavel-sdk-'));
    const src = path.join(dir, 'src');
    mkdirSync(src);
    const sdk = path
      .relative(src, path.join(POLICIES, 'sdk', 'index'))
      .split(path.sep)
      .join('/');
    const entry = path.join(src, 'index.ts');
    writeFileSync(entry, source(sdk.startsWith('.') ? sdk : `./${sdk}`));
    const core = await compileAssemblyScript(entry, 2);
    const component = await componentNew(
      await componentEmbed({
        binary: core,
        witSource: readFileSync(path.join(POLICIES, 'wit', 'gate.wit'), 'utf8'),
        world: 'gate-policy',
      }),
    );
    const pkg = writeComponentPackage(path.join(dir, 'pkg'), component, {
      name: 'sdk-text',
      maxMemoryPages: 2,
    });
    engine = await Engine.create({ policies: [await loadPolicy(pkg, { allowUnsigned: true })], threads: 2 });
  });
  afterAll(async () => {
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // 0 rounds: within the first 4-byte buffer's doublings; 100: ~700 bytes, six doublings.
  const cases = [
    { n: 0, actor: 'agent-7', risk: 0.35, role: 'operator' },
    { n: 1, actor: 'agent-\u00e9-\u{1f600}', risk: 0.525, role: 'operators-and-more' },
    { n: 20, actor: 'a'.repeat(40), risk: 1, role: 'op' },
    { n: 100, actor: 'ops \u00a7 team', risk: 0.0004, role: 'opérator' },
    { n: 3, actor: 'agent-7', risk: 0.9995, role: 'operatoR' },
    { n: 2, actor: 'agent-7', risk: 0.5, role: 'operato' },
    // Numbers around the one-digit fast path's edges and signs.
    { n: 0, actor: 'x', risk: 9.9994, role: 'op\u0165rator' },
    { n: 0, actor: 'x', risk: 9.9995, role: 'opérator' },
    { n: 0, actor: 'x', risk: -0.0004, role: 'op' },
    { n: 0, actor: 'x', risk: 0.05, role: 'operators-and-more' },
    { n: 0, actor: 'x', risk: -0.105, role: 'operator' },
    { n: 0, actor: 'x', risk: 10, role: 'operator' },
    // A lone surrogate (UTF-8 has no encoding for it: U+FFFD, as TextEncoder writes) beside a pair.
    { n: 0, actor: 'x\ud800y\u{1f600}', risk: 0.5, role: 'operator' },
  ];
  const req = (c: (typeof cases)[number]): GateRequest => ({
    ...base,
    role: c.role,
    actor: c.actor,
    effect: { risk: c.risk },
    context: { n: String(c.n) },
  });

  it('builds every reason byte for byte, in-process and pooled, long after short and short after long', async () => {
    const reqs = [...cases, ...cases.slice().reverse(), ...cases].map(req);
    const want = [...cases, ...cases.slice().reverse(), ...cases].map((c) =>
      expected(c.n, c.actor, c.risk, c.role),
    );
    for (const [i, r] of reqs.entries()) {
      const d = engine.evaluateSync(r);
      expect(d).toMatchObject({ verdict: 'escalate', rule: 'sdk.text' });
      expect(d.reason).toBe(want[i]);
    }
    const pooled = await engine.evaluateBatch(reqs);
    expect(pooled.map((d) => d.reason)).toEqual(want);
    expect(pooled.every((d) => d.verdict === 'escalate' && d.rule === 'sdk.text')).toBe(true);
  });

  it('a reason over the engine limit (1024 bytes) is refused as bad_output', async () => {
    const long = req({ n: 200, actor: 'agent-7', risk: 0.5, role: 'operator' });
    expect(expected(200, 'agent-7', 0.5).length).toBeGreaterThan(1024);
    expect(engine.evaluateSync(long)).toMatchObject({ verdict: 'deny', reason: 'bad_output' });
    const [d] = await engine.evaluateBatch([long]);
    expect(d).toMatchObject({ verdict: 'deny', reason: 'bad_output' });
    // and the next request is answered normally
    expect(engine.evaluateSync(req(cases[0] as (typeof cases)[number])).reason).toBe(
      expected(0, 'agent-7', 0.35),
    );
  });
});
