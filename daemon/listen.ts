// Binding: the Unix socket (0660 after listen; a leftover socket file is removed only when nothing
// answers on it) and, optionally, a loopback TCP port served by the same fastify router.
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { DaemonError } from './errors.js';

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Removes a stale socket at `path`; refuses when a process answers on it or it is not a socket. */
export async function clearStaleSocket(path: string): Promise<void> {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) {
    throw new DaemonError('SOCKET_IN_USE', `${path} exists and is not a socket; refusing to remove it`, {
      exitCode: 2,
    });
  }
  if (await answers(path)) {
    throw new DaemonError(
      'SOCKET_IN_USE',
      `another process is serving on ${path} (is a gavel daemon already running? try gavel status)`,
      { exitCode: 2 },
    );
  }
  unlinkSync(path);
}

export async function listenUnix(app: FastifyInstance, path: string): Promise<void> {
  await clearStaleSocket(path);
  await app.listen({ path });
  chmodSync(path, 0o660);
}

export async function listenTcp(app: FastifyInstance, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => app.routing(req, res));
  server.keepAliveTimeout = 72_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
