// A small client for the daemon's API over its Unix socket (or loopback TCP), on node:http with a
// keep-alive agent. Errors come back as DaemonError with the server's code and message.
import { Agent, request } from 'node:http';
import { DaemonError } from './errors.js';

export interface ClientOptions {
  /** Unix socket path (default) or `http://127.0.0.1:PORT`. */
  socket?: string;
  url?: string;
  token?: string;
  timeoutMs?: number;
}

export interface DaemonDecision {
  gate: string;
  verdict: 'permit' | 'permit-with-warning' | 'escalate' | 'deny';
  reason: string;
  rule: string;
  fuel: number;
  policy: { name: string; version: string; sha256: string };
  seq: number;
  hash: string;
}

export class DaemonClient {
  private agent = new Agent({ keepAlive: true, maxSockets: 16 });
  constructor(private o: ClientOptions) {
    if (o.socket === undefined && o.url === undefined)
      throw new DaemonError('BAD_REQUEST', 'give the daemon socket path or URL');
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = {};
    if (data !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(data.length);
    }
    if (this.o.token !== undefined) headers.authorization = `Bearer ${this.o.token}`;
    const target =
      this.o.url === undefined
        ? { socketPath: this.o.socket }
        : (() => {
            const u = new URL(this.o.url as string);
            return { host: u.hostname, port: Number(u.port) };
          })();
    return new Promise<T>((resolve, reject) => {
      const req = request(
        { ...target, path, method, headers, agent: this.agent, timeout: this.o.timeoutMs ?? 30_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: unknown;
            try {
              json = text === '' ? undefined : JSON.parse(text);
            } catch {
              json = undefined;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              resolve((json ?? text) as T);
              return;
            }
            const e = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
            reject(
              new DaemonError(
                e?.code ?? 'DAEMON_ERROR',
                e?.message ?? `HTTP ${status}: ${text.slice(0, 200)}`,
                { status, exitCode: status >= 500 ? 1 : status === 401 || status === 403 ? 3 : 1 },
              ),
            );
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.o.timeoutMs ?? 30_000} ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof DaemonError) return reject(err);
        const where = this.o.socket ?? this.o.url;
        reject(
          new DaemonError(
            'DAEMON_UNREACHABLE',
            `cannot reach the gavel daemon at ${where}: ${err.code ?? err.message} (is it running? gavel daemon --config FILE)`,
            { exitCode: 2, cause: err },
          ),
        );
      });
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  evaluate(gate: string, body: Record<string, unknown> = {}): Promise<DaemonDecision> {
    return this.call('POST', `/v1/gates/${encodeURIComponent(gate)}/evaluate`, body);
  }
  evaluateBatch(
    requests: (Record<string, unknown> & { gate: string })[],
  ): Promise<{ decisions: DaemonDecision[] }> {
    return this.call('POST', '/v1/gates/batch', { requests });
  }
  appendEvent(event: Record<string, unknown> & { kind: string }): Promise<{ seq: number; hash: string }> {
    return this.call('POST', '/v1/events', event);
  }
  appendEvents(
    events: (Record<string, unknown> & { kind: string })[],
  ): Promise<{ entries: { seq: number; hash: string }[] }> {
    return this.call('POST', '/v1/events/batch', { events });
  }
  emergency(
    body: Record<string, unknown> & { action: string; justification: string },
  ): Promise<Record<string, unknown>> {
    return this.call('POST', '/v1/emergency', body);
  }
  entry(seq: number): Promise<Record<string, unknown>> {
    return this.call('GET', `/v1/entries/${seq}`);
  }
  entries(from: number, to: number): Promise<{ entries: Record<string, unknown>[]; size: number }> {
    return this.call('GET', `/v1/entries?from=${from}&to=${to}`);
  }
  recent(n = 20): Promise<{ entries: Record<string, unknown>[]; size: number }> {
    return this.call('GET', `/v1/entries/recent?n=${n}`);
  }
  status(): Promise<Record<string, unknown>> {
    return this.call('GET', '/v1/status');
  }
  checkpoint(): Promise<{ origin: string; size: number; root: string; note: string }> {
    return this.call('GET', '/v1/checkpoint');
  }
  proof(seq: number): Promise<{ proof: string }> {
    return this.call('GET', `/v1/proofs/${seq}`);
  }
  verify(): Promise<{
    ok: boolean;
    entries: number;
    message: string;
    failed_entry: number | null;
    keyed_checks: number;
  }> {
    return this.call('GET', '/v1/verify');
  }
  close(): void {
    this.agent.destroy();
  }
}
