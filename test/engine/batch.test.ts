// The pool's batch path gives exactly the decisions the in-process path gives: reasons built per
// call travel as bytes of one batch text, constants and non-ASCII strings by index, and requests the
// engine refuses keep their places among those the workers decide.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { encodeBatch, INTS, ResultsWriter, resultString, utf8All } from '../../engine/batch.js';
import { Engine, type GateRequest, loadPolicy } from '../../engine/index.js';
import { REPO } from '../helpers/run.js';
import { baseRequest, policyWat, writePackage } from './fixtures.js';

/**
 * Builds its reason during the call, by risk: below 0.3 "é-ok" (UTF-8, at 1000); below 0.6 "ok" at
 * 1008 with a non-ASCII byte right after it (in the same word); else "abc" at 1013 (not 4-aligned).
 */
const WRITER = policyWat(`(local $r f64)
    (local.set $r (f64.load offset=48 (local.get $req)))
    (if (result i32) (f64.lt (local.get $r) (f64.const 0.3))
      (then
        (i32.store (i32.const 1000) (i32.const 0x6f2da9c3))
        (i32.store8 (i32.const 1004) (i32.const 0x6b))
        (call $out (i32.const 0) (i32.const 1000) (i32.const 5) (i32.const 16) (i32.const 6)))
      (else (if (result i32) (f64.lt (local.get $r) (f64.const 0.6))
        (then
          (i32.store (i32.const 1008) (i32.const 0x00ff6b6f))
          (call $out (i32.const 0) (i32.const 1008) (i32.const 2) (i32.const 16) (i32.const 6)))
        (else
          (i32.store8 (i32.const 1013) (i32.const 0x61))
          (i32.store8 (i32.const 1014) (i32.const 0x62))
          (i32.store8 (i32.const 1015) (i32.const 0x63))
          (call $out (i32.const 0) (i32.const 1013) (i32.const 3) (i32.const 16) (i32.const 6))))))`);

/** "abcd" then "hi" (risk over 0.5) or "lo", at an aligned place: strings alike but for the last word. */
const TAIL = policyWat(`(local $r f64)
    (local.set $r (f64.load offset=48 (local.get $req)))
    (i32.store (i32.const 1024) (i32.const 0x64636261))
    (i32.store16 (i32.const 1028)
      (select (i32.const 0x6968) (i32.const 0x6f6c) (f64.gt (local.get $r) (f64.const 0.5))))
    (call $out (i32.const 0) (i32.const 1024) (i32.const 6) (i32.const 16) (i32.const 6))`);

let engine: Engine;
beforeAll(async () => {
  const root = mkdtempSync(join(tmpdir(), 'gavel-batch-'));
  const writer = await writePackage(join(root, 'writer'), WRITER, { name: 'writer', gates: ['x.writer'] });
  const tail = await writePackage(join(root, 'tail'), TAIL, { name: 'tail', gates: ['x.tail'] });
  engine = await Engine.create({
    policies: [
      await loadPolicy(join(REPO, 'policies', 'build', 'constitution'), { allowUnsigned: true }),
      await loadPolicy(writer, { allowUnsigned: true }),
      await loadPolicy(tail, { allowUnsigned: true }),
    ],
    threads: 2,
  });
}, 60_000);
afterAll(async () => engine?.close());

function mixed(n: number): GateRequest[] {
  const constitution = {
    ...baseRequest,
    gate: 'tool.execute',
    mode: 'high-integrity',
    posture: 'defense',
    environment: 'production',
  };
  return Array.from({ length: n }, (_, i) => {
    switch (i % 9) {
      case 0:
        return { ...baseRequest, gate: 'x.writer', effect: { risk: (i % 10) / 10 } };
      case 1:
        return { ...constitution, actor: 42 } as unknown as GateRequest; // bad_request
      case 2:
        return { ...constitution, gate: 'nobody.serves' }; // no_policy
      case 3:
        return { ...constitution, posture: 'offense', effect: { risk: (i % 100) / 100 } };
      case 4:
        // fields that change from one request to the next, one of them empty
        return { ...constitution, role: `r${i % 3}`, environment: i % 2 ? '' : 'staging' };
      case 5:
        // bad_request: a context value that is not a string, after one that is
        return { ...constitution, context: { tool: 'shell', n: 7 } } as unknown as GateRequest;
      default:
        // risk over the production threshold gives a reason with both numbers in it
        return { ...constitution, effect: { risk: (i % 100) / 100, privacy: (i % 13) / 13 } };
    }
  });
}

test('a mixed batch over both workers equals the in-process decisions, place for place', async () => {
  const reqs = mixed(1001);
  const sync = reqs.map((r) => engine.evaluateSync(r));
  const pooled = await engine.evaluateBatch(reqs);
  expect(pooled).toEqual(sync);
  // What the batch had to carry: reasons built per call (aligned or not, ASCII or not, next to
  // bytes that are not theirs), refused requests.
  const reasons = new Set(pooled.map((d) => d.reason));
  expect([...reasons].some((r) => / over its threshold /.test(r))).toBe(true);
  for (const r of ['é-ok', 'ok', 'abc']) expect(reasons.has(r)).toBe(true);
  expect(pooled[1]).toMatchObject({ verdict: 'deny', reason: 'bad_request' });
  expect(pooled[2]).toMatchObject({ verdict: 'deny', reason: 'no_policy' });
  expect(pooled[5]).toMatchObject({ verdict: 'deny', reason: 'bad_request' });
  // Twice more, and as single requests: nothing of one batch leaks into the next.
  expect(await engine.evaluateBatch(reqs)).toEqual(sync);
  for (const i of [0, 1, 4, 500, 1000])
    expect(await engine.evaluate(reqs[i] as GateRequest)).toEqual(sync[i]);
});

test('the encoding leaves refused requests to the engine and inherited context members out', () => {
  const ctx = Object.create({ inherited: 'x' }) as Record<string, string>;
  ctx.tool = 'shell';
  const reqs = [
    { ...baseRequest, context: ctx },
    null,
    { ...baseRequest, context: {} },
    { ...baseRequest, context: { a: 'x', b: 7 } },
    { ...baseRequest, context: { c: 'y' } },
  ];
  const policyOf = new Int32Array(5);
  const enc = encodeBatch(reqs, 0, 5, (q) => (q === null ? -1 : 0), policyOf);
  expect([...policyOf]).toEqual([0, -1, 0, -1, 0]);
  expect(enc.ints[INTS]).toBe(-1);
  expect(enc.ints[INTS - 1]).toBe(1);
  expect(enc.ints[3 * INTS - 1]).toBe(0);
  // A context value that is not a string refuses its request, whose members are not kept: the next
  // request's context starts where that one's did.
  expect(enc.ints[3 * INTS]).toBe(-1);
  expect(enc.ints[4 * INTS + 7]).toBe(enc.ints[3 * INTS + 7]);
  expect([...enc.ctx.subarray(enc.ints[4 * INTS + 7] as number)].map((i) => enc.strings[i])).toEqual([
    'c',
    'y',
  ]);
  expect([...enc.ctx].map((i) => enc.strings[i])).toEqual(['tool', 'shell', 'c', 'y']);
});

test('the encoding keeps every field of every request, however they change from one to the next', () => {
  const reqs: GateRequest[] = Array.from({ length: 50 }, (_, i) => ({
    ...baseRequest,
    gate: i % 7 === 0 ? 'tool.sign' : 'tool.execute',
    actor: `agent-${i % 3}`,
    role: i % 2 ? '' : 'operator',
    mode: i % 5 === 0 ? 'creative' : 'research',
    posture: i % 4 === 0 ? 'scout' : 'defense',
    environment: i % 6 === 0 ? 'production' : '',
    context: (i % 2 ? { tool: `t${i % 4}` } : {}) as Record<string, string>,
  }));
  const enc = encodeBatch(reqs, 0, reqs.length, () => 0, new Int32Array(reqs.length));
  const back = reqs.map((_, r) => {
    const o = r * INTS;
    const field = (k: number) => enc.strings[enc.ints[o + k] as number];
    const context: Record<string, string> = {};
    const off = enc.ints[o + 7] as number;
    for (let c = 0; c < (enc.ints[o + 8] as number); c++)
      context[enc.strings[enc.ctx[off + 2 * c] as number] as string] = enc.strings[
        enc.ctx[off + 2 * c + 1] as number
      ] as string;
    return {
      gate: field(1),
      actor: field(2),
      role: field(3),
      mode: field(4),
      posture: field(5),
      environment: field(6),
      context,
    };
  });
  expect(back).toEqual(reqs.map(({ effect: _e, ...rest }) => rest));
});

test('results: a string the text already holds is given by its place; everything else is copied', () => {
  // A memory as a wasm memory is (a multiple of 4 bytes), strings written at chosen places.
  const mem = new Uint8Array(4096);
  const mem32 = new Uint32Array(mem.buffer);
  const put = (at: number, s: string | number[]) => {
    const bytes = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s);
    mem.set(bytes, at);
    return bytes.length;
  };
  const w = new ResultsWriter(16);
  const reason = 'tool.execute: risk 0.42 over its threshold 0.35';
  // The same reason at two aligned places, with different bytes after each (past its length).
  put(100, reason);
  put(100 + reason.length, 'XYZ');
  put(400, reason);
  put(400 + reason.length, '\u00ff\u00fe\u00fd');
  expect(w.ascii(0, 0, mem, mem32, 100, reason.length)).toBe(true);
  expect(w.ascii(1, 0, mem, mem32, 400, reason.length)).toBe(true);
  // Same length, one byte different (in the first word, which the lookup does not hash).
  put(700, `T${reason.slice(1)}`);
  expect(w.ascii(2, 0, mem, mem32, 700, reason.length)).toBe(true);
  // Not aligned, and then the same bytes aligned: found either way.
  put(1001, 'abcdefg');
  put(1200, 'abcdefg');
  expect(w.ascii(3, 0, mem, mem32, 1001, 7)).toBe(true);
  expect(w.ascii(4, 0, mem, mem32, 1200, 7)).toBe(true);
  // A prefix of a string already there is its own string.
  expect(w.ascii(5, 1, mem, mem32, 1200, 3)).toBe(true);
  // Empty; one to eight bytes (every padding length); non-ASCII (refused, nothing kept).
  expect(w.ascii(6, 0, mem, mem32, 1500, 0)).toBe(true);
  for (let n = 1; n <= 8; n++) {
    put(1600 + 16 * n, 'abcdefgh'.slice(0, n));
    expect(w.ascii(6 + n, 1, mem, mem32, 1600 + 16 * n, n)).toBe(true);
  }
  put(2000, [0x61, 0xc3, 0xa9, 0x62]);
  expect(w.ascii(15, 0, mem, mem32, 2000, 4)).toBe(false);
  expect(w.ascii(15, 0, mem, mem32, 2001, 2)).toBe(false);
  const res = w.finish();
  const got = (k: number, part: number) => resultString(res, k, part);
  expect([got(0, 0), got(1, 0), got(2, 0)]).toEqual([reason, reason, `T${reason.slice(1)}`]);
  expect([got(3, 0), got(4, 0), got(5, 1), got(6, 0)]).toEqual(['abcdefg', 'abcdefg', 'abc', '']);
  for (let n = 1; n <= 8; n++) expect(got(6 + n, 1)).toBe('abcdefgh'.slice(0, n));
  // Repeats cost nothing in the text: the reason and 'abcdefg' are in it once each.
  expect(res.refs[0]).toBe(res.refs[2]);
  expect(res.refs[8]).toBe(res.refs[6]);
  expect(res.text.split(reason).length - 1).toBe(1);
  expect(res.text.split('abcdefg\u0000').length - 1).toBe(1); // (its padding byte: not 'abcdefgh')

  // Many reasons that differ only in the middle, each twice: the text holds about one copy of each
  // (a direct-mapped cache: two that share a slot are copied again; two copies of all is 9,600).
  const many = new ResultsWriter(200);
  const texts = Array.from(
    { length: 100 },
    (_, i) => `tool.execute: risk 0.${String(i).padStart(2, '0')} over its threshold 0.35`,
  );
  for (let k = 0; k < 200; k++) {
    const len = put(3000, texts[k % 100] as string);
    expect(many.ascii(k, 0, mem, mem32, 3000, len)).toBe(true);
  }
  const m = many.finish();
  for (let k = 0; k < 200; k++) expect(resultString(m, k, 0)).toBe(texts[k % 100]);
  expect(m.text.length).toBeLessThan(1.2 * 100 * 48);
});

test("a chunk's strings encode as TextEncoder.encode would, ASCII or not, in any order", () => {
  const enc = new TextEncoder();
  const kinds = [
    'agent-7',
    '',
    '\u00e9t\u00e9', // two bytes a unit
    '\u20ac\u20ac\u20ac', // three bytes a unit: the most a buffer sized for ASCII must grow by
    'x\u{1f600}y', // a surrogate pair: four bytes for two units
    'a\ud800b\udc00', // lone surrogates: U+FFFD each
    'ascii after '.repeat(20),
  ];
  // Every order of kinds that matters: non-ASCII first, last, in runs, between long ASCII strings.
  const strings: string[] = [];
  for (let i = 0; i < 400; i++) strings.push(kinds[(i * 7 + (i >> 3)) % kinds.length] as string);
  strings.push('\u20ac'.repeat(50), 'tail');
  const got = utf8All(strings);
  expect(got.length).toBe(strings.length);
  for (let i = 0; i < strings.length; i++)
    expect([...(got[i] as Uint8Array)]).toEqual([...enc.encode(strings[i])]);
  expect(utf8All([])).toEqual([]);
});

test('a reason at the same place and length as the last one, different only in its last word, is read again', async () => {
  const risks = [0.9, 0.1, 0.9, 0.1, 0.1, 0.9];
  const reqs = risks.map((risk) => ({ ...baseRequest, gate: 'x.tail', effect: { risk } }));
  const want = risks.map((r) => (r > 0.5 ? 'abcdhi' : 'abcdlo'));
  expect(reqs.map((r) => engine.evaluateSync(r).reason)).toEqual(want);
  expect((await engine.evaluateBatch(reqs)).map((d) => d.reason)).toEqual(want);
});
