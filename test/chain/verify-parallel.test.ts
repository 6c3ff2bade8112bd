// Parallel verify must give the one-core results exactly, failing entry numbers included. Worker
// threads load the compiled worker, so this imports from dist/ (built by `npm test`).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryHash } from '../../chain/entry.js';
import { leafHashHex, MemoryTree } from '../../chain/merkle.js';

const dist = path.resolve(import.meta.dirname, '../../dist/chain/verify-parallel.js');
const { verifyLedgerParallel } = (await import(dist)) as typeof import('../../chain/verify-parallel.js');

const dir = mkdtempSync(path.join(tmpdir(), 'gavel-vp-'));

function makeLines(n: number): string[] {
  const lines: string[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 0; seq < n; seq++) {
    const e: Record<string, unknown> = {
      seq,
      kind: 'gate.decision',
      action: `a${seq}`,
      detail: 'é"\\\t🚀',
      previous_hash: prev,
    };
    e.hash = entryHash(e);
    prev = e.hash as string;
    lines.push(JSON.stringify(e));
  }
  return lines;
}

describe('parallel verify', () => {
  const good = makeLines(6000);
  const cases: Record<string, string[]> = {
    intact: good,
    'hash mismatch mid-chunk': good.map((l, i) => (i === 4321 ? l.replace('"a4321"', '"b4321"') : l)),
    'deleted entry': good.filter((_, i) => i !== 2500),
    'reordered entries': good.map((l, i) =>
      i === 3000 ? good[3001] : i === 3001 ? good[3000] : l,
    ) as string[],
    'garbage line': good.map((l, i) => (i === 5999 ? '{"seq":' : l)),
    'blank lines are skipped': good.flatMap((l, i) => (i % 1000 === 0 ? [l, ''] : [l])),
    'first entry not seq 0': good.slice(1),
  };
  for (let b = 1; b < 5; b++)
    cases[`break at entry ${b * 1100}`] = good.map((l, i) =>
      i === b * 1100 ? l.replace(/"previous_hash":"./, '"previous_hash":"f') : l,
    );

  it('gives the same message and failing entry with 2 threads as on one core, for every kind of damage', async () => {
    for (const [name, lines] of Object.entries(cases)) {
      const file = path.join(dir, `${name.replace(/\W+/g, '-')}.jsonl`);
      writeFileSync(file, `${lines.join('\n')}\n`);
      const one = await verifyLedgerParallel(file, { threads: 0, chunkBytes: 16 << 10 });
      const two = await verifyLedgerParallel(file, { threads: 2, chunkBytes: 16 << 10 });
      expect(two.threads, name).toBe(2);
      expect({ ...two, threads: 0 }, name).toEqual(one);
      if (name === 'intact' || name === 'blank lines are skipped') expect(one.ok, name).toBe(true);
      else expect(one.ok, name).toBe(false);
    }
    const expected: Record<string, string> = {
      'deleted-entry': 'Entry 2501: previous_hash broken',
      'reordered-entries': 'Entry 3001: previous_hash broken',
      'garbage-line': 'Entry 6000: not a JSON entry',
      'break-at-entry-3300': 'Entry 3301: hash mismatch',
      'first-entry-not-seq-0': 'Entry 1: seq out of order',
    };
    for (const [f, msg] of Object.entries(expected)) {
      const r = await verifyLedgerParallel(path.join(dir, `${f}.jsonl`), {
        threads: 2,
        chunkBytes: 16 << 10,
      });
      expect(r.message).toContain(msg);
    }
    // The tree built during the pass is the RFC 6962 tree of the entry hashes.
    const ref = new MemoryTree();
    for (const l of good) ref.appendLeaf(leafHashHex(JSON.parse(l).hash));
    for (const threads of [0, 2]) {
      const t = await verifyLedgerParallel(path.join(dir, 'intact.jsonl'), {
        threads,
        chunkBytes: 16 << 10,
        treeAt: 4097,
      });
      expect(Buffer.from(t.rootAt as Uint8Array)).toEqual(Buffer.from(ref.root(4097)));
      expect(Buffer.from(t.root as Uint8Array)).toEqual(Buffer.from(ref.root()));
    }
    // MO§ES ledgers carry no seq: links and hashes only.
    const moses = good.map((l) => {
      const { seq: _s, hash: _h, ...e } = JSON.parse(l);
      return e;
    });
    let prev = 'ff'.repeat(32);
    const mosesLines = moses.map((e) => {
      e.previous_hash = prev;
      e.hash = entryHash(e);
      prev = e.hash;
      return JSON.stringify(e);
    });
    writeFileSync(path.join(dir, 'moses.jsonl'), `${mosesLines.join('\n')}\n`);
    const m = await verifyLedgerParallel(path.join(dir, 'moses.jsonl'), { threads: 2, chunkBytes: 16 << 10 });
    expect(m.message).toBe('[VERIFY OK] Chain intact. 6000 entries verified.');
    const r = await verifyLedgerParallel(path.join(dir, 'hash-mismatch-mid-chunk.jsonl'), {
      threads: 2,
      chunkBytes: 16 << 10,
    });
    expect(r.message).toBe('[VERIFY FAILED] Entry 4322: hash mismatch. Chain broken.');
  });
});
