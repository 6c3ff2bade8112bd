// A real daemon child process (`node bin/gavel.js daemon`) for end-to-end and fault tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { DaemonClient } from '../../daemon/index.js';

export interface DaemonProc {
  child: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
}

export async function spawnDaemon(
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  socket?: string,
): Promise<DaemonProc> {
  const child = spawn(process.execPath, ['bin/gavel.js', 'daemon', '--config', configFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const p: DaemonProc = { child, stderr: () => err, stdout: () => out, exited };
  if (socket !== undefined) await waitReady(p, socket);
  return p;
}

export async function waitReady(p: DaemonProc, socket: string, ms = 20000): Promise<void> {
  const c = new DaemonClient({ socket, timeoutMs: 1000 });
  const end = Date.now() + ms;
  let dead = false;
  void p.exited.then(() => {
    dead = true;
  });
  try {
    while (Date.now() < end) {
      if (dead) throw new Error(`daemon exited before ready: ${p.stderr()} ${p.stdout()}`);
      try {
        const r = await c.call<{ ready: boolean }>('GET', '/readyz');
        if (r.ready) return;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`daemon not ready in ${ms} ms: ${p.stderr()}`);
  } finally {
    c.close();
  }
}
