import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatVerifierKey, generateSigner, parseVerifierKey } from '../../chain/keys.js';
import {
  cosignNote,
  formatCheckpoint,
  ledgerOrigin,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  signCheckpoint,
} from '../../chain/note.js';
import { independentNoteCheck } from './note-reference.js';

const root = createHash('sha256').update('root').digest();
const origin = ledgerOrigin('ab'.repeat(32));

describe('signed notes and checkpoints', () => {
  const key = generateSigner('gavel.test/operator');
  const vkey = parseVerifierKey(formatVerifierKey(key));

  it('formats the checkpoint body exactly as tlog-checkpoint and signs it as signed-note', () => {
    const note = signCheckpoint({ origin, size: 1234, root }, key);
    expect(origin).toBe('gavel.local/abababababababab');
    const [body, sigs] = note.split('\n\n');
    expect(`${body}\n`).toBe(`${origin}\n1234\n${root.toString('base64')}\n`);
    expect(sigs).toMatch(/^\u2014 gavel\.test\/operator [A-Za-z0-9+/]+=*\n$/);
    expect(Buffer.from((sigs as string).split(' ')[2] as string, 'base64')).toHaveLength(68);
    expect(independentNoteCheck(note, formatVerifierKey(key))).toBe(true);
    const c = openCheckpoint(note, [vkey]);
    expect(c.size).toBe(1234);
    expect(Buffer.from(c.root)).toEqual(root);
    expect(c.signers).toEqual(['gavel.test/operator']);
  });

  it('rejects unknown keys, same-name impostors, changed bodies and every single-bit change', () => {
    const note = signCheckpoint({ origin, size: 7, root }, key);
    const other = generateSigner('gavel.test/operator');
    expect(() => openNote(note, [parseVerifierKey(formatVerifierKey(other))])).toThrow(
      /not signed by any trusted/,
    );
    expect(() => openNote(note.replace('\n7\n', '\n8\n'), [vkey])).toThrow(/does not verify/);
    const bytes = Buffer.from(note);
    let rejected = 0;
    for (let i = 0; i < bytes.length * 8; i++) {
      const b = Buffer.from(bytes);
      b[i >> 3] = (b[i >> 3] as number) ^ (1 << (i & 7));
      let ok = false;
      try {
        const c = openCheckpoint(b.toString('utf8'), [vkey]);
        ok = c.size === 7 && Buffer.from(c.root).equals(root) && c.origin === origin;
      } catch {
        ok = false;
      }
      if (!ok) rejected++;
    }
    expect(rejected).toBe(bytes.length * 8);
  });

  it('ignores unknown co-signatures but accepts the trusted one; rejects malformed notes', () => {
    const witness = generateSigner('witness.example/w1');
    const note = cosignNote(signCheckpoint({ origin, size: 3, root }, key), witness);
    expect(openNote(note, [vkey]).signers).toEqual(['gavel.test/operator']);
    expect(openNote(note, [vkey, parseVerifierKey(formatVerifierKey(witness))]).signers).toHaveLength(2);
    for (const bad of [
      '',
      'no signatures\n',
      `${origin}\n3\n${root.toString('base64')}\n\n- gavel.test/operator AAAA\n`,
      `${origin}\n3\n${root.toString('base64')}\n\n\u2014 gavel.test/operator AAAA\n`,
      note.replace(/\n$/, ''),
      note.replace('\n3\n', '\n3\u0007\n'),
    ]) {
      expect(() => openNote(bad, [vkey])).toThrow();
    }
  });

  it('parses checkpoints strictly', () => {
    const b = root.toString('base64');
    expect(
      parseCheckpoint(formatCheckpoint({ origin, size: 0, root, extensions: ['x y'] })).extensions,
    ).toEqual(['x y']);
    for (const bad of [
      `${origin}\n012\n${b}\n`,
      `${origin}\n-1\n${b}\n`,
      `${origin}\n1\n${b}`,
      `${origin}\n1\n\n`,
      `${origin}\n1\n${b.slice(0, -1)}\n`,
      `${origin}\n1\n${b}\n\n`,
      `\n1\n${b}\n`,
    ]) {
      expect(() => parseCheckpoint(bad)).toThrow();
    }
  });
});
