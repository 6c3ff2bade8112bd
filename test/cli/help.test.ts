import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const GAVEL = new URL('../../bin/gavel.js', import.meta.url).pathname;

describe('gavel CLI shell', () => {
  it('prints help and exits 0', () => {
    const r = spawnSync(process.execPath, [GAVEL, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: gavel');
  });

  it('exits 2 on an unknown option, naming it', () => {
    const r = spawnSync(process.execPath, [GAVEL, '--no-such-flag'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });
});
