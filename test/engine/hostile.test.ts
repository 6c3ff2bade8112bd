// Hostile policies: each is contained with the right reason code, and the pool keeps answering.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import binaryen from 'binaryen';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  Engine,
  EngineError,
  instrument,
  type LoadedPolicy,
  loadPolicy,
  PolicyRuntime,
} from '../../engine/index.js';
import { baseRequest, policyWat, THRESHOLD_BODY, writePackage } from './fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'gavel-hostile-'));
const PERMIT = '(call $out (i32.const 0) (i32.const 26) (i32.const 8) (i32.const 16) (i32.const 6))';

const hostile: Record<string, { wat: string; fuel?: number; reason: string }> = {
  'h.loop': { wat: policyWat('(loop $l (br $l)) (unreachable)'), reason: 'fuel_exhausted' },
  'h.grow': {
    wat: policyWat('(loop $l (drop (memory.grow (i32.const 1))) (br $l)) (unreachable)'),
    reason: 'memory_limit',
  },
  'h.recurse': {
    wat: policyWat(
      '(call $rec (i32.const 0))',
      '(func $rec (param i32) (result i32) (call $rec (i32.add (local.get 0) (i32.const 1))))',
    ),
    fuel: 2_000_000_000,
    reason: 'stack_overflow',
  },
  'h.huge': {
    wat: policyWat('(call $out (i32.const 0) (i32.const 0) (i32.const 60000) (i32.const 16) (i32.const 6))'),
    reason: 'bad_output',
  },
  'h.utf8': {
    wat: policyWat(`(i32.store8 (i32.const 1000) (i32.const 255))
      (call $out (i32.const 0) (i32.const 1000) (i32.const 1) (i32.const 16) (i32.const 6))`),
    reason: 'bad_output',
  },
  'h.verdict': {
    wat: policyWat('(call $out (i32.const 9) (i32.const 26) (i32.const 8) (i32.const 16) (i32.const 6))'),
    reason: 'bad_output',
  },
  'h.outofbounds': { wat: policyWat('(i32.const 0x7ffffff0)'), reason: 'bad_output' },
  'h.trap': {
    wat: policyWat('(drop (i32.div_u (i32.const 1) (i32.const 0))) (i32.const 0)'),
    reason: 'trap',
  },
  'h.alloc': {
    // The allocator itself traps: the host's cabi_realloc call fails before evaluate runs.
    wat: policyWat(PERMIT).replace('(local.set $p (i32.and', '(unreachable) (local.set $p (i32.and'),
    reason: 'trap',
  },
  'h.state': {
    // Counts its calls in a global and in memory; permits only on the first call it sees.
    wat: policyWat(`(global.set $count (i32.add (global.get $count) (i32.const 1)))
      (i32.store (i32.const 8192) (i32.add (i32.load (i32.const 8192)) (i32.const 1)))
      (if (result i32) (i32.and (i32.eq (global.get $count) (i32.const 1)) (i32.eq (i32.load (i32.const 8192)) (i32.const 1)))
        (then ${PERMIT})
        (else (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5))))`),
    reason: 'low-risk',
  },
  'h.state-data': {
    // Its counter starts at 1 from a data segment high up (the post-start memory is not all zeros
    // there): restored from the snapshot, not zero-filled.
    wat: policyWat(
      `(if (result i32) (i32.eq (i32.load (i32.const 8192)) (i32.const 1))
        (then (i32.store (i32.const 8192) (i32.const 2)) ${PERMIT})
        (else (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5))))`,
      '(data (i32.const 8192) "\\01")',
    ),
    reason: 'low-risk',
  },
  'h.state-span': {
    // The same, and a write far above into zeros: one range from the data to the zeros.
    wat: policyWat(
      `(if (result i32) (i32.and (i32.eq (i32.load (i32.const 8192)) (i32.const 1)) (i32.eqz (i32.load (i32.const 12000))))
        (then (i32.store (i32.const 8192) (i32.const 2)) (i32.store (i32.const 12000) (i32.const 7)) ${PERMIT})
        (else (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5))))`,
      '(data (i32.const 8192) "\\01")',
    ),
    reason: 'low-risk',
  },
  'h.scribble': {
    // Permits while its gate name reads "h.", then overwrites the request it was given (a string
    // byte and the record's gate pointer): a next request must get fresh bytes, not these.
    wat: policyWat(`(if (result i32) (i32.eq (i32.load16_u (i32.load (local.get $req))) (i32.const 0x2e68))
        (then
          (i32.store8 (i32.load (local.get $req)) (i32.const 88))
          (i32.store (local.get $req) (i32.const 0))
          ${PERMIT})
        (else (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5))))`),
    reason: 'low-risk',
  },
};
/** Permits only when the 512 bytes after its request's last string (no context) are all zero. */
const PEEK = policyWat(`(local $p i32) (local $end i32)
    (local.set $p (i32.add (i32.load offset=40 (local.get $req)) (i32.load offset=44 (local.get $req))))
    (local.set $end (i32.add (local.get $p) (i32.const 512)))
    (block $dirty (loop $l
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return ${PERMIT})))
      (br_if $dirty (i32.load8_u (local.get $p)))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $l)))
    (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5))`);
/** Returns its constant reason "low-risk", after rewriting it in place to "Low-risk" when risk > 0.5. */
const REWRITE = policyWat(`(if (f64.gt (f64.load offset=48 (local.get $req)) (f64.const 0.5))
      (then (i32.store8 (i32.const 26) (i32.const 76))))
    ${PERMIT}`);
/** The same, one aligned word at a time: "low-risk" becomes "loKKKKsk" (bytes 28..31 of its data). */
const REWRITE_WORD = policyWat(`(if (f64.gt (f64.load offset=48 (local.get $req)) (f64.const 0.5))
      (then (i32.store (i32.const 28) (i32.const 0x4b4b4b4b))))
    ${PERMIT}`);
/**
 * Its allocator reads the block it is about to hand out (the gate pointer and the EffectVector's
 * risk of the record the host will write there) and denies when either is not zero: the host must
 * not have written anything of a request, this one's or an earlier one's, before the allocator runs.
 */
const PEEK_ALLOC = policyWat(
  `(if (result i32) (global.get $count)
      (then (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 43) (i32.const 5)))
      (else ${PERMIT}))`,
).replace(
  '(global.set $hp (i32.add (local.get $p) (local.get 3)))',
  `(global.set $count (i32.or (i32.ne (i32.load (local.get $p)) (i32.const 0))
      (i64.ne (i64.load offset=48 (local.get $p)) (i64.const 0))))
    (global.set $hp (i32.add (local.get $p) (local.get 3)))`,
);
const STATEFUL = new Set(['h.state', 'h.state-data', 'h.state-span', 'h.scribble']);

let engine: Engine;
let good: LoadedPolicy;
beforeAll(async () => {
  const policies: LoadedPolicy[] = [];
  for (const [gate, h] of Object.entries(hostile)) {
    const dir = await writePackage(join(root, gate), h.wat, {
      name: gate,
      gates: [gate],
      fuel: h.fuel ?? 100_000,
    });
    policies.push(await loadPolicy(dir, { allowUnsigned: true }));
  }
  const spin = await writePackage(join(root, 'spin'), policyWat('(loop $l (br $l)) (unreachable)'), {
    name: 'spin',
    gates: ['h.timeout'],
    fuel: 0x7fffffff,
  });
  policies.push(await loadPolicy(spin, { allowUnsigned: true }));
  const peek = await writePackage(join(root, 'peek'), PEEK, { name: 'peek', gates: ['h.peek'] });
  policies.push(await loadPolicy(peek, { allowUnsigned: true }));
  const rewrite = await writePackage(join(root, 'rewrite'), REWRITE, {
    name: 'rewrite',
    gates: ['h.rewrite'],
  });
  policies.push(await loadPolicy(rewrite, { allowUnsigned: true }));
  const rewriteWord = await writePackage(join(root, 'rewrite-word'), REWRITE_WORD, {
    name: 'rewrite-word',
    gates: ['h.rewrite-word'],
  });
  policies.push(await loadPolicy(rewriteWord, { allowUnsigned: true }));
  const peekAlloc = await writePackage(join(root, 'peek-alloc'), PEEK_ALLOC, {
    name: 'peek-alloc',
    gates: ['h.peek-alloc'],
  });
  policies.push(await loadPolicy(peekAlloc, { allowUnsigned: true }));
  good = await loadPolicy(
    await writePackage(join(root, 'good'), policyWat(THRESHOLD_BODY), { gates: ['tool.execute'] }),
    {
      allowUnsigned: true,
    },
  );
  policies.push(good);
  engine = await Engine.create({ policies, threads: 2, timeoutMs: 300 });
}, 60_000);
afterAll(async () => engine?.close());

describe('hostile modules are contained', () => {
  for (const [gate, h] of Object.entries(hostile)) {
    test(`${gate} -> ${h.reason}, in-process and in the pool, and the pool answers next`, async () => {
      const req = { ...baseRequest, gate };
      const sync = engine.evaluateSync(req);
      expect(sync.reason).toBe(h.reason);
      if (!STATEFUL.has(gate)) expect(sync.verdict).toBe('deny');
      const pooled = await engine.evaluate(req);
      expect(pooled).toEqual(sync);
      // Twice more: no state carried over (h.state permits only on a first call).
      expect(engine.evaluateSync(req)).toEqual(sync);
      expect(await engine.evaluate(req)).toEqual(sync);
      const next = await engine.evaluate({ ...baseRequest, effect: { risk: 0.9 } });
      expect(next).toMatchObject({ verdict: 'deny', reason: 'high-risk' });
    });
  }

  test('a request leaves nothing behind for the next: a shorter one finds zeros past its end', async () => {
    // The engine keeps the last request's bytes in memory to reuse them for an identical next one;
    // a different request must not see any of them (here: 300 bytes of a longer actor).
    const long = { ...baseRequest, gate: 'h.peek', actor: 'x'.repeat(300), context: {} };
    const short = { ...long, actor: 'y' };
    const sync = [long, short, long, long, short, short].map((r) => engine.evaluateSync(r));
    for (const d of sync) expect(d).toMatchObject({ verdict: 'permit', reason: 'low-risk' });
    const pooled = await engine.evaluateBatch([long, short, long, long, short, short]);
    expect(pooled).toEqual(sync);
  });

  test('the allocator finds the block it hands out as the snapshot left it, request after request', async () => {
    // The same strings again (the engine reuses their encoding), another EffectVector, then another
    // request: the allocator, which runs before the host writes the request, never sees a byte of it.
    const at = (risk: number, actor = 'agent-7') => ({
      ...baseRequest,
      gate: 'h.peek-alloc',
      actor,
      effect: { risk },
    });
    const reqs = [at(0.9), at(0.1), at(0.9), at(0.9), at(0.2, 'other'), at(0.2, 'other'), at(0.9)];
    const sync = reqs.map((r) => engine.evaluateSync(r));
    for (const d of sync) expect(d).toMatchObject({ verdict: 'permit', reason: 'low-risk', rule: 'permit' });
    expect(await engine.evaluateBatch(reqs)).toEqual(sync);
    expect(await engine.evaluateBatch(reqs.slice(2))).toEqual(sync.slice(2));
  });

  test('a policy rewriting its constant reason in place reports the bytes it wrote, then the original again', async () => {
    // Strings read from memory the call did not write are reused without reading them again; one the
    // call wrote into must be read afresh.
    const reqs = [0.1, 0.9, 0.1, 0.9, 0.9, 0.1].map((risk) => ({
      ...baseRequest,
      gate: 'h.rewrite',
      effect: { risk },
    }));
    const want = ['low-risk', 'Low-risk', 'low-risk', 'Low-risk', 'Low-risk', 'low-risk'];
    expect(reqs.map((r) => engine.evaluateSync(r).reason)).toEqual(want);
    expect((await engine.evaluateBatch(reqs)).map((d) => d.reason)).toEqual(want);
    // A whole aligned word of its static data: restored from the snapshot word by word.
    const words = reqs.map((r) => ({ ...r, gate: 'h.rewrite-word' }));
    const wantWords = want.map((w) => (w === 'Low-risk' ? 'loKKKKsk' : w));
    expect(words.map((r) => engine.evaluateSync(r).reason)).toEqual(wantWords);
    expect((await engine.evaluateBatch(words)).map((d) => d.reason)).toEqual(wantWords);
  });

  test('without store tracking (whole-memory restore) a stateful policy is as isolated, same fuel', () => {
    const m = binaryen.parseText((hostile['h.state'] as { wat: string }).wat);
    const wasm = m.emitBinary();
    m.dispose();
    const req = { ...baseRequest, gate: 'h.state' };
    const runs = [true, false].map((trackStores) => {
      const i = instrument(wasm, { fuel: 100_000, maxMemoryPages: 4, trackStores });
      expect(i.tracked).toBe(trackStores);
      const rt = new PolicyRuntime({
        module: new WebAssembly.Module(i.wasm),
        fuel: 100_000,
        tracked: i.tracked,
        maxMemoryPages: 4,
      });
      return [rt.evaluate(req), rt.evaluate(req), rt.evaluate(req)];
    });
    expect(runs[0]?.[0]?.verdict).toBe('permit');
    for (const d of [...(runs[0] ?? []), ...(runs[1] ?? [])]) expect(d).toEqual(runs[0]?.[0]);
  });

  test('fuel is reported: exhausted budgets report the whole budget', () => {
    const d = engine.evaluateSync({ ...baseRequest, gate: 'h.loop' });
    expect(d.fuel).toBe(100_000);
    expect(engine.evaluateSync(baseRequest).fuel).toBeGreaterThan(0);
  });

  test('a spinning policy with a huge budget is stopped by the wall-clock backstop; the worker is replaced', async () => {
    const d = await engine.evaluate({ ...baseRequest, gate: 'h.timeout' });
    expect(d).toMatchObject({ verdict: 'deny', reason: 'timeout' });
    const after = await engine.evaluateBatch([baseRequest, { ...baseRequest, effect: { risk: 0.9 } }]);
    expect(after.map((x) => x.verdict)).toEqual(['permit', 'deny']);
  });

  test('malformed requests and unserved gates are denied, not thrown', async () => {
    const bad = { ...baseRequest, actor: 42 } as unknown as typeof baseRequest;
    expect((await engine.evaluate(bad)).reason).toBe('bad_request');
    const shapes: unknown[] = [
      null,
      'tool.execute',
      ...['gate', 'actor', 'role', 'mode', 'posture', 'environment'].flatMap((k) => [
        { ...baseRequest, [k]: undefined },
        { ...baseRequest, [k]: 7 },
      ]),
      { ...baseRequest, effect: null },
      { ...baseRequest, effect: 'high' },
      { ...baseRequest, context: null },
      { ...baseRequest, context: { tool: 3 } },
      { ...baseRequest, context: { a: 'x', b: { nested: 'y' } } },
    ];
    for (const s of shapes) {
      const req = s as typeof baseRequest;
      expect(engine.evaluateSync(req), JSON.stringify(s)).toMatchObject({
        verdict: 'deny',
        reason: 'bad_request',
      });
      expect((await engine.evaluateBatch([req]))[0], JSON.stringify(s)).toMatchObject({
        reason: 'bad_request',
      });
    }
    // Inherited context members are not the request's: ignored as Object.entries ignored them.
    const ctx = Object.create({ inherited: 7 }) as Record<string, string>;
    ctx.tool = 'shell';
    expect(engine.evaluateSync({ ...baseRequest, context: ctx }).reason).not.toBe('bad_request');
    // ... and so does the pool (its encoding is checked in batch.test.ts).
    expect((await engine.evaluate({ ...baseRequest, context: ctx })).reason).not.toBe('bad_request');
    expect(engine.evaluateSync({ ...baseRequest, gate: 'nobody.serves' }).reason).toBe('no_policy');
  });
});

describe('refused at load', () => {
  const core = (wat: string) => {
    const m = binaryen.parseText(wat);
    const b = m.emitBinary();
    m.dispose();
    return b;
  };
  test('a module importing a host function: policy_import', () => {
    const wat = policyWat(PERMIT).replace('(module', '(module (import "env" "now" (func $now (result f64)))');
    expect(() => instrument(core(wat), { fuel: 1000, maxMemoryPages: 4 })).toThrowError(
      expect.objectContaining({ code: 'policy_import' }),
    );
  });
  test('a module without a maximum memory: memory_limit', async () => {
    const dir = await writePackage(
      join(root, 'nomax'),
      policyWat(PERMIT, '', '(memory (export "memory") 1)'),
    );
    const err = await loadPolicy(dir, { allowUnsigned: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).code).toBe('memory_limit');
  });
  test('a module whose maximum exceeds the manifest cap: memory_limit', async () => {
    const dir = await writePackage(
      join(root, 'bigmax'),
      policyWat(PERMIT, '', '(memory (export "memory") 1 100)'),
      {
        maxMemoryPages: 4,
      },
    );
    await expect(loadPolicy(dir, { allowUnsigned: true })).rejects.toMatchObject({ code: 'memory_limit' });
  });
});
