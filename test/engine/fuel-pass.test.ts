// gavel-fuel/v2 (fuel counter in a local per function) against v1 (the global): the same verdicts and
// the same fuel wherever a call does not trap, on the shipped constitution's whole case table and on a
// module built to exercise every way control leaves a function; functions the rewriter cannot read
// are left as v1 had them; a manifest naming an unknown pass or instrumenter is refused.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { beforeAll, describe, expect, test } from 'vitest';
import { fuelInLocals } from '../../engine/fuel-local.js';
import {
  Engine,
  EngineError,
  type FuelPass,
  type GateRequest,
  INSTRUMENTER,
  instrument,
  loadPolicy,
  PolicyRuntime,
} from '../../engine/index.js';
import { baseRequest, policyWat, writePackage } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'gavel-fuel-pass-'));
const BUILT = join(process.cwd(), 'policies', 'build', 'constitution');
const PASSES: FuelPass[] = ['gavel-fuel/v1', 'gavel-fuel/v2'];

/** A copy of a package whose manifest names another instrumenter (unsigned: the signature covers the manifest). */
function withInstrumenter(src: string, name: string, instrumenter: Record<string, unknown>): string {
  const d = join(root, name);
  cpSync(src, d, { recursive: true });
  rmSync(join(d, 'manifest.dsse.json'), { force: true });
  const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  m.instrumenter = instrumenter;
  writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
  return d;
}

const PERMIT = '(call $out (i32.const 0) (i32.const 26) (i32.const 8) (i32.const 16) (i32.const 6))';
const DENY = '(call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 22) (i32.const 4))';
// n = risk * 20. Direct and indirect calls, recursion, an early return from inside a loop, and a loop
// left by a br_table whose default is the function's own label.
const EXITS = policyWat(
  `(local $n i32)
    (local.set $n (i32.trunc_f64_u (f64.mul (f64.load offset=48 (local.get $req)) (f64.const 20))))
    (call $walk (local.get $n))
    (drop (call_indirect (type $t) (local.get $n) (i32.and (local.get $n) (i32.const 1))))
    (drop (call $rec (local.get $n)))
    (drop (call $early (local.get $n)))
    (if (i32.eq (local.get $n) (i32.const 19)) (then (unreachable)))
    (if (result i32) (i32.gt_u (local.get $n) (i32.const 10)) (then ${DENY}) (else ${PERMIT}))`,
  `(type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $sq $dbl)
  (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
  (func $dbl (param i32) (result i32) (i32.add (local.get 0) (local.get 0)))
  (func $rec (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n)) (then (i32.const 0))
      (else (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (local.get $n)))))
  (func $early (param $n i32) (result i32) (local $i i32)
    (loop $l
      (if (i32.ge_u (local.get $i) (local.get $n)) (then (return (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    (i32.const -1))
  (func $walk (param $n i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_table $l 1 (i32.ge_u (local.get $i) (local.get $n)))))`,
);

describe('gavel-fuel/v2 counts what v1 counts', () => {
  test.skipIf(!existsSync(join(BUILT, 'manifest.json')))(
    "the constitution's whole case table: same verdict, reason, rule and fuel under v1 and v2",
    async () => {
      const cases = readFileSync(join(process.cwd(), 'policies', 'constitution', 'cases.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { request: GateRequest }).request);
      const runs: unknown[][] = [];
      for (const pass of PASSES) {
        const dir = withInstrumenter(BUILT, `constitution-${pass.slice(-2)}`, { ...INSTRUMENTER, pass });
        const engine = await Engine.create({
          policies: [await loadPolicy(dir, { allowUnsigned: true })],
          threads: 0,
        });
        runs.push(cases.map((c) => ({ ...engine.evaluateSync(c), policy: undefined })));
        await engine.close();
      }
      expect(cases.length).toBeGreaterThan(3000);
      expect(runs[1]).toEqual(runs[0]);
    },
  );

  test('calls, call_indirect, recursion, early return, br_table out of a function: same fuel; exhaustion reports the budget', async () => {
    const engines: Engine[] = [];
    for (const pass of PASSES)
      for (const fuel of [100_000, 40]) {
        const dir = await writePackage(join(root, `exits-${pass.slice(-2)}-${fuel}`), EXITS, { pass, fuel });
        engines.push(
          await Engine.create({ policies: [await loadPolicy(dir, { allowUnsigned: true })], threads: 0 }),
        );
      }
    const risks = [0, 0.05, 0.1, 0.3, 0.5, 0.55, 0.7, 0.8, 0.9];
    const run = (e: Engine) =>
      risks.map((risk) => ({ ...e.evaluateSync({ ...baseRequest, effect: { risk } }), policy: 0 }));
    const [v1, v1small, v2, v2small] = engines.map(run);
    expect(v2).toEqual(v1);
    expect(v2small).toEqual(v1small);
    // The path really depends on n: fuel grows with risk, and the small budget runs out.
    const fuels = (v1 ?? []).map((d) => d.fuel);
    expect(new Set(fuels).size).toBe(risks.length);
    expect(v1small?.at(-1)).toMatchObject({ reason: 'fuel_exhausted', fuel: 40 });
    expect(v2small?.at(-1)).toMatchObject({ reason: 'fuel_exhausted', fuel: 40 });
    // A trap is still a trap under v2; its fuel is the counter's last write-back (deterministic).
    const trap = { ...baseRequest, effect: { risk: 0.96 } };
    const t = engines[2] as Engine;
    expect(t.evaluateSync(trap)).toMatchObject({ verdict: 'deny', reason: 'trap' });
    expect(t.evaluateSync(trap)).toEqual(t.evaluateSync(trap));
    for (const e of engines) await e.close();
  });
});

describe('the v2 rewriter', () => {
  const core = (wat: string) => {
    const m = binaryen.parseText(wat);
    m.setFeatures(binaryen.Features.All);
    const b = m.emitBinary();
    m.dispose();
    return b;
  };
  const v2 = (wat: string) =>
    instrument(core(wat), { fuel: 100_000, maxMemoryPages: 4, pass: 'gavel-fuel/v2' });

  test('rewrites every function using the counter, and the result validates', () => {
    const r = v2(EXITS);
    // evaluate, $out, $sq, $dbl, $rec, $early, $walk, cabi_realloc and the host helpers using it
    expect(r.fuelLocals?.rewritten).toBeGreaterThanOrEqual(8);
    expect(r.fuelLocals?.skipped).toBe(0);
    expect(WebAssembly.validate(r.wasm)).toBe(true);
    expect(
      instrument(core(EXITS), { fuel: 100_000, maxMemoryPages: 4, pass: 'gavel-fuel/v1' }).fuelLocals,
    ).toBe(undefined);
  });

  test('try/catch_all: the counter is reloaded after a catch (same fuel as v1)', () => {
    // $thrower recurses k times then throws (recursive: never inlined, so the throw stays a throw).
    const wat = policyWat(
      `(drop (call $legacy (i32.const 12))) (drop (call $legacy (i32.const 0))) ${PERMIT}`,
      `(tag $e)
  (func $thrower (param $k i32)
    (if (local.get $k) (then (call $thrower (i32.sub (local.get $k) (i32.const 1)))) (else (throw $e))))
  (func $legacy (param $k i32) (result i32) (local $i i32)
    (try (result i32)
      (do (call $thrower (local.get $k)) (i32.const 0))
      (catch_all
        (loop $l
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
        (local.get $i))))`,
    );
    const fuels: number[] = [];
    for (const pass of PASSES) {
      const i = instrument(core(wat), { fuel: 100_000, maxMemoryPages: 4, pass });
      if (pass === 'gavel-fuel/v2') expect(i.fuelLocals?.skipped).toBe(0);
      const rt = new PolicyRuntime({
        module: new WebAssembly.Module(i.wasm),
        fuel: 100_000,
        tracked: i.tracked,
        maxMemoryPages: 4,
      });
      const d = rt.evaluate(baseRequest);
      expect(d.verdict).toBe('permit');
      fuels.push(d.fuel);
    }
    expect(fuels[0]).toBeGreaterThan(20);
    expect(fuels[1]).toBe(fuels[0]);
  });

  test('a function it cannot read (try_table) is left byte for byte as v1 had it', () => {
    // Node 20's V8 does not run try_table (exnref), so this checks the rewrite itself.
    const wat = policyWat(
      `(drop (call $guarded (i32.const 2))) ${PERMIT}`,
      `(tag $e)
  (func $thrower (param $k i32)
    (if (local.get $k) (then (call $thrower (i32.sub (local.get $k) (i32.const 1)))) (else (throw $e))))
  (func $guarded (param $n i32) (result i32)
    (block $caught
      (try_table (catch_all $caught) (call $thrower (local.get $n))))
    (local.get $n))`,
    );
    const w = instrument(core(wat), { fuel: 100_000, maxMemoryPages: 4, pass: 'gavel-fuel/v1' }).wasm;
    // policyWat declares two globals ($hp, $count); the engine adds the counter right after them.
    const r = fuelInLocals(w, 2);
    expect(r.skipped).toBe(1);
    expect(r.rewritten).toBeGreaterThan(0);
    // binaryen reads try_table: the whole rewritten module validates there.
    const m = binaryen.readBinary(r.wasm);
    m.setFeatures(binaryen.Features.All);
    expect(m.validate()).toBe(1);
    m.dispose();
  });

  test('branches that leave a function through its own label write the counter back', () => {
    // Hand-assembled (binaryen never emits these, other producers may): f = fuel -= 1 then
    // `block (result i32) i32.const 7; br 1` (label 1 = the function); h = fuel -= 1 then
    // `block; br_table [0] default 1` with index 5 (the default: the function), skipping a +1000.
    // biome-ignore format: hand-assembled bytes, one section or function body a line
    const wasm = Uint8Array.from([
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
      0x01, 0x08, 0x02, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x00, 0x00, // types: []->[i32], []->[]
      0x03, 0x03, 0x02, 0x00, 0x01, // functions
      0x06, 0x07, 0x01, 0x7f, 0x01, 0x41, 0xe4, 0x00, 0x0b, // global 0: mut i32 = 100 (the counter)
      0x07, 0x0d, 0x03, 0x01, 0x66, 0x00, 0x00, 0x01, 0x68, 0x00, 0x01, 0x01, 0x67, 0x03, 0x00, // f, h, g
      0x0a, 0x2d, 0x02, // code: two bodies
      0x10, 0x00, 0x23, 0x00, 0x41, 0x01, 0x6b, 0x24, 0x00, 0x02, 0x7f, 0x41, 0x07, 0x0c, 0x01, 0x0b, 0x0b,
      0x1a, 0x00, 0x23, 0x00, 0x41, 0x01, 0x6b, 0x24, 0x00, 0x02, 0x40, 0x41, 0x05, 0x0e, 0x01, 0x00, 0x01, 0x0b, 0x23, 0x00, 0x41, 0xe8, 0x07, 0x6a, 0x24, 0x00, 0x0b,
    ]);
    const r = fuelInLocals(wasm, 0);
    expect(r.rewritten).toBe(2);
    for (const bytes of [wasm, r.wasm]) {
      const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as {
        f: () => number;
        h: () => void;
        g: { value: number };
      };
      expect(ex.f()).toBe(7);
      expect(ex.g.value).toBe(99);
      ex.h();
      expect(ex.g.value).toBe(98);
    }
  });

  test('a truncated module is a BAD_PACKAGE error, not a crash', () => {
    const w = instrument(core(EXITS), { fuel: 100_000, maxMemoryPages: 4, pass: 'gavel-fuel/v1' }).wasm;
    const cut = w.subarray(0, w.length - 7);
    expect(() => fuelInLocals(cut, 0)).toThrow(EngineError);
    try {
      fuelInLocals(cut, 0);
    } catch (err) {
      expect((err as EngineError).code).toBe('BAD_PACKAGE');
    }
  });
});

describe('the manifest names its instrumenter', () => {
  let pkg: string;
  beforeAll(async () => {
    pkg = await writePackage(join(root, 'named'), EXITS);
  });
  const refused = async (name: string, instrumenter: Record<string, unknown>, message: RegExp) => {
    const d = withInstrumenter(pkg, name, instrumenter);
    const err = await loadPolicy(d, { allowUnsigned: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('BAD_PACKAGE');
    expect((err as Error).message).toMatch(message);
  };
  test('an unknown pass is refused, naming the passes this engine implements', () =>
    refused(
      'pass',
      { ...INSTRUMENTER, pass: 'gavel-fuel/v9' },
      /gavel-fuel\/v9.*gavel-fuel\/v1, gavel-fuel\/v2/,
    ));
  test('another binaryen version is refused (fuel counts depend on it)', () =>
    refused('version', { ...INSTRUMENTER, version: '129.0.0' }, /binaryen 129\.0\.0.*130\.0\.0 only/));
  test('a manifest without an instrumenter is refused', async () => {
    const d = join(root, 'none');
    cpSync(pkg, d, { recursive: true });
    const m = JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete m.instrumenter;
    writeFileSync(join(d, 'manifest.json'), JSON.stringify(m));
    await expect(loadPolicy(d, { allowUnsigned: true })).rejects.toThrow(/instrumenter missing/);
  });
  test('new builds name the newest pass', () => {
    expect(INSTRUMENTER.pass).toBe('gavel-fuel/v2');
    if (existsSync(join(BUILT, 'manifest.json')))
      expect(JSON.parse(readFileSync(join(BUILT, 'manifest.json'), 'utf8')).instrumenter).toEqual(
        INSTRUMENTER,
      );
  });
});
