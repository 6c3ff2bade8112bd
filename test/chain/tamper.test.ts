// Tampering with a native ledger: every single-entry edit, deletion, reorder, re-hash without
// re-link, and a full re-chain by someone without the operator secret is caught, at the right entry.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson, Ledger, sha256Hex, verifyLedgerParallel } from '../../chain/index.js';
import { gavel, mosesRef, tempDir } from '../helpers/run.js';

const SECRET = 'operator secret for tamper tests';
const N = 12;
let t: ReturnType<typeof tempDir>;
let original: string[];
let file: string;

beforeAll(async () => {
  t = tempDir('tamper');
  const src = path.join(t.dir, 'source.jsonl');
  const l = await Ledger.open(src, { secret: SECRET });
  for (let i = 0; i < N; i++) {
    await l.append({
      kind: 'test.event',
      agent: `agent-${i % 3}`,
      detail: `entry ${i} — naïve 😀 "q" \t \\`,
      payload: { i, ratio: i / 8 },
    });
  }
  await l.close();
  original = readFileSync(src, 'utf8').trim().split('\n');
  file = path.join(t.dir, 'ledger.jsonl');
});
afterAll(() => t.cleanup());

type E = Record<string, unknown>;
const parse = (l: string) => JSON.parse(l) as E;
function rehash(e: E): E {
  const { hash: _h, ...rest } = e;
  return { ...e, hash: sha256Hex(canonicalJson(rest)) };
}
async function check(ls: string[], secret?: string) {
  writeFileSync(file, `${ls.join('\n')}\n`);
  return verifyLedgerParallel(file, { threads: 0, ...(secret ? { secret } : {}) });
}

describe('tampering with a native ledger', () => {
  it('the untouched ledger verifies, with and without the secret, and passes the python MO§ES hash rule', async () => {
    expect((await check(original)).message).toBe(`[VERIFY OK] Chain intact. ${N} entries verified.`);
    expect((await check(original, SECRET)).message).toBe(
      `[VERIFY OK] Chain intact. ${N} entries verified | ${N} seals verified.`,
    );
    expect(mosesRef(['native-hashes', file]).stdout.trim()).toBe('ok');
  });

  it('every single-entry edit is a hash mismatch at that entry', async () => {
    for (let i = 0; i < N; i++) {
      for (const field of ['detail', 'agent', 'timestamp', 'payload']) {
        const ls = [...original];
        const e = parse(ls[i] as string);
        e[field] = field === 'payload' ? { i: 999 } : 'changed';
        ls[i] = canonicalJson(e);
        const v = await check(ls);
        expect(v.message, `${field} of entry ${i + 1}`).toBe(
          `[VERIFY FAILED] Entry ${i + 1}: hash mismatch. Chain broken.`,
        );
      }
    }
  });

  it('every deletion but the last is caught where the gap is', async () => {
    for (let i = 0; i < N - 1; i++) {
      const v = await check(original.filter((_, k) => k !== i));
      expect(v.failedEntry, `deleting entry ${i + 1}`).toBe(i + 1);
      expect(v.reason).toBe(i === 0 ? 'seq' : 'link');
    }
  });

  it('every reorder of neighbours is caught at the first moved entry', async () => {
    for (let i = 0; i < N - 1; i++) {
      const ls = [...original];
      [ls[i], ls[i + 1]] = [ls[i + 1] as string, ls[i] as string];
      const v = await check(ls);
      expect(v.failedEntry, `swapping ${i + 1} and ${i + 2}`).toBe(i + 1);
    }
  });

  it('a re-hash without re-link is caught at the next entry; at the tail only the seal catches it', async () => {
    for (let i = 0; i < N; i++) {
      const ls = [...original];
      ls[i] = canonicalJson(rehash({ ...parse(ls[i] as string), detail: 'rewritten' }));
      const plain = await check(ls);
      if (i < N - 1)
        expect(plain.message).toBe(`[VERIFY FAILED] Entry ${i + 2}: previous_hash broken. Chain tampered.`);
      else expect(plain.ok).toBe(true);
      const keyed = await check(ls, SECRET);
      expect(keyed.message).toBe(`[VERIFY FAILED] Entry ${i + 1}: seal invalid. State tampered.`);
    }
  });

  it('a full re-chain without the secret passes the hash chain but not the seals', async () => {
    for (let i = 0; i < N; i++) {
      const es = original.map(parse);
      (es[i] as E).detail = 'history rewritten';
      for (let k = i; k < N; k++) {
        if (k > 0) (es[k] as E).previous_hash = (es[k - 1] as E).hash;
        es[k] = rehash(es[k] as E);
      }
      const ls = es.map((e) => canonicalJson(e));
      expect((await check(ls)).ok).toBe(true);
      expect((await check(ls, SECRET)).message).toBe(
        `[VERIFY FAILED] Entry ${i + 1}: seal invalid. State tampered.`,
      );
      // Stripping the seals instead is caught too.
      const stripped = es.map((e, k) =>
        k === i ? canonicalJson(rehash({ ...e, seal: undefined })) : canonicalJson(e),
      );
      expect((await check(stripped, SECRET)).failedEntry).toBe(i + 1);
    }
  });

  it('the CLI prints the MO§ES strings, exits 1, and gives the same answer on two worker threads', () => {
    const ls = [...original];
    ls[6] = canonicalJson(rehash({ ...parse(ls[6] as string), outcome: 'forged' }));
    writeFileSync(file, `${ls.join('\n')}\n`);
    const env = { GAVEL_OPERATOR_SECRET: SECRET };
    for (const extra of [[], ['--threads', '2']]) {
      const r = gavel(['audit', 'verify', '--ledger', file, ...extra], env);
      expect(r.stdout).toBe('[VERIFY FAILED] Entry 7: seal invalid. State tampered.\n');
      expect(r.status).toBe(1);
      const plain = gavel(['audit', 'verify', '--ledger', file, ...extra]);
      expect(plain.stdout).toBe('[VERIFY FAILED] Entry 8: previous_hash broken. Chain tampered.\n');
    }
    writeFileSync(file, `${original.join('\n')}\n`);
    const ok = gavel(['audit', 'verify', '--ledger', file, '--threads', '2', '--json'], env);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, entries: N, keyedChecks: N });
  });
});
