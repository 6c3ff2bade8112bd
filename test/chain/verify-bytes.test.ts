// Verify reads native lines straight from their bytes (chain/canonical-bytes.ts, ByteLines in
// verify-chunk.ts) and must reach exactly the verdict of the text path on every line: checked on a
// real sealed ledger under thousands of random edits (bytes flipped, members changed and re-hashed,
// seals reshaped, non-canonical spellings, invalid UTF-8), and the byte scanner against the text
// scanner on random documents. The HMAC with a prepared key block is checked against node's createHmac.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalObjectBytes, newTopSpans, TOP } from '../../chain/canonical-bytes.js';
import { canonicalMembers } from '../../chain/canonical-line.js';
import { canonicalForms } from '../../chain/entry.js';
import { HmacSha256 } from '../../chain/hash.js';
import { canonicalJson, Ledger, sha256Hex } from '../../chain/index.js';
import { EpochKeys, initialKey } from '../../chain/seal.js';
import { checkChunk } from '../../chain/verify-chunk.js';
import { randomJson } from '../helpers/random-json.js';
import { tempDir } from '../helpers/run.js';

const SECRET = 'operator secret for byte-path tests';
let t: ReturnType<typeof tempDir>;
let lines: string[];

beforeAll(async () => {
  t = tempDir('verify-bytes');
  const file = path.join(t.dir, 'l.jsonl');
  const l = await Ledger.open(file, { secret: SECRET, sealEpochEntries: 5 });
  for (let i = 0; i < 14; i++) {
    await l.append({
      kind: i % 4 === 0 ? 'gate.decision' : 'test.event',
      agent: `agent-${i % 3}`,
      detail: i % 2 === 0 ? `entry ${i} — naïve 😀 "q" \t \\ \u0001` : `plain ${i}`,
      payload: { i, ratio: i / 8, big: 2 ** 60, neg: -i, nested: { a: [1, 'x', null, true] } },
    });
  }
  await l.close();
  lines = readFileSync(file, 'utf8').trim().split('\n');
});
afterAll(() => t.cleanup());

const enc = (ls: string[]) => new Uint8Array(Buffer.from(`${ls.join('\n')}\n`, 'utf8'));

function bothPaths(bytes: Uint8Array, secret?: string) {
  const o = { wantHashes: true, ...(secret ? { secret } : {}) };
  const fast = checkChunk(0, bytes, o);
  const text = checkChunk(0, bytes, { ...o, textOnly: true });
  expect(fast).toEqual(text);
  return fast;
}

type E = Record<string, unknown>;
function rehash(e: E): string {
  const { hash: _h, ...rest } = e;
  return canonicalJson({ ...e, hash: sha256Hex(canonicalJson(rest)) });
}

describe('verify byte path', () => {
  it('reads the untouched ledger (epoch steps included) as the text path does', () => {
    const r = bothPaths(enc(lines), SECRET);
    expect(r.failure).toBeUndefined();
    expect(r.keyedChecks).toBe(lines.length);
    expect(lines.some((l) => l.includes('"kind":"seal.epoch"'))).toBe(true);
  });

  it('agrees with the text path under random edits, with and without the secret', () => {
    const { rnd, str, value } = randomJson(77);
    const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)] as T;
    const edits: ((l: string) => string | Uint8Array)[] = [
      (l) => {
        const b = Buffer.from(l, 'utf8');
        b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        return new Uint8Array(b);
      },
      (l) =>
        l.replace(
          /"seq":(\d+)/,
          (_m, d) => `"seq":${pick([`${d}.0`, `-${d}`, `${Number(d) + 1}`, `"${d}"`, '1e+21'])}`,
        ),
      (l) =>
        rehash({
          ...JSON.parse(l),
          [pick(['detail', 'agent', 'kind', 'previous_hash', 'prev_hash', 'seq', 'payload', 'seal'])]:
            value(),
        }),
      (l) => {
        const e = JSON.parse(l) as E;
        const seal = e.seal as E;
        const shapes: unknown[] = [
          { epoch: seal.epoch, mac: (seal.mac as string).toUpperCase() },
          { epoch: -1, mac: seal.mac },
          { epoch: 1.5, mac: seal.mac },
          { epoch: seal.epoch, mac: seal.mac, x: 1 },
          { epoch: seal.epoch, mac: (seal.mac as string).slice(1) },
          { epoch: (seal.epoch as number) + 1, mac: seal.mac },
          { epoch: seal.epoch },
          null,
          'seal',
        ];
        return rehash({ ...e, seal: pick(shapes) });
      },
      (l) =>
        rehash({
          ...JSON.parse(l),
          prev_hash: pick(['', 'x', (JSON.parse(l) as E).previous_hash]),
          previous_hash: pick(['', undefined, (JSON.parse(l) as E).previous_hash]),
        }),
      (l) => l.replace('"hash":"', pick(['"hash": "', '"hash":"\\u0030', '"hash":"\\n'])),
      (l) => l.replace(',"kind":', pick([', "kind":', ',"kind" :'])),
      (l) => `${l}\r`,
      (l) => ` ${l}`,
      (l) => l.replace(/"detail":"[^"]*"/, `"detail":${JSON.stringify(str())}`),
      (l) =>
        rehash({
          ...JSON.parse(l),
          kind: 'seal.epoch',
          payload: pick([{ epoch: 1 }, { epoch: 2 }, 'x', null, { epoch: '1' }]),
        }),
      (l) => rehash({ ...JSON.parse(l), é: 1, '\\': 2 }),
      (l) => {
        // An epoch step claimed by an entry that is (or is not) a seal.epoch entry.
        const e = JSON.parse(l) as E;
        const seal = e.seal as { epoch: number; mac: string };
        const epoch = seal.epoch + 1;
        return rehash({
          ...e,
          kind: pick(['seal.epoch', 'seal.epochs', 'test.event']),
          payload: pick([{ epoch }, { epoch: seal.epoch }, {}]),
          seal: { epoch, mac: seal.mac },
        });
      },
      (l) => new Uint8Array(Buffer.concat([Buffer.from(l), Buffer.from([0xed, 0xa0, 0x80])])),
      () => '',
      () => '   ',
    ];
    for (let round = 0; round < 1500; round++) {
      const ls: (string | Uint8Array)[] = [...lines];
      for (let k = Math.floor(rnd() * 3) + 1; k > 0; k--) {
        const i = Math.floor(rnd() * ls.length);
        const l = ls[i];
        if (typeof l !== 'string' || !l.startsWith('{')) continue;
        try {
          ls[i] = pick(edits)(l);
        } catch {
          // an edit that does not apply to this line (already edited out of JSON)
        }
      }
      const bytes = Buffer.concat(ls.map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')])));
      bothPaths(new Uint8Array(bytes), rnd() < 0.5 ? SECRET : undefined);
    }
  });

  it('the byte scanner calls a line canonical only when the text scanner does, with the same members', () => {
    const { value, str } = randomJson(4321);
    const top = newTopSpans();
    let accepted = 0;
    for (let i = 0; i < 4000; i++) {
      const o: E = {
        a: value(1),
        hash: str(),
        kind: value(0),
        payload: value(2),
        seal: value(1),
        seq: value(0),
      };
      let line = canonicalJson(o);
      if (i % 3 === 1) line = line.replace(/(\d)([,}\]])/, '$1.0$2');
      if (i % 3 === 2) line = line.replace(/"([^"\\]*)":/, '"$1" :');
      const b = Buffer.from(line, 'utf8');
      const byBytes = canonicalObjectBytes(b, 0, b.length, top);
      const byText = canonicalMembers(line);
      // Completeness: every ASCII line the text scanner reads, the byte scanner reads too.
      if (byText !== undefined && /^[\x20-\x7e]*$/.test(line)) expect(byBytes, line).toBe(true);
      if (!byBytes) continue;
      accepted++;
      expect(byText, line).toBeDefined();
      for (const name of ['hash', 'kind', 'payload', 'seal', 'seq'] as const) {
        const m = byText?.get(name);
        const at = TOP[name];
        const text = b.toString('utf8', top[at + 1], top[at + 2]);
        expect(text).toBe(m === undefined ? '' : line.slice(m.valueStart, m.valueEnd));
      }
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it('reads a number as canonical exactly when it is its own ECMAScript form', () => {
    const { rnd } = randomJson(55);
    const top = newTopSpans();
    const toks = [
      '0',
      '-0',
      '0.0',
      '1.0',
      '0.1',
      '0.000001',
      '0.0000001',
      '1e-7',
      '1e+21',
      '1e21',
      '100',
      '1.5e3',
    ];
    for (let i = 0; i < 20000; i++) {
      const digits = Array.from({ length: 1 + Math.floor(rnd() * 18) }, () => Math.floor(rnd() * 10)).join(
        '',
      );
      const cut = Math.floor(rnd() * digits.length);
      const lead = '0'.repeat(Math.floor(rnd() * 8));
      toks.push(
        `${rnd() < 0.3 ? '-' : ''}${digits.slice(0, cut) || '0'}.${lead}${digits.slice(cut) || '5'}`,
        String((rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20)),
        digits,
      );
    }
    for (const tok of toks) {
      const b = Buffer.from(`{"a":${tok}}`);
      const isCanonical = /^-?(0|[1-9]\d*)(\.\d+)?(e[+-]?\d+)?$/.test(tok) && String(Number(tok)) === tok;
      expect(canonicalObjectBytes(b, 0, b.length, top), tok).toBe(isCanonical);
    }
  });

  it('the store writes each line as the canonical text of its entry, hashed and sealed by the reference rules', () => {
    const keys = new EpochKeys(SECRET);
    for (const line of lines) {
      const e = JSON.parse(line) as E;
      expect(canonicalJson(e)).toBe(line);
      const { hashInput, macInput } = canonicalForms(e);
      expect(sha256Hex(hashInput)).toBe(e.hash);
      const seal = e.seal as { epoch: number; mac: string };
      expect(
        createHmac('sha256', keys.at(seal.epoch))
          .update(macInput as string, 'utf8')
          .digest('hex'),
      ).toBe(seal.mac);
    }
  });

  it('HmacSha256 equals createHmac for every key and message length that matters', () => {
    const { str } = randomJson(9);
    for (const keyLen of [1, 31, 32, 63, 64, 65, 200]) {
      const key = Buffer.alloc(keyLen, keyLen);
      const h = new HmacSha256(key, 16);
      for (let i = 0; i < 50; i++) {
        const msg = str().repeat(i * 7);
        expect(h.macOfText(msg)).toBe(createHmac('sha256', key).update(msg, 'utf8').digest('hex'));
      }
    }
    const k0 = initialKey(SECRET);
    expect(new HmacSha256(k0).macOfText('')).toBe(createHmac('sha256', k0).update('').digest('hex'));
  });
});
