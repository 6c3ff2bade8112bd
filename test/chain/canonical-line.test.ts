// The verify fast path may only ever say "canonical" for a line that IS the canonical text of what it
// parses to: checked on random documents and on every kind of near-canonical mutation.
import { describe, expect, it } from 'vitest';
import { canonicalMembers, withoutMember } from '../../chain/canonical-line.js';
import { canonicalJson } from '../../chain/jcs.js';

let seed = 1234;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};
const chars = [
  'a',
  'Z',
  '0',
  ' ',
  '"',
  '\\',
  '\n',
  '\t',
  '\b',
  '\u0001',
  '\u001f',
  '\u007f',
  'é',
  '€',
  '😀',
  '\u2028',
  '/',
  '{',
  '}',
  ',',
];
const str = () =>
  Array.from({ length: Math.floor(rnd() * 6) }, () => chars[Math.floor(rnd() * chars.length)]).join('');
function value(depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) {
    return [
      null,
      true,
      false,
      str(),
      (rnd() - 0.5) * 10 ** Math.floor(rnd() * 50 - 25),
      Math.floor(rnd() * 1e6),
      0,
      -1.5,
    ][Math.floor(rnd() * 8)];
  }
  if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(rnd() * 5); i > 0; i--) o[str() || 'k'] = value(depth + 1);
  return o;
}

function agrees(line: string): void {
  const m = canonicalMembers(line);
  if (m === undefined) return;
  let parsed: unknown;
  expect(() => {
    parsed = JSON.parse(line);
  }, line).not.toThrow();
  expect(canonicalJson(parsed), line).toBe(line);
}

describe('canonical line scanner', () => {
  it('accepts canonical object lines and cuts members exactly', () => {
    for (let i = 0; i < 3000; i++) {
      const o = { a: value(1), hash: 'h'.repeat(8), m: value(2), z: value(1) };
      const line = canonicalJson(o);
      const m = canonicalMembers(line);
      // Member names with escapes (anywhere) are left to the general path; all else must be read.
      if (m === undefined) {
        expect(line, line).toMatch(/\\/);
        continue;
      }
      const { hash: _h, ...rest } = o;
      expect(withoutMember(line, m!, 'hash')).toBe(canonicalJson(rest));
      const { z: _z, ...noZ } = o;
      expect(withoutMember(line, m!, 'z')).toBe(canonicalJson(noZ));
    }
  });

  it('never calls a non-canonical line canonical', () => {
    const mutations: ((s: string) => string)[] = [
      (s) => s.replace(':', ': '),
      (s) => s.replace(',', ', '),
      (s) => ` ${s}`,
      (s) => s.replace(/e\+/, 'E+'),
      (s) => s.replace(/(\d)\.(\d)/, '$1.$20'),
      (s) => s.replace(/:0([,}])/, ':0.0$1'),
      (s) => s.replace(/:0([,}])/, ':-0$1'),
      (s) => s.replace('/', '\\/'),
      (s) => s.replace('\\u001f', '\\u001F'),
      (s) => s.replace('\\n', '\\u000a'),
      (s) => s.replace('a', '\\u0061'),
      (s) => s.replace('é', '\\u00e9'),
      (s) => s.replace(/"([^"\\]*)":/, '"$1":1,"$1":'),
      (s) => s.replace('😀', '\\ud83d\\ude00'),
      (s) => s.replace(/:(\d+)([,}])/, ':$1.0$2'),
      (s) => s.replace(/:(\d{22,})/, ':1e+21'),
      (s) => s.replace('true', 'True'),
      (s) => `${s}\n`,
    ];
    for (let i = 0; i < 3000; i++) {
      const line = canonicalJson({ a: value(0), b: value(1), c: str(), d: 1e30, e: 0, f: '😀é/\u001f\n' });
      agrees(line);
      for (const mutate of mutations) agrees(mutate(line));
    }
    // Member order matters.
    expect(canonicalMembers('{"b":1,"a":2}')).toBeUndefined();
    expect(canonicalMembers('{"a":1,"a":2}')).toBeUndefined();
    expect(canonicalMembers('{"a":"\ud800"}')).toBeUndefined();
    expect(canonicalMembers('{"a":1}x')).toBeUndefined();
    expect(canonicalMembers('[1]')).toBeUndefined();
  });
});
