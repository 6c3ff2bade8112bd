import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretScanner } from '../../chain/index.js';

const refuse = createSecretScanner({ mode: 'refuse', operatorSecret: 'tr0ub4dor&3-operator' });
const redact = createSecretScanner({ mode: 'redact', operatorSecret: 'tr0ub4dor&3-operator' });
const b58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const rand = (alphabet: string, n: number) =>
  Array.from({ length: n }, (_, i) => alphabet[(i * 7919 + 13) % alphabet.length]).join('');

describe('secret scanner', () => {
  const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZ2VudC03In0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
  const secrets: [string, unknown][] = [
    ['PEM private key', { detail: `key:\n${pem}` }],
    ['OpenSSH key', { detail: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=' }],
    [
      'EVM hex key',
      { detail: `use 0x${'4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'}` },
    ],
    [
      'hex key in a key field',
      { payload: { private_key: '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' } },
    ],
    ['base58 Solana key', { detail: `secret ${rand(b58, 88)}` }],
    [
      'JSON-array keypair (text)',
      { detail: `[${Array.from({ length: 64 }, (_, i) => (i * 37) % 256).join(',')}]` },
    ],
    ['JSON-array keypair (value)', { payload: { kp: Array.from({ length: 64 }, (_, i) => (i * 37) % 256) } }],
    ['OpenAI token', { detail: 'token sk-proj-abcdefghijklmnopqrstuvwxyz012345' }],
    ['GitHub token', { detail: `ghp_${'a1B2'.repeat(9)}` }],
    ['Slack token', { detail: 'xoxb-1234567890-abcdefghij' }],
    ['AWS key id', { payload: { note: 'AKIAIOSFODNN7EXAMPLE' } }],
    ['JWT', { detail: `Bearer ${jwt}` }],
    ['operator secret, plain', { detail: 'the secret is tr0ub4dor&3-operator!' }],
    ['operator secret, hex', { detail: Buffer.from('tr0ub4dor&3-operator').toString('hex') }],
    [
      'operator secret, base64',
      { payload: { blob: Buffer.from('xx tr0ub4dor&3-operator yy').toString('base64') } },
    ],
    [
      'operator secret, base64url',
      { payload: { blob: Buffer.from('tr0ub4dor&3-operator').toString('base64url') } },
    ],
    ['operator secret, URL-encoded', { detail: `?s=${encodeURIComponent('tr0ub4dor&3-operator')}` }],
    ['operator secret, reversed', { detail: [...'tr0ub4dor&3-operator'].reverse().join('') }],
    ['secret as an object key', { payload: { 'tr0ub4dor&3-operator': 1 } }],
    // A field named like a digest lets hex and base58 digests through, nothing else.
    ['API token in a digest field', { payload: { sha256: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345' } }],
    ['operator secret in a digest field', { payload: { policy: { sha256: 'tr0ub4dor&3-operator' } } }],
    ['hex key in a key-named digest field', { payload: { private_key_hash: 'f1'.repeat(32) } }],
  ];

  it('refuses every secret form, naming the field and never echoing the secret', () => {
    for (const [name, v] of secrets) {
      let err: Error | undefined;
      try {
        refuse.scan(v);
      } catch (e) {
        err = e as Error;
      }
      expect(err, name).toMatchObject({ code: 'SECRET_DETECTED' });
      expect(err?.message).not.toContain('tr0ub4dor');
      expect(err?.message).toMatch(/refusing to record (detail|payload)/);
    }
  });

  it('redacts only the secret, leaving the rest of the text as it was', () => {
    const { value, redactions } = redact.scanWithReport({
      detail: 'before 0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318 after',
      agent: 'a',
    });
    expect(value).toEqual({ detail: 'before [REDACTED:hex-private-key] after', agent: 'a' });
    expect(redactions).toEqual([{ path: 'detail', type: 'hex-private-key' }]);
    const s = redact.scan({
      payload: { kp: Array.from({ length: 64 }, () => 7), n: 1 },
      detail: 'pw tr0ub4dor&3-operator end',
    });
    expect(s).toEqual({
      payload: { kp: '[REDACTED:json-keypair]', n: 1 },
      detail: 'pw [REDACTED:operator-secret] end',
    });
  });

  it('does not flag hashes, digests, transaction ids and ordinary text', () => {
    const clean = {
      detail: 'deployed constitution v1.2 to production; 64 gates; see https://example.com/a/b?x=1',
      payload: {
        sha256: 'a'.repeat(64),
        policy: { sha256: 'b3'.repeat(32), name: 'constitution' },
        invoked_hash: 'c'.repeat(64),
        root: 'd'.repeat(64),
        tx: `0x${'e'.repeat(64)}`,
        signature: rand(b58, 88),
        effect: { risk: 0.4 },
        list: [1, 2, 3],
        bytes: Array.from({ length: 32 }, (_, i) => i),
        text: 'sketch-of-plan: task-force, risk-assessment',
        uuid: '123e4567-e89b-12d3-a456-426614174000',
      },
    };
    expect(refuse.scan(clean)).toBe(clean);
    expect(
      createSecretScanner({ mode: 'refuse' }).scan({ detail: 'no operator secret configured' }),
    ).toBeDefined();
  });

  it('remembers only what it cleared, and for the kind of member it was cleared in', () => {
    const s = createSecretScanner({ mode: 'refuse', operatorSecret: 'tr0ub4dor&3-operator' });
    const hexKey = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318';
    // Cleared as a digest (the same string object, as a policy's sha256 is entry after entry)...
    for (let i = 0; i < 3; i++) expect(s.scan({ payload: { policy: { sha256: hexKey } } })).toBeDefined();
    // ...it is still a key anywhere else, however often it was cleared before.
    expect(() => s.scan({ payload: { note: hexKey } })).toThrow(/hex private key/);
    expect(() => s.scan({ detail: hexKey })).toThrow(/hex private key/);
    // A text cleared once is clean again; a different text is scanned, not matched by resemblance.
    const detail = 'tool.invoke: permit by rule-risk-threshold';
    expect(s.scan({ detail })).toEqual({ detail });
    expect(s.scan({ detail: `${detail}` })).toEqual({ detail });
    expect(() => s.scan({ detail: `${detail} tr0ub4dor&3-operator` })).toThrow(/operator secret/);
    // More distinct clean texts than the memo holds: it starts over, and still refuses secrets.
    for (let i = 0; i < 10_000; i++) s.scan({ detail: `ordinary line of text number ${i}` });
    expect(() => s.scan({ payload: { note: hexKey } })).toThrow(/hex private key/);
    expect(() => s.scan({ detail: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345' })).toThrow(/SECRET|token/i);
  });

  it('matches secrets holding regex metacharacters literally, in every form and only literally', () => {
    const secret = 'a.b*c+d?(e)[f]{2}|g^h$i\\j/k-l';
    const s = createSecretScanner({ mode: 'refuse', operatorSecret: secret });
    const forms = [
      secret,
      Buffer.from(secret).toString('hex'),
      Buffer.from(`x${secret}`).toString('base64'),
      encodeURIComponent(secret),
      [...secret].reverse().join(''),
    ];
    for (const form of forms) {
      expect(() => s.scan({ detail: `see ${form} here` }), form).toThrow(/operator secret/);
      expect(() => s.scan({ payload: { sha256: form } }), form).toThrow(/operator secret/);
    }
    // What the unescaped pattern would match, but the secret is not there.
    const clean = { detail: 'aXbbbcccdd(e)f{2}|g^h$i\\j/k-l', payload: { note: 'a.b*c+d?(e)[f]{2}|g^h$i' } };
    expect(s.scan(clean)).toBe(clean);
  });
});
