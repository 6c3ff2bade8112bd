// How CLI commands reach a running daemon: socket from --socket, $GAVEL_SOCKET or the systemd
// default; token from --token-file or $GAVEL_TOKEN (never from an argument: argv is world-readable).
import { readFileSync } from 'node:fs';
import { DaemonClient } from '../../daemon/index.js';
import { UsageError } from '../errors.js';

export const DEFAULT_SOCKET = '/run/gavel/gavel.sock';

export interface ConnectOpts {
  socket?: string;
  url?: string;
  tokenFile?: string;
}

export function connect(o: ConnectOpts): DaemonClient {
  let token = process.env.GAVEL_TOKEN;
  if (o.tokenFile !== undefined) {
    try {
      token = readFileSync(o.tokenFile, 'utf8').trim();
    } catch (err) {
      throw new UsageError(`cannot read --token-file ${o.tokenFile}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  const url = o.url ?? process.env.GAVEL_URL;
  if (url !== undefined && url !== '') return new DaemonClient({ url, token });
  return new DaemonClient({ socket: o.socket ?? process.env.GAVEL_SOCKET ?? DEFAULT_SOCKET, token });
}

export function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}
