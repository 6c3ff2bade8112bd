import { createHash, createPrivateKey, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  formatSignerKey,
  formatVerifierKey,
  generateSigner,
  parseSignerKey,
  parseVerifierKey,
  sign,
} from '../../chain/index.js';

describe('signed-note Ed25519 keys', () => {
  it('round-trips signer and verifier encodings, including base64 data containing "+"', () => {
    for (let i = 0; i < 200; i++) {
      const k = generateSigner('gavel.test/ledger');
      const back = parseSignerKey(formatSignerKey(k));
      expect(formatVerifierKey(back)).toBe(formatVerifierKey(k));
      expect(parseVerifierKey(formatVerifierKey(k)).publicKey).toEqual(k.publicKey);
    }
  });

  it('derives the key id as SHA-256(name || \\n || 0x01 || key)[:4], independently computed', () => {
    const k = generateSigner('example.com/log');
    const id = createHash('sha256')
      .update(Buffer.concat([Buffer.from('example.com/log\n'), Buffer.from([1]), Buffer.from(k.publicKey)]))
      .digest()
      .subarray(0, 4)
      .toString('hex');
    expect(formatVerifierKey(k).split('+')[1]).toBe(id);
  });

  it('produces signatures that node:crypto verifies', () => {
    const k = generateSigner('n');
    const msg = Buffer.from('hello\n');
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(k.publicKey)]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    expect(nodeVerify(null, msg, pub, Buffer.from(sign(k, msg)))).toBe(true);
    const pkcs8 = Buffer.concat([
      Buffer.from('302e020100300506032b657004220420', 'hex'),
      Buffer.from(k.seed),
    ]);
    expect(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).toBeDefined();
  });

  it('rejects a wrong key id, a wrong type byte, bad names and junk with BAD_KEY', () => {
    const k = generateSigner('n');
    const v = formatVerifierKey(k);
    const [name, id, data] = [v.slice(0, v.indexOf('+')), v.split('+')[1]!, v.slice(v.indexOf('+', 2) + 1)];
    const badId = `${name}+${id === '00000000' ? '00000001' : '00000000'}+${data}`;
    expect(() => parseVerifierKey(badId)).toThrow(/key id/);
    const raw = Buffer.from(data, 'base64');
    raw[0] = 2;
    expect(() => parseVerifierKey(`${name}+${id}+${raw.toString('base64')}`)).toThrow(/Ed25519/);
    expect(() => parseVerifierKey('no pluses')).toThrow(/verifier key/);
    expect(() => parseSignerKey(v)).toThrow(/PRIVATE\+KEY/);
    expect(() => generateSigner('has space')).toThrow(/key name/);
  });
});
