// Running the real CLI and the python3 reference from tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(new URL('../..', import.meta.url).pathname);
export const GAVEL = path.join(REPO, 'bin', 'gavel.js');
export const MOSES_REF = path.join(REPO, 'test', 'fixtures', 'moses_ref.py');

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A clean environment: no operator secrets leak in from the developer's shell. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GAVEL_OPERATOR_SECRET;
  delete env.MOSES_OPERATOR_SECRET;
  return { ...env, ...extra };
}

export function gavel(args: string[], env: Record<string, string> = {}, cwd?: string): RunResult {
  const r = spawnSync(process.execPath, [GAVEL, ...args], { encoding: 'utf8', env: cleanEnv(env), cwd });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function python(args: string[], env: Record<string, string> = {}): RunResult {
  const r = spawnSync('python3', args, { encoding: 'utf8', env: cleanEnv(env) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function mosesRef(args: string[], env: Record<string, string> = {}): RunResult {
  return python([MOSES_REF, ...args], env);
}

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), `gavel-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A TCP port free on 127.0.0.1 right now (for a server that needs a fixed port in its config). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address() as { port: number };
      s.close(() => resolve(a.port));
    });
  });
}
