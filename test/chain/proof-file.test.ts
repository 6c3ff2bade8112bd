import { describe, expect, it } from 'vitest';
import { entryHash } from '../../chain/entry.js';
import { formatVerifierKey, generateSigner, parseVerifierKey } from '../../chain/keys.js';
import { inclusionProof, leafHashHex, MemoryTree } from '../../chain/merkle.js';
import { ledgerOrigin, signCheckpoint } from '../../chain/note.js';
import { buildProofFile, checkProofFile } from '../../chain/proof-file.js';

function makeEntries(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let prev = '0'.repeat(64);
  for (let seq = 0; seq < n; seq++) {
    const e: Record<string, unknown> = {
      seq,
      timestamp: '2026-11-23T00:00:00.000Z',
      kind: 'gate.decision',
      agent: 'agent-7',
      action: 'deploy',
      detail: 'tab\there "quoted" \\ é 🚀',
      payload: { verdict: 'permit', risk: 0.25 },
      previous_hash: prev,
    };
    e.hash = entryHash(e);
    prev = e.hash as string;
    out.push(e);
  }
  return out;
}

describe('proof files', () => {
  const key = generateSigner('gavel.test/op');
  const vkey = parseVerifierKey(formatVerifierKey(key));
  const entries = makeEntries(77);
  const tree = new MemoryTree();
  for (const e of entries) tree.appendLeaf(leafHashHex(e.hash as string));
  const origin = ledgerOrigin(entries[0]?.hash as string);
  const note = signCheckpoint({ origin, size: 77, root: tree.root() }, key);
  const file = (i: number) =>
    buildProofFile({
      index: i,
      entry: entries[i] as Record<string, unknown>,
      path: inclusionProof(tree, i, 77),
      checkpoint: note,
    });

  it('a proof file for any entry holds under the operator key and names the checkpoint', () => {
    for (let i = 0; i < 77; i++) {
      const r = checkProofFile(file(i), [vkey]);
      expect(r.index).toBe(i);
      expect(r.checkpoint.size).toBe(77);
      expect(r.signers).toEqual(['gavel.test/op']);
    }
  });

  it('fails for another key, another entry, a changed field, and every single-bit change', () => {
    const other = parseVerifierKey(formatVerifierKey(generateSigner('gavel.test/op')));
    expect(() => checkProofFile(file(5), [other])).toThrow(/not signed by any trusted key/);
    const swapped = JSON.parse(file(5));
    swapped.entry = entries[6];
    expect(() => checkProofFile(swapped, [vkey])).toThrow(/seq/);
    swapped.entry = { ...entries[5], detail: 'changed' };
    expect(() => checkProofFile(swapped, [vkey])).toThrow(/hash mismatch/);
    swapped.entry = { ...entries[5], detail: 'changed' };
    swapped.entry.hash = entryHash(swapped.entry);
    expect(() => checkProofFile(swapped, [vkey])).toThrow(/does not lead to the checkpoint root/);

    const bytes = Buffer.from(file(45));
    let held = 0;
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const b = Buffer.from(bytes);
      b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
      try {
        checkProofFile(b.toString('utf8'), [vkey]);
        held++;
      } catch {}
    }
    expect(held).toBe(0);
  });
});
