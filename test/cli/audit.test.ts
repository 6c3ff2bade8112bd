// `gavel audit` as agents use it: concurrent writers, the python MO§ES hash rule over native
// ledgers, secrets from files only, exit codes.
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanEnv, GAVEL, gavel, mosesRef, tempDir } from '../helpers/run.js';

const t = tempDir('audit-cli');
afterAll(() => t.cleanup());

function gavelAsync(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [GAVEL, ...args], { env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += d;
    });
    c.stderr.on('data', (d) => {
      stderr += d;
    });
    c.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('gavel audit', () => {
  it('several processes logging to one ledger at once never corrupt it', async () => {
    const file = path.join(t.dir, 'concurrent.jsonl');
    const env = { GAVEL_OPERATOR_SECRET: 'concurrency' };
    const procs = Array.from({ length: 8 }, (_, p) =>
      (async () => {
        const hashes: string[] = [];
        for (let i = 0; i < 4; i++) {
          const r = await gavelAsync(
            ['audit', 'log', '--ledger', file, '--action', `p${p}-${i}`, '--agent', `agent-${p}`, '--json'],
            env,
          );
          expect(r.status, r.stderr).toBe(0);
          hashes.push((JSON.parse(r.stdout) as { hash: string }).hash);
        }
        return hashes;
      })(),
    );
    const acked = (await Promise.all(procs)).flat();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(32);
    const stored = new Set(lines.map((l) => (JSON.parse(l) as { hash: string }).hash));
    for (const h of acked) expect(stored.has(h)).toBe(true);
    expect(gavel(['audit', 'verify', '--ledger', file], env).stdout).toBe(
      '[VERIFY OK] Chain intact. 32 entries verified | 32 seals verified.\n',
    );
  });

  it('writes native ledgers that pass the MO§ES hash rule in python3, whatever the text', () => {
    const file = path.join(t.dir, 'unicode.jsonl');
    const details = [
      'naïve café',
      '日本語のテキスト',
      'emoji 😀🎉 and ZWJ 👩‍💻',
      'quotes "double" \'single\'',
      'tab\there',
      'back\\slash',
      'new\nline',
      'nul-ish \u0001\u001f',
      '\u2028 line sep',
      'del \u007f',
    ];
    for (const d of details) {
      const r = gavel([
        'audit',
        'log',
        '--ledger',
        file,
        '--action',
        'say',
        '--detail',
        d,
        '--payload',
        JSON.stringify({ text: d, n: 1.5, list: [d, null, true] }),
      ]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\[AUDIT\] Entry logged\. Hash: [0-9a-f]{16}\.\.\.\n$/);
    }
    expect(mosesRef(['native-hashes', file]).stdout.trim()).toBe('ok');
    // And the MO§ES verifier's link rule holds too.
    expect(mosesRef(['verify', file]).stdout).toBe(
      `[VERIFY OK] Chain intact. ${details.length} entries verified.\n`,
    );
    const recent = gavel(['audit', 'recent', '--ledger', file, '--n', '2']);
    expect(recent.stdout.trim().split('\n')).toHaveLength(2);
    expect(recent.stdout).toMatch(
      /^\[\d{4}-\d\d-\d\dT[^\]]+\] GAVEL \| say \| high-integrity\/defense \| [0-9a-f]{12}\.\.\.$/m,
    );
  });

  it('takes the secret from a 0600 file, never a flag, and refuses a file others can read', () => {
    const file = path.join(t.dir, 'sealed.jsonl');
    const secretFile = path.join(t.dir, 'secret');
    writeFileSync(secretFile, 'file secret\n', { mode: 0o600 });
    expect(
      gavel(['audit', 'log', '--ledger', file, '--action', 'a', '--secret-file', secretFile]).status,
    ).toBe(0);
    expect(gavel(['audit', 'verify', '--ledger', file, '--secret-file', secretFile]).stdout).toContain(
      '| 1 seals verified.',
    );
    expect(
      gavel(['audit', 'verify', '--ledger', file], { GAVEL_OPERATOR_SECRET: 'file secret' }).status,
    ).toBe(0);
    chmodSync(secretFile, 0o644);
    const r = gavel(['audit', 'verify', '--ledger', file, '--secret-file', secretFile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('readable by group or others');
    expect(gavel(['audit', 'log', '--ledger', file, '--action', 'a', '--secret', 'x']).status).toBe(2);
    expect(readFileSync(file, 'utf8')).not.toContain('file secret');
  });

  it('exits 2 on usage and I/O errors', () => {
    expect(gavel(['audit', 'log', '--ledger', path.join(t.dir, 'x.jsonl')]).status).toBe(2);
    expect(
      gavel(['audit', 'verify', '--ledger', path.join(t.dir, 'x.jsonl'), '--format', 'yaml']).status,
    ).toBe(2);
    expect(gavel(['audit', 'recent', '--ledger', path.join(t.dir, 'x.jsonl'), '--n', 'ten']).status).toBe(2);
    expect(
      gavel(['audit', 'log', '--ledger', path.join(t.dir, 'no', 'such', 'dir.jsonl'), '--action', 'a'])
        .status,
    ).toBe(2);
    expect(
      gavel(['audit', 'log', '--ledger', path.join(t.dir, 'y.jsonl'), '--action', 'a', '--payload', '[1]'])
        .status,
    ).toBe(2);
  });
});
