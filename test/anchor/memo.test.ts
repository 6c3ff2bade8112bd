import { describe, expect, it } from 'vitest';
import { formatMemo, memoBytes, parseMemo, parseMemoBytes } from '../../anchor/index.js';

const m = { origin: 'gavel.local/0123456789abcdef', size: 1234, root: 'a'.repeat(64), head: 'b'.repeat(64) };

describe('anchor memo', () => {
  it('round-trips and stays short ASCII', () => {
    const text = formatMemo(m);
    expect(text).toBe(`gavel:v1:gavel.local/0123456789abcdef:1234:${'a'.repeat(64)}:${'b'.repeat(64)}`);
    expect(parseMemo(text)).toEqual(m);
    expect(parseMemoBytes(memoBytes(m))).toEqual(m);
    expect(text.length).toBeLessThan(200);
    expect(parseMemo(formatMemo({ ...m, size: 0 })).size).toBe(0);
  });

  it('refuses everything else', () => {
    const good = formatMemo(m);
    const bad = [
      '',
      `gavel:v2:${good.slice(9)}`,
      good.replace('gavel:v1:', 'GAVEL:v1:'),
      `${good}:extra`,
      good.replace(':1234:', ':01234:'),
      good.replace(':1234:', ':-1:'),
      good.replace(':1234:', ':1.5:'),
      good.replace(':1234:', ':99999999999999999:'),
      good.replace('a'.repeat(64), 'A'.repeat(64)),
      good.replace('a'.repeat(64), 'a'.repeat(63)),
      good.replace('b'.repeat(64), 'g'.repeat(64)),
      good.replace('gavel.local/', 'gavel local/'),
      good.replace('gavel.local/0123456789abcdef', 'http://x'),
      ` ${good}`,
    ];
    for (const t of bad) expect(() => parseMemo(t), t).toThrow(/not a gavel v1 anchor memo/);
    expect(() => parseMemoBytes(new Uint8Array([0xff, 0xfe]))).toThrow(/not UTF-8/);
    expect(() => parseMemoBytes(new TextEncoder().encode(`${good}\n`))).toThrow(/printable ASCII/);
    expect(() => formatMemo({ ...m, root: 'xyz' })).toThrow(/root/);
    expect(() => formatMemo({ ...m, origin: 'a:b' })).toThrow(/origin/);
  });
});
