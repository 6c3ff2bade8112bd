// The verify fast path may only ever say "canonical" for a line that IS the canonical text of what it
// parses to: checked on random documents and on every kind of near-canonical mutation.
import { describe, expect, it } from 'vitest';
import { canonicalMembers, withoutMember } from '../../chain/canonical-line.js';
import { canonicalJson } from '../../chain/jcs.js';
import { randomJson } from '../helpers/random-json.js';

const { str, value } = randomJson(1234);

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
