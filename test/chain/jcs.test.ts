// RFC 8785 conformance of chain/jcs.ts: the RFC's own examples (§3.2.2, §3.2.3, Appendix B) and a
// differential run against the `canonicalize` package (by an RFC 8785 author) on random documents.
import canonicalizeModule from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { type ByteSink, canonicalBytes, canonicalJson, SINK_FULL, writeCanonical } from '../../chain/jcs.js';
import { randomJson } from '../helpers/random-json.js';

// canonicalize ships CommonJS (`module.exports = fn`) with an ESM-style default in its typings.
type Canonicalize = (input: unknown) => string | undefined;
const canonicalize: Canonicalize =
  (canonicalizeModule as unknown as { default?: Canonicalize }).default ??
  (canonicalizeModule as unknown as Canonicalize);

const fromBits = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('RFC 8785 canonical JSON', () => {
  it('serializes the §3.2.2 example exactly', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], ' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units (§3.2.3)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const keys = Object.keys(JSON.parse(canonicalJson(input)) as object);
    // JSON.parse reorders the integer-like "1"; compare the text order instead.
    const text = canonicalJson(input);
    const order = ['\\r', '1', '\u0080', 'ö', '€', '😀', '\ufb33'].map((k) => text.indexOf(`"${k}"`));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(keys).toHaveLength(7);
  });

  it('formats the Appendix B numbers', () => {
    const table: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [bits, want] of table) expect(canonicalJson(fromBits(bits)), bits).toBe(want);
  });

  it('refuses what has no I-JSON form: NaN, infinities, lone surrogates, BigInt', () => {
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      { a: Number.NEGATIVE_INFINITY },
      'x\ud800y',
      { '\udc00': 1 },
      1n,
    ]) {
      expect(() => canonicalJson(bad)).toThrow(/cannot canonicalize/);
    }
  });

  it('agrees with the canonicalize package on 5,000 random documents', () => {
    const { value } = randomJson(42);
    for (let i = 0; i < 5000; i++) {
      const v = value(0);
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  it('objects that share a first member name but not their shape are each written in their own order', () => {
    // Member plans are cached by the first name: the same first name with other names, other orders,
    // other counts, skipped (undefined) members and index-like names must never reuse a wrong plan.
    const { rnd, value } = randomJson(7);
    const names = ['a', 'b', 'z', '10', '9', 'é', 'A', 'aa'];
    for (let i = 0; i < 3000; i++) {
      const o: Record<string, unknown> = { first: 1 };
      for (const n of names) if (rnd() < 0.5) o[n] = rnd() < 0.1 ? undefined : value(2);
      expect(canonicalJson(o)).toBe(canonicalize(o));
      expect(canonicalJson([o, { ...o }, o])).toBe(canonicalize([o, { ...o }, o]));
    }
    const toJson = { first: 1, toJSON: () => ({ z: 1, first: 2 }) };
    expect(canonicalJson({ x: toJson })).toBe('{"x":{"first":2,"z":1}}');
  });

  describe('written as bytes (writeCanonical)', () => {
    const utf8 = (v: unknown) => Buffer.from(canonicalJson(v), 'utf8');
    const long = (rnd: () => number, str: () => string) =>
      Array.from({ length: 10 + Math.floor(rnd() * 40) }, () => (rnd() < 0.7 ? 'plain text ' : str())).join(
        '',
      );

    it('is the UTF-8 of canonicalJson on the RFC examples, random documents and long strings', () => {
      const { rnd, str, value } = randomJson(99);
      const docs: unknown[] = [
        JSON.parse(
          '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 1e-27], "s": "\\u20ac$\\u000F\\u000aA"}',
        ),
        { '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4, '\ud83d\ude00': 5, '\u0080': 6, ö: 7, '': 8 },
        {
          x: { first: 1, toJSON: () => ({ z: 1, first: 2 }) },
          u: undefined,
          f: () => 1,
          a: [undefined, () => 1],
        },
        -0,
        'x'.repeat(65),
        'é'.repeat(200),
        `${'a'.repeat(70)}\u007f${'b'.repeat(3)}`,
        `${'a'.repeat(30)}\u007f😀\u2028"\\\n`,
      ];
      for (let i = 0; i < 5000; i++) docs.push(value(0));
      for (let i = 0; i < 500; i++)
        docs.push({ k: long(rnd, str), l: [long(rnd, str), str()], [long(rnd, str)]: 1 });
      for (const v of docs) expect(canonicalBytes(v).equals(utf8(v)), canonicalJson(v)).toBe(true);
    });

    it('refuses what canonicalJson refuses', () => {
      for (const bad of [
        Number.NaN,
        { a: Number.NEGATIVE_INFINITY },
        'x\ud800y',
        `${'a'.repeat(80)}\udc00`,
        { '\udc00': 1 },
        [1n],
        undefined,
      ]) {
        expect(() => canonicalBytes(bad)).toThrow(/cannot canonicalize/);
      }
    });

    it('never writes past a full buffer: it throws SINK_FULL, or the bytes are complete', () => {
      const { rnd, str, value } = randomJson(5);
      for (let i = 0; i < 300; i++) {
        const v = i % 3 === 0 ? { s: long(rnd, str), v: value(0) } : value(0);
        const want = utf8(v);
        for (let size = 0; size <= want.length + 2; size += 1 + Math.floor(want.length / 40)) {
          const sk: ByteSink = { buf: Buffer.alloc(size), pos: 0 };
          let full = false;
          try {
            writeCanonical(sk, v);
          } catch (err) {
            if (err !== SINK_FULL) throw err;
            full = true;
          }
          if (!full) expect(sk.buf.subarray(0, sk.pos).equals(want)).toBe(true);
          if (size < want.length) expect(full).toBe(true);
        }
      }
    });
  });
});
