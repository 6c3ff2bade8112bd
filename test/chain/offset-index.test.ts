// The offset index file: little-endian u64 offsets, including offsets past 4 GiB.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { INDEX_HEADER, indexPath, OffsetIndex } from '../../chain/offset-index.js';
import { tempDir } from '../helpers/run.js';

let t: ReturnType<typeof tempDir>;
beforeEach(() => {
  t = tempDir('offset-index');
});
afterEach(() => t.cleanup());

it('writes each offset as a little-endian u64 and reads it back, past 4 GiB too', async () => {
  const ledger = path.join(t.dir, 'ledger.jsonl');
  const genesis = 'ab'.repeat(32);
  const offsets = [0, 1, 0xffff_ffff, 0x1_0000_0000, 0x1_2345_6789_abcd, Number.MAX_SAFE_INTEGER];
  const idx = await OffsetIndex.open(ledger, genesis, true);
  await idx.append(offsets, genesis);
  for (const [i, off] of offsets.entries()) expect(await idx.offset(i)).toBe(off);
  await idx.close();
  const file = readFileSync(indexPath(ledger));
  expect(file.length).toBe(INDEX_HEADER + 8 * offsets.length);
  for (const [i, off] of offsets.entries()) {
    expect(file.readBigUInt64LE(INDEX_HEADER + 8 * i)).toBe(BigInt(off));
  }
});
