// A seeded generator of random JSON documents, for the differential tests of canonical JSON
// (test/chain/jcs.test.ts, test/chain/canonical-line.test.ts): strings mix the characters JSON
// must escape, non-ASCII, astral characters and structural characters; numbers span many exponents.
const CHARS = [
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
  '日',
  '/',
  '{',
  '}',
  ',',
];

export function randomJson(seed: number): {
  rnd: () => number;
  str: () => string;
  value: (depth?: number) => unknown;
} {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
  const str = () =>
    Array.from({ length: Math.floor(rnd() * 8) }, () => CHARS[Math.floor(rnd() * CHARS.length)]).join('');
  const value = (depth = 0): unknown => {
    const r = rnd();
    if (depth > 3 || r < 0.3) {
      const leaves = [
        null,
        true,
        false,
        str(),
        (rnd() - 0.5) * 10 ** Math.floor(rnd() * 50 - 25),
        Math.floor(rnd() * 1e6),
        0,
        -1.5,
      ];
      return leaves[Math.floor(rnd() * leaves.length)];
    }
    if (r < 0.6) return Array.from({ length: Math.floor(rnd() * 4) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(rnd() * 5); i > 0; i--) o[str() || 'k'] = value(depth + 1);
    return o;
  };
  return { rnd, str, value };
}
