// The append-only store: durability rules, recovery, the index, the lock, seals.
import {
  appendFileSync,
  chmodSync,
  existsSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, Ledger, sha256Hex, verifyLedgerParallel } from '../../chain/index.js';
import { tempDir } from '../helpers/run.js';

let t: ReturnType<typeof tempDir>;
let file: string;
beforeEach(() => {
  t = tempDir('store');
  file = path.join(t.dir, 'ledger.jsonl');
});
afterEach(() => t.cleanup());

const lines = () =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('Ledger', () => {
  it('writes canonical, hash-chained lines and reads any seq back through the index', async () => {
    const l = await Ledger.open(file);
    const es = await Promise.all(
      Array.from({ length: 50 }, (_, i) => l.append({ kind: 'test.event', detail: `n${i}`, payload: { i } })),
    );
    expect(es.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const batch = await l.appendBatch([{ kind: 'a' }, { kind: 'b', payload: { x: [1, 'two'] } }]);
    expect(batch.map((e) => e.seq)).toEqual([50, 51]);
    expect(l.size).toBe(52);
    await l.close();
    const ls = lines();
    expect(ls).toHaveLength(52);
    for (const [i, line] of ls.entries()) {
      const e = JSON.parse(line) as Record<string, unknown>;
      expect(canonicalJson(e)).toBe(line);
      const { hash, ...rest } = e;
      expect(sha256Hex(canonicalJson(rest))).toBe(hash);
      expect(e.previous_hash).toBe(
        i === 0 ? '0'.repeat(64) : (JSON.parse(ls[i - 1] as string) as { hash: string }).hash,
      );
    }
    const r = await Ledger.open(file, { readOnly: true });
    expect((await r.get(37)).detail).toBe('n37');
    expect((await r.get(51)).payload).toEqual({ x: [1, 'two'] });
    const got = [];
    for await (const e of r.range(10, 13)) got.push(e.seq);
    expect(got).toEqual([10, 11, 12]);
    await expect(r.get(52)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await r.close();
  });

  it('rejects a bad input alone, without writing it or breaking the batch around it', async () => {
    const l = await Ledger.open(file);
    const results = await Promise.allSettled([
      l.append({ kind: 'ok.one' }),
      l.append({ kind: '' }),
      l.append({ kind: 'bad.payload', payload: { n: Number.NaN } }),
      l.append({ kind: 'bad.type', detail: 7 as unknown as string }),
      l.append({ kind: 'ok.two' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect(l.size).toBe(2);
    await l.close();
    expect(lines()).toHaveLength(2);
  });

  it('cuts a torn tail on open and records what was cut in a chain.recovered entry', async () => {
    const l = await Ledger.open(file);
    for (let i = 0; i < 5; i++) await l.append({ kind: 'test.event' });
    await l.close();
    appendFileSync(file, '{"action":"torn","hash":"ab');
    const r = await Ledger.open(file);
    expect(r.size).toBe(6);
    const rec = r.head!;
    expect(rec.kind).toBe('chain.recovered');
    expect(rec.payload).toMatchObject({ cut_bytes: 27, reason: 'no trailing newline', entries_kept: 5 });
    expect(rec.payload.cut_sha256).toBe(sha256Hex('{"action":"torn","hash":"ab'));
    await r.close();
    expect((await verifyLedgerParallel(file, { threads: 0 })).ok).toBe(true);
  });

  it('cuts unreadable last lines but refuses to cut a bad line that good entries follow', async () => {
    const l = await Ledger.open(file);
    for (let i = 0; i < 3; i++) await l.append({ kind: 'test.event' });
    await l.close();
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, `${good}garbage\n`);
    const r = await Ledger.open(file);
    expect(r.head?.kind).toBe('chain.recovered');
    expect(r.head?.payload.reason).toBe('unreadable line');
    await r.close();
    const ls = lines();
    writeFileSync(file, `${ls.slice(0, 1).join('\n')}\nnot json\n${ls.slice(1).join('\n')}\n`);
    const before = readFileSync(file);
    await expect(Ledger.open(file)).rejects.toMatchObject({ code: 'CORRUPT' });
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('rebuilds a missing, stale or foreign offset index', async () => {
    const l = await Ledger.open(file);
    for (let i = 0; i < 20; i++) await l.append({ kind: 'test.event', detail: `d${i}` });
    await l.close();
    const idx = `${file}.idx`;
    const ok = readFileSync(idx);
    for (const damage of [
      () => unlinkSync(idx),
      () => truncateSync(idx, 16 + 8 * 7 + 3),
      () => writeFileSync(idx, Buffer.concat([ok.subarray(0, 16), Buffer.alloc(ok.length - 16, 0x11)])),
      () => writeFileSync(idx, Buffer.concat([Buffer.from('GVLIDX01'), Buffer.alloc(8, 9), ok.subarray(16)])),
    ]) {
      damage();
      const r = await Ledger.open(file);
      expect(r.size).toBe(20);
      expect((await r.get(13)).detail).toBe('d13');
      await r.append({ kind: 'after' });
      expect((await r.get(20)).kind).toBe('after');
      await r.close();
      const again = await Ledger.open(file, { readOnly: true });
      expect((await again.get(19)).detail).toBe('d19');
      await again.close();
      truncateSync(file, readFileSync(file, 'utf8').lastIndexOf('\n', readFileSync(file).length - 2) + 1);
    }
  });

  it('holds one writer at a time and breaks a lock left by a dead process', async () => {
    const a = await Ledger.open(file);
    await expect(Ledger.open(file, { lockWaitMs: 50 })).rejects.toMatchObject({ code: 'LOCKED' });
    const reader = await Ledger.open(file, { readOnly: true });
    await reader.close();
    await a.close();
    writeFileSync(`${file}.lock`, '999999999 \n');
    const b = await Ledger.open(file, { lockWaitMs: 0 });
    await b.append({ kind: 'x' });
    await b.close();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('seals', () => {
  const secret = 'correct horse battery staple';

  it('seal every entry, rotate epochs with seal.epoch entries, and verify with the secret', async () => {
    const l = await Ledger.open(file, { secret, sealEpochEntries: 5 });
    for (let i = 0; i < 4; i++)
      await l.appendBatch(Array.from({ length: 6 }, () => ({ kind: 'test.event' })));
    expect(l.sealEpoch).toBe(3);
    await l.close();
    expect(statSync(`${file}.sealkey`).mode & 0o777).toBe(0o600);
    const epochs = lines().map((x) => (JSON.parse(x) as { seal: { epoch: number } }).seal.epoch);
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b));
    expect(lines().filter((x) => x.includes('"kind":"seal.epoch"'))).toHaveLength(3);
    const v = await verifyLedgerParallel(file, { secret, threads: 0 });
    expect(v.message).toBe(`[VERIFY OK] Chain intact. 27 entries verified | 27 seals verified.`);
    const wrong = await verifyLedgerParallel(file, { secret: 'not it', threads: 0 });
    expect(wrong.message).toBe('[VERIFY FAILED] Entry 1: seal invalid. State tampered.');
  });

  it('builds the next batch while one is fsynced: order, links, seals and epoch steps hold under a backlog', async () => {
    // 12,000 appends queued at once with batches of at most 500: every batch after the first is
    // built on a head that is not durable yet, and epochs of 1,700 entries step inside that pipeline.
    const l = await Ledger.open(file, { secret, sealEpochEntries: 1700, maxBatch: 500 });
    const fh = (l as unknown as { fh: { datasync(): Promise<void> } }).fh;
    const datasync = fh.datasync.bind(fh);
    let builtAhead = 0;
    fh.datasync = async () => {
      // While this fsync runs, a batch built behind it has already moved the ledger's next head.
      const ahead = (l as unknown as { ahead?: { seq: number } }).ahead;
      if (ahead !== undefined && ahead.seq > l.size + 500) builtAhead++;
      return datasync();
    };
    const es = await Promise.all(
      Array.from({ length: 12_000 }, (_, i) => l.append({ kind: 'test.event', detail: `n${i}` })),
    );
    expect(builtAhead).toBeGreaterThan(0);
    const details = es.map((e) => e.detail);
    expect(details).toEqual(Array.from({ length: 12_000 }, (_, i) => `n${i}`));
    const seqs = es.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const epoch = l.sealEpoch ?? 0;
    expect(epoch).toBeGreaterThanOrEqual(5); // steps at batch starts: every 2,000 entries here
    await l.close();
    const ls = lines();
    expect(ls.filter((x) => x.includes('"kind":"seal.epoch"'))).toHaveLength(epoch);
    const stored = JSON.parse(readFileSync(`${file}.sealkey`, 'utf8')) as { epoch: number };
    expect(stored.epoch).toBe(epoch);
    const v = await verifyLedgerParallel(file, { secret, threads: 0 });
    expect(v.message).toBe(
      `[VERIFY OK] Chain intact. ${ls.length} entries verified | ${ls.length} seals verified.`,
    );
    const r = await Ledger.open(file, { readOnly: true });
    expect((await r.get(ls.length - 1)).hash).toBe(es[es.length - 1]?.hash);
    await r.close();
  });

  it('a failed fsync rejects its batch and the batch built behind it, which is never written', async () => {
    const l = await Ledger.open(file, { maxBatch: 1000 });
    const fh = (l as unknown as { fh: { datasync(): Promise<void> } }).fh;
    const datasync = fh.datasync.bind(fh);
    let calls = 0;
    fh.datasync = async () => {
      calls++;
      if (calls === 2) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      return datasync();
    };
    const settled = await Promise.allSettled(
      Array.from({ length: 5000 }, (_, i) => l.append({ kind: 'test.event', detail: `n${i}` })),
    );
    const ok = settled.filter((s) => s.status === 'fulfilled');
    expect(ok).toHaveLength(1000);
    expect(settled.slice(0, 1000).every((s) => s.status === 'fulfilled')).toBe(true);
    for (const s of settled.slice(1000))
      expect(s).toMatchObject({ status: 'rejected', reason: { code: 'EIO' } });
    // The second batch reached the file before its fsync failed; the third, built while the second
    // was being written, never did.
    expect(lines()).toHaveLength(2000);
    await expect(l.append({ kind: 'after' })).rejects.toMatchObject({ code: 'IO', cause: { code: 'EIO' } });
    await l.close().catch(() => undefined);
    const v = await verifyLedgerParallel(file, { threads: 0 });
    expect(v.message).toBe('[VERIFY OK] Chain intact. 2000 entries verified.');
  });

  it('writes awkward text and entries of every size exactly as their canonical form, across staging buffers', async () => {
    // Entries are staged as bytes when appended and completed at commit: non-ASCII, escapes, long and
    // huge text (bigger than a staging buffer), session hashes and a rotation mid-run all must come out
    // as canonicalJson(entry), chained and sealed.
    const l = await Ledger.open(file, { secret, sealEpochEntries: 700 });
    const odd = ['é€😀 日本', 'quote " and \\ backslash', 'tab\tnl\n\u0001\u007f', '\u2028', 'x'.repeat(65)];
    const inputs = Array.from({ length: 2000 }, (_, i) => ({
      kind: `custom.k${i % 3}`,
      agent: odd[i % odd.length] as string,
      detail: i % 7 === 0 ? `${'long detail '.repeat(40)}${odd[i % 5]}` : `d${i}`,
      outcome: i % 11 === 0 ? 'ok é' : 'ok',
      session_hash: i % 2 === 0 ? null : `s${'h'.repeat(i % 90)}${odd[i % 5]}`,
      role: odd[(i + 1) % odd.length] as string,
      source: `src ${i}`,
      payload: { i, text: odd[(i + 2) % odd.length], nested: { z: [1, 'two', null], a: i % 2 === 0 } },
    }));
    const es = await Promise.all(inputs.map((x) => l.append(x)));
    const huge = {
      kind: 'custom.huge',
      detail: 'é'.repeat(700_000),
      payload: { blob: 'b'.repeat(1_500_000) },
    };
    await l.appendBatch([huge, inputs[3] as (typeof inputs)[number], huge]);
    await Promise.all(inputs.slice(0, 300).map((x) => l.append(x)));
    await l.close();
    expect(es[5]?.detail).toBe('d5');
    const ls = lines();
    const rotations = ls.filter((x) => x.includes('"kind":"seal.epoch"')).length;
    expect(rotations).toBeGreaterThan(0);
    expect(ls).toHaveLength(2000 + 3 + 300 + rotations);
    for (const line of ls) {
      const e = JSON.parse(line) as Record<string, unknown>;
      expect(canonicalJson(e)).toBe(line);
    }
    const v = await verifyLedgerParallel(file, { secret, threads: 0 });
    expect(v.message).toBe(
      `[VERIFY OK] Chain intact. ${ls.length} entries verified | ${ls.length} seals verified.`,
    );
  });

  it('stages each entry with its own members when most repeat from the entry before', async () => {
    // Members that repeat are copied as the bytes last staged for the same values: a change in any one
    // of them, in any position, must show in that entry and not carry over to the next.
    const base = {
      kind: 'custom.same',
      action: 'act',
      agent: 'agent-é',
      component: 'comp "q"',
      detail: 'd',
      outcome: 'ok',
      mode: 'm',
      posture: 'p',
      role: 'r\\1',
      session_hash: null as string | null,
      source: 'src',
    };
    const changes: Partial<typeof base>[] = [
      {},
      {},
      { agent: 'agent-2' },
      {},
      { component: 'c2' },
      { action: 'act2' },
      { action: 'act2' },
      { kind: 'custom.other' },
      { mode: 'm2' },
      { outcome: 'nope' },
      { posture: 'p2' },
      { role: 'r2' },
      { session_hash: 'sess-1' },
      { session_hash: 'sess-2' },
      {},
      { source: 'src-2' },
      { role: '日本' },
      {},
      { agent: 'a'.repeat(2000) },
      { agent: 'a'.repeat(2000) },
      { agent: 'b'.repeat(2000) },
      { source: 's'.repeat(3000) },
      {},
    ];
    const inputs = changes.map((c, i) => ({ ...base, ...c, payload: { i } }));
    const l = await Ledger.open(file, { secret });
    const one = await Promise.all(inputs.map((x) => l.append(x)));
    const batch = await l.appendBatch([...inputs].reverse());
    await l.close();
    const ls = lines();
    expect(ls).toHaveLength(2 * inputs.length);
    const expected = [...inputs, ...[...inputs].reverse()];
    ls.forEach((line, k) => {
      const e = JSON.parse(line) as Record<string, unknown>;
      expect(canonicalJson(e)).toBe(line);
      const { payload, ...fields } = expected[k] as (typeof inputs)[number];
      expect(e).toMatchObject({ ...fields, payload });
    });
    expect([...one, ...batch].map((e) => e.hash)).toEqual(
      ls.map((x) => (JSON.parse(x) as { hash: string }).hash),
    );
    const v = await verifyLedgerParallel(file, { secret, threads: 0 });
    expect(v.message).toBe(
      `[VERIFY OK] Chain intact. ${ls.length} entries verified | ${ls.length} seals verified.`,
    );
  });

  it('builds big batches on the build thread to the same bytes as on this thread', async () => {
    const odd = ['é€😀 日本', 'quote " and \\ backslash', 'tab\tnl\n\u0001', '\u2028', 'x'.repeat(65)];
    const inputs = Array.from({ length: 1500 }, (_, i) => ({
      kind: `custom.k${i % 3}`,
      agent: odd[i % odd.length] as string,
      detail: i % 7 === 0 ? 'long detail '.repeat(40) : `d${i}`,
      session_hash: i % 2 === 0 ? null : `s${i}`,
      payload: { i, text: odd[(i + 2) % odd.length], nested: { z: [1, 'two', null] } },
    }));
    const huge = { kind: 'custom.huge', detail: 'é'.repeat(300_000), payload: { blob: 'b'.repeat(900_000) } };
    const run = async (f: string, buildThread: boolean) => {
      let clock = Date.parse('2026-11-23T10:00:00.000Z');
      const l = await Ledger.open(f, { secret, sealEpochEntries: 1000, buildThread, now: () => clock++ });
      const thread = (l as unknown as { thread?: { build: (...a: unknown[]) => Promise<unknown> } }).thread;
      let onThread = 0;
      if (thread !== undefined) {
        const build = thread.build.bind(thread);
        thread.build = (...a: unknown[]) => {
          onThread++;
          return build(...a);
        };
      }
      await l.appendBatch(inputs);
      await Promise.all(inputs.slice(0, 40).map((x) => l.append(x))); // small: built here
      // Lines bigger than the line buffer: the worker grows it and hands the bigger one back.
      await l.appendBatch([huge, ...inputs.slice(0, 300), huge]);
      await l.appendBatch(inputs); // crosses the epoch step
      await l.close();
      return { bytes: readFileSync(f), onThread };
    };
    const here = await run(path.join(t.dir, 'here.jsonl'), false);
    const there = await run(path.join(t.dir, 'there.jsonl'), true);
    expect(here.onThread).toBe(0);
    expect(there.onThread).toBe(3);
    expect(there.bytes.equals(here.bytes)).toBe(true);
    const v = await verifyLedgerParallel(path.join(t.dir, 'there.jsonl'), { secret, threads: 0 });
    expect(v.ok).toBe(true);
    expect(v.message).toContain('seals verified');
  });

  it('stops accepting entries when the build thread dies, with nothing half-written', async () => {
    const l = await Ledger.open(file, { secret, buildThread: true });
    const batch = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ kind: 'test.event', detail: `n${i}` }));
    await l.appendBatch(batch(500));
    const thread = (l as unknown as { thread: { worker?: { terminate(): Promise<number> } } }).thread;
    await thread.worker?.terminate();
    await expect(l.appendBatch(batch(500))).rejects.toMatchObject({ code: 'IO' });
    await expect(l.append({ kind: 'after' })).rejects.toMatchObject({ code: 'IO' });
    await l.close().catch(() => undefined);
    expect(lines()).toHaveLength(500);
    const v = await verifyLedgerParallel(file, { secret, threads: 0 });
    expect(v.message).toBe('[VERIFY OK] Chain intact. 500 entries verified | 500 seals verified.');
  });

  it('continues from the key file alone (the writer need not hold the secret) and rejects a foreign secret', async () => {
    const l = await Ledger.open(file, { secret });
    await l.append({ kind: 'one' });
    await l.close();
    const w = await Ledger.open(file);
    await w.append({ kind: 'two' });
    await w.close();
    expect((await verifyLedgerParallel(file, { secret, threads: 0 })).keyedChecks).toBe(2);
    await expect(Ledger.open(file, { secret: 'another operator' })).rejects.toMatchObject({
      code: 'BAD_KEY',
    });
    chmodSync(`${file}.sealkey`, 0o644);
    await expect(Ledger.open(file)).rejects.toThrow(/readable by group or others/);
    chmodSync(`${file}.sealkey`, 0o600);
    unlinkSync(`${file}.sealkey`);
    await expect(Ledger.open(file)).rejects.toThrow(/sealkey is missing/);
  });

  it('refuses to start sealing a ledger that has unsealed entries', async () => {
    const l = await Ledger.open(file);
    await l.append({ kind: 'plain' });
    await l.close();
    await expect(Ledger.open(file, { secret })).rejects.toThrow(/started without seals/);
  });

  it('is forward secure: with only the current epoch key, no earlier entry can be forged', async () => {
    const l = await Ledger.open(file, { secret, sealEpochEntries: 3 });
    for (let i = 0; i < 5; i++)
      await l.appendBatch([{ kind: 'a', detail: `x${i}` }, { kind: 'b' }, { kind: 'c' }]);
    await l.close();
    const stolen = JSON.parse(readFileSync(`${file}.sealkey`, 'utf8')) as { epoch: number; key: string };
    expect(stolen.epoch).toBe(4);
    const { sealMac } = await import('../../chain/seal.js');
    const { canonicalForms } = await import('../../chain/entry.js');
    const key = Buffer.from(stolen.key, 'hex');
    const ls = lines();
    // The thief rewrites entry 2 (epoch 0) and re-seals and re-chains everything after it with the
    // only key they have: claiming epoch 4 for old entries breaks monotonicity at the next old one,
    // keeping epoch 0 needs a key they cannot derive.
    for (const claim of [0, 4]) {
      const forged: string[] = [];
      let prev = '';
      for (const [i, line] of ls.entries()) {
        const e = JSON.parse(line) as Record<string, unknown> & { seal: { epoch: number; mac: string } };
        if (i < 1) {
          forged.push(line);
          prev = e.hash as string;
          continue;
        }
        if (i === 1) e.detail = 'forged';
        e.previous_hash = prev;
        if (e.seal.epoch < 4) e.seal = { epoch: claim, mac: '' };
        const { macInput } = canonicalForms({ ...e, seal: { epoch: e.seal.epoch, mac: '0'.repeat(64) } });
        e.seal.mac = sealMac(key, macInput as string);
        const { hash: _h, ...rest } = e;
        e.hash = sha256Hex(canonicalJson(rest));
        prev = e.hash as string;
        forged.push(canonicalJson(e));
      }
      writeFileSync(file, `${forged.join('\n')}\n`);
      const v = await verifyLedgerParallel(file, { secret, threads: 0 });
      expect(v.ok, `claim epoch ${claim}`).toBe(false);
      expect(v.message).toBe('[VERIFY FAILED] Entry 2: seal invalid. State tampered.');
    }
  });
});
