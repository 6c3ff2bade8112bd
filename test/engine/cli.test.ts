// The policy CLI on real packages and real key files: signing, every refusal reason, gate eval exit
// codes, case tables and replay; determinism across a second process.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { Engine, loadPolicy } from '../../engine/index.js';
import { baseRequest, policyWat, THRESHOLD_BODY, writePackage } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'gavel-engine-cli-'));
const gavel = (...args: string[]) => {
  const r = spawnSync('node', ['bin/gavel.js', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
let pkg: string;
const keys: Record<string, { file: string; vkey: string }> = {};

function trust(name: string, operators: string[], threshold: number, authors: string[] = []): string {
  const f = join(root, `${name}.trust.json`);
  writeFileSync(f, JSON.stringify({ authors, operators, operatorThreshold: threshold }));
  return f;
}
function copyPkg(name: string): string {
  const d = join(root, name);
  cpSync(pkg, d, { recursive: true });
  return d;
}

beforeAll(async () => {
  pkg = await writePackage(join(root, 'pkg'), policyWat(THRESHOLD_BODY), {
    gates: ['tool.execute', 'agent.spawn'],
  });
  for (const k of ['op1', 'op2', 'stranger']) {
    const file = join(root, `${k}.key`);
    const r = gavel('keys', 'new', '--type', 'ed25519', '--out', file, '--name', `test.local/${k}`, '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as Record<string, string>;
    keys[k] = { file, vkey: j.vkey as string };
  }
}, 60_000);

describe('gavel policy sign / verify', () => {
  test('an unsigned package is refused: UNSIGNED', () => {
    const r = gavel('policy', 'verify', pkg, '--trust', trust('t1', [keys.op1?.vkey as string], 1), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'UNSIGNED' });
  });

  test('co-signing reaches the operator threshold; one signature is below it', () => {
    const d = copyPkg('cosign');
    const t = trust('t2', [keys.op1?.vkey as string, keys.op2?.vkey as string], 2);
    expect(gavel('policy', 'sign', d, '--key', keys.op1?.file as string).code).toBe(0);
    let r = gavel('policy', 'verify', d, '--trust', t, '--json');
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'BELOW_THRESHOLD' });
    expect(gavel('policy', 'sign', d, '--key', keys.op2?.file as string).code).toBe(0);
    r = gavel('policy', 'verify', d, '--trust', t, '--json');
    expect(r.code, r.out).toBe(0);
    expect(JSON.parse(r.out).operators).toHaveLength(2);
    const env = JSON.parse(readFileSync(join(d, 'manifest.dsse.json'), 'utf8'));
    expect(env.signatures).toHaveLength(2);
  });

  test('a key outside the trust file: UNTRUSTED_KEY', () => {
    const d = copyPkg('stranger');
    gavel('policy', 'sign', d, '--key', keys.stranger?.file as string);
    const r = gavel('policy', 'verify', d, '--trust', trust('t3', [keys.op1?.vkey as string], 1), '--json');
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'UNTRUSTED_KEY' });
  });

  test('a signature that does not verify: BAD_SIGNATURE', () => {
    const d = copyPkg('badsig');
    gavel('policy', 'sign', d, '--key', keys.op1?.file as string);
    const envPath = join(d, 'manifest.dsse.json');
    const env = JSON.parse(readFileSync(envPath, 'utf8'));
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    sig[5] = (sig[5] as number) ^ 1;
    env.signatures[0].sig = sig.toString('base64');
    writeFileSync(envPath, JSON.stringify(env));
    const r = gavel('policy', 'verify', d, '--trust', trust('t4', [keys.op1?.vkey as string], 1), '--json');
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
  });

  for (const file of ['component.wasm', 'manifest.json']) {
    test(`one byte changed in ${file}: TAMPERED`, () => {
      const d = copyPkg(`tamper-${file}`);
      gavel('policy', 'sign', d, '--key', keys.op1?.file as string);
      const b = readFileSync(join(d, file));
      const at = file === 'manifest.json' ? b.indexOf('1.0.0') : b.length - 3;
      b[at] = (b[at] as number) ^ 1;
      writeFileSync(join(d, file), b);
      const r = gavel('policy', 'verify', d, '--trust', trust('t5', [keys.op1?.vkey as string], 1), '--json');
      expect(JSON.parse(r.out)).toMatchObject({ ok: false, code: 'TAMPERED' });
    });
  }

  test('inspect shows world, imports, fuel and signers', () => {
    const r = gavel('policy', 'inspect', join(root, 'cosign'), '--json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ world: 'gavel:policy/gate-policy@0.1.0', fuel: 100000 });
    expect(j.core.imports).toEqual([]);
    expect(j.core.exports).toEqual(expect.arrayContaining(['evaluate', 'cabi_realloc', 'memory']));
    expect(j.signers).toHaveLength(2);
  });
});

describe('gavel gate eval / policy test / policy replay', () => {
  test('exit codes follow the verdict; --json has the decision; bad flags exit 2', () => {
    let r = gavel('gate', 'eval', 'tool.execute', '--policy', pkg, '--risk', '0.2', '--json');
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      verdict: 'permit',
      reason: 'low-risk',
      policy: { name: 'wat-threshold' },
    });
    r = gavel('gate', 'eval', 'tool.execute', '--policy', pkg, '--risk', '0.7');
    expect(r.code).toBe(30);
    expect(r.out).toContain('deny');
    expect(gavel('gate', 'eval', 'tool.execute', '--policy', pkg, '--risk', 'high').code).toBe(2);
    expect(gavel('gate', 'eval', 'tool.execute', '--policy', pkg, '--ctx', 'novalue').code).toBe(2);
    // An unserved gate is denied by the engine.
    expect(gavel('gate', 'eval', 'mesh.connect', '--policy', pkg).code).toBe(30);
    // A trust file makes gate eval refuse the unsigned package.
    expect(
      gavel('gate', 'eval', 'tool.execute', '--policy', pkg, '--trust', join(root, 't1.trust.json')).code,
    ).not.toBe(0);
  });

  test('policy test: pass table, and a non-zero exit on a failing case', () => {
    const cases = join(root, 'cases.jsonl');
    const line = (risk: number, expect: string, rule?: string) =>
      JSON.stringify({ request: { gate: 'tool.execute', effect: { risk } }, expect, rule });
    writeFileSync(
      cases,
      [line(0.5, 'permit', 'permit'), line(0.50001, 'deny'), line(0.1, 'permit')].join('\n'),
    );
    let r = gavel('policy', 'test', pkg, '--cases', cases);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('3 passed, 0 failed');
    writeFileSync(cases, [line(0.5, 'permit'), line(0.9, 'permit')].join('\n'));
    r = gavel('policy', 'test', pkg, '--cases', cases);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/FAIL\s+2/);
  });

  test('replay: recorded decisions match; a changed verdict or fuel is reported', async () => {
    const p = await loadPolicy(pkg, { allowUnsigned: true });
    const e = await Engine.create({ policies: [p], threads: 0 });
    const reqs = [0.1, 0.6, 0.5].map((risk) => ({ ...baseRequest, effect: { risk } }));
    const lines = reqs.map((request) => JSON.stringify({ request, decision: e.evaluateSync(request) }));
    const d = e.evaluateSync(reqs[0] as typeof baseRequest);
    // A ledger gate.decision entry.
    lines.push(
      JSON.stringify({
        seq: 7,
        kind: 'gate.decision',
        payload: { request: reqs[0], verdict: d.verdict, fuel: d.fuel },
      }),
    );
    await e.close();
    const file = join(root, 'decisions.jsonl');
    writeFileSync(file, lines.join('\n'));
    let r = gavel('policy', 'replay', pkg, '--decisions', file, '--json');
    expect(r.code, r.out + r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ checked: 4, mismatches: [] });
    lines[1] = JSON.stringify({ request: reqs[1], decision: { verdict: 'permit', fuel: 6 } });
    lines[2] = JSON.stringify({ request: reqs[2], decision: { verdict: 'permit', fuel: 999 } });
    writeFileSync(file, lines.join('\n'));
    r = gavel('policy', 'replay', pkg, '--decisions', file, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).mismatches.map((m: { line: number }) => m.line)).toEqual([2, 3]);
  });
});

describe('determinism', () => {
  test('same request, same verdict and fuel: in-process, across pool threads, and in a second process', async () => {
    const p = await loadPolicy(pkg, { allowUnsigned: true });
    const e = await Engine.create({ policies: [p], threads: 2 });
    const reqs = Array.from({ length: 600 }, (_, i) => ({
      ...baseRequest,
      effect: { risk: (i % 7) / 6 },
      context: { i: String(i) },
    }));
    const sync = reqs.map((r) => e.evaluateSync(r));
    const pooled = await e.evaluateBatch(reqs);
    const again = await e.evaluateBatch(reqs);
    await e.close();
    expect(pooled).toEqual(sync);
    expect(again).toEqual(sync);
    const script = `import('./dist/engine/index.js').then(async (m) => {
      const p = await m.loadPolicy(${JSON.stringify(pkg)}, { allowUnsigned: true });
      const e = await m.Engine.create({ policies: [p], threads: 0 });
      const reqs = JSON.parse(process.argv[1]);
      console.log(JSON.stringify(reqs.map((r) => e.evaluateSync(r))));
    })`;
    const r = spawnSync('node', ['--input-type=module', '-e', script, JSON.stringify(reqs.slice(0, 50))], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(sync.slice(0, 50));
  });
});
