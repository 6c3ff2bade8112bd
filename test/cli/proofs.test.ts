// The proof commands end to end through `node bin/gavel.js` (needs dist/: `npm test` builds it).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { entryHash } from '../../chain/entry.js';
import { independentNoteCheck } from '../chain/note-reference.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(path.join(tmpdir(), 'gavel-proofs-cli-'));

function gavel(...args: string[]) {
  const r = spawnSync('node', [path.join(root, 'bin/gavel.js'), ...args], { encoding: 'utf8', cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function chainOf(n: number, salt = '', from: Record<string, unknown>[] = []): Record<string, unknown>[] {
  const out = [...from];
  for (let seq = from.length; seq < from.length + n; seq++) {
    const e: Record<string, unknown> = {
      seq,
      timestamp: '2026-11-23T00:00:00.000Z',
      kind: 'gate.decision',
      action: `act ${salt}${seq}`,
      payload: { n: seq },
      previous_hash: seq === 0 ? '0'.repeat(64) : (out[seq - 1]?.hash as string),
    };
    e.hash = entryHash(e);
    out.push(e);
  }
  return out;
}

const writeLedger = (file: string, entries: Record<string, unknown>[]) =>
  writeFileSync(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));

describe('gavel keys / audit checkpoint / prove / check-proof / verify --checkpoint', () => {
  const ledger = path.join(dir, 'ledger.jsonl');
  const entries = chainOf(300);
  let vkey = '';
  let note = '';

  beforeAll(() => {
    writeLedger(ledger, entries);
    const k = gavel('keys', 'new', '--type', 'ed25519', '--out', 'op.key', '--name', 'gavel.test/op');
    expect(k.code).toBe(0);
    vkey = k.out.trim();
    const c = gavel('audit', 'checkpoint', '--ledger', ledger, '--key', 'op.key', '--out', 'cp.note');
    expect(c.code, c.err).toBe(0);
    note = readFileSync(path.join(dir, 'cp.note'), 'utf8');
  });

  it('keys new writes a 0600 key, refuses to overwrite, and keys show prints the same vkey', () => {
    expect(statSync(path.join(dir, 'op.key')).mode & 0o777).toBe(0o600);
    expect(gavel('keys', 'new', '--out', 'op.key').code).toBe(1);
    expect(gavel('keys', 'show', 'op.key').out.trim()).toBe(vkey);
    // Chain keys for anchoring: solana-keygen JSON (64 bytes: seed || public key) and EVM hex.
    const sol = gavel('keys', 'new', '--type', 'solana', '--out', 'sol.json');
    expect(sol.code, sol.err).toBe(0);
    const bytes = JSON.parse(readFileSync(path.join(dir, 'sol.json'), 'utf8')) as number[];
    expect(bytes).toHaveLength(64);
    expect(Buffer.from(ed25519.getPublicKey(Uint8Array.from(bytes.slice(0, 32))))).toEqual(
      Buffer.from(bytes.slice(32)),
    );
    expect(statSync(path.join(dir, 'sol.json')).mode & 0o777).toBe(0o600);
    expect(gavel('keys', 'show', 'sol.json').out.trim()).toBe(sol.out.trim());
    const evm = gavel('keys', 'new', '--type', 'evm', '--out', 'evm.key');
    expect(evm.out.trim()).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(gavel('keys', 'show', 'evm.key').out.trim()).toBe(evm.out.trim());
    expect(gavel('keys', 'new', '--type', 'rsa', '--out', 'x.key').code).toBe(2);
  });

  it('the checkpoint note verifies under an independent Ed25519 check of the signed-note layout', () => {
    expect(note.split('\n').slice(0, 2)).toEqual([
      `gavel.local/${String(entries[0]?.hash).slice(0, 16)}`,
      '300',
    ]);
    expect(independentNoteCheck(note, vkey)).toBe(true);
    expect(independentNoteCheck(note.replace('\n300\n', '\n301\n'), vkey)).toBe(false);
  });

  it('prove + check-proof: 0 when it holds, 1 with the reason when not, 2 on usage errors', () => {
    const p = gavel(
      'audit',
      'prove',
      '--ledger',
      ledger,
      '--seq',
      '123',
      '--checkpoint',
      'cp.note',
      '--out',
      'p.json',
    );
    expect(p.code, p.err).toBe(0);
    const ok = gavel('audit', 'check-proof', 'p.json', '--vkey', vkey);
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toMatch(/\[PROOF OK\] Entry 123 is in gavel\.local\/\w+ at size 300/);
    const proof = JSON.parse(readFileSync(path.join(dir, 'p.json'), 'utf8'));
    proof.entry.action = 'something else';
    writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(proof));
    const bad = gavel('audit', 'check-proof', 'bad.json', '--vkey', vkey);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/PROOF FAILED.*hash mismatch/);
    const other = gavel('keys', 'new', '--out', 'other.key', '--name', 'gavel.test/op').out.trim();
    expect(gavel('audit', 'check-proof', 'p.json', '--vkey', other).out).toMatch(
      /not signed by any trusted key/,
    );
    expect(gavel('audit', 'check-proof', 'p.json').code).toBe(2);
    expect(gavel('audit', 'check-proof', 'p.json', '--vkey', 'nonsense+1234+zz').code).toBe(2);
    expect(gavel('audit', 'prove', '--ledger', ledger, '--seq', '300', '--checkpoint', 'cp.note').code).toBe(
      2,
    );
    const fresh = gavel('audit', 'prove', '--ledger', ledger, '--seq', '0', '--key', 'op.key');
    expect(fresh.code, fresh.err).toBe(0);
    expect(Buffer.byteLength(fresh.out)).toBeLessThan(1500);
  });

  it('consistency: a later checkpoint of the grown ledger provably extends the earlier one', () => {
    const grown = path.join(dir, 'grown2.jsonl');
    writeLedger(grown, chainOf(77, '', entries));
    const c = gavel(
      'audit',
      'consistency',
      '--ledger',
      grown,
      '--from',
      'cp.note',
      '--key',
      'op.key',
      '--out',
      'c.json',
    );
    expect(c.code, c.err).toBe(0);
    const ok = gavel('audit', 'check-proof', 'c.json', '--vkey', vkey);
    expect(ok.out).toMatch(/\[PROOF OK\] .* at size 377 extends size 300/);
    const forged = path.join(dir, 'forged.jsonl');
    writeLedger(forged, chainOf(127, 'x', entries.slice(0, 250)));
    const f = gavel('audit', 'consistency', '--ledger', forged, '--from', 'cp.note', '--key', 'op.key');
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/does not match this ledger/);
    const doc = JSON.parse(readFileSync(path.join(dir, 'c.json'), 'utf8'));
    doc.path = Buffer.from(
      Buffer.from(doc.path, 'base64').map((b: number, i: number) => (i === 40 ? b ^ 1 : b)),
    ).toString('base64');
    writeFileSync(path.join(dir, 'c-bad.json'), JSON.stringify(doc));
    const bad = gavel('audit', 'check-proof', 'c-bad.json', '--vkey', vkey);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/does not extend/);
  });

  it('refuses to sign a checkpoint inconsistent with the last one signed for the ledger', () => {
    const l = path.join(dir, 'resign.jsonl');
    writeLedger(l, entries);
    expect(gavel('audit', 'checkpoint', '--ledger', l, '--key', 'op.key').code).toBe(0);
    writeLedger(l, chainOf(60, 'forged', entries.slice(0, 250)));
    const r = gavel('audit', 'checkpoint', '--ledger', l, '--key', 'op.key');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/refusing to sign.*size 300/);
    writeLedger(l, chainOf(5, '', entries));
    expect(gavel('audit', 'checkpoint', '--ledger', l, '--key', 'op.key').code).toBe(0);
  });

  it('proves from a ledger another process holds (read-only view of the tree, nothing written)', async () => {
    const held = path.join(dir, 'held.jsonl');
    const dist = path.join(root, 'dist/chain/index.js');
    const holder = spawn(
      'node',
      [
        '--input-type=module',
        '-e',
        `import { Ledger, TreeSidecar } from ${JSON.stringify(dist)};
         const l = await Ledger.open(${JSON.stringify(held)}, { sidecars: [new TreeSidecar({ background: true })] });
         await l.appendBatch(Array.from({ length: 200 }, (_, i) => ({ kind: 'gate.decision', action: 'a' + i })));
         console.log('holding');
         process.stdin.on('data', async () => { await l.close(); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
    const p = gavel(
      'audit',
      'prove',
      '--ledger',
      held,
      '--seq',
      '150',
      '--key',
      'op.key',
      '--out',
      'held.json',
    );
    expect(p.code, p.err).toBe(0);
    expect(gavel('audit', 'check-proof', 'held.json', '--vkey', vkey).out).toMatch(
      /Entry 150 is in .* at size 200/,
    );
    holder.stdin.write('stop\n');
    await new Promise((resolve) => holder.once('exit', resolve));
  });

  it('verify --checkpoint passes on growth, fails on truncation and on a rewritten-and-rechained tail', () => {
    const grown = path.join(dir, 'grown.jsonl');
    writeLedger(grown, chainOf(50, '', entries));
    expect(gavel('audit', 'verify', '--ledger', grown, '--checkpoint', 'cp.note', '--vkey', vkey).code).toBe(
      0,
    );
    for (const k of [1, 7, 300]) {
      const cut = path.join(dir, `cut${k}.jsonl`);
      writeLedger(cut, entries.slice(0, 300 - k));
      const r = gavel('audit', 'verify', '--ledger', cut, '--checkpoint', 'cp.note', '--vkey', vkey);
      expect(r.code).toBe(1);
      expect(r.out).toMatch(k === 300 ? /VERIFY FAILED/ : /truncated/);
    }
    const other = gavel('keys', 'new', '--out', 'other2.key', '--name', 'gavel.test/op').out.trim();
    const unknown = gavel('audit', 'verify', '--ledger', grown, '--checkpoint', 'cp.note', '--vkey', other);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toMatch(/not signed by any trusted key/);
    writeFileSync(path.join(dir, 'changed.note'), note.replace('\n300\n', '\n299\n'));
    const changed = gavel(
      'audit',
      'verify',
      '--ledger',
      grown,
      '--checkpoint',
      'changed.note',
      '--vkey',
      vkey,
    );
    expect(changed.code).toBe(1);
    expect(changed.out).toMatch(/does not verify/);
    const rewritten = path.join(dir, 'rewritten.jsonl');
    writeLedger(rewritten, chainOf(60, 'forged', entries.slice(0, 250)));
    const r = gavel('audit', 'verify', '--ledger', rewritten, '--checkpoint', 'cp.note', '--vkey', vkey);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/rewritten/);
  });
});
