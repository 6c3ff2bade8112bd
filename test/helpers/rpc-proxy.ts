// A JSON-RPC proxy on a fixed loopback port in front of a real node, for fault tests: it can be
// down (connections refused), answer garbage, answer JSON-RPC errors, or pass requests through.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyMode = 'pass' | 'garbage' | 'error';

export interface RpcProxy {
  url: string;
  mode: ProxyMode;
  /** Requests seen, by JSON-RPC method (a batch counts each). */
  calls: Map<string, number>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startRpcProxy(upstream: string): Promise<RpcProxy> {
  const target = new URL(upstream);
  let server: Server | undefined;
  let port = 0;
  const p: RpcProxy = {
    url: '',
    mode: 'pass',
    calls: new Map(),
    async down() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
    async up() {
      if (server !== undefined) return;
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks);
          try {
            const j = JSON.parse(body.toString()) as { method?: string } | { method?: string }[];
            for (const m of Array.isArray(j) ? j : [j])
              p.calls.set(String(m.method), (p.calls.get(String(m.method)) ?? 0) + 1);
          } catch {
            /* not JSON: pass it on as is */
          }
          if (p.mode === 'garbage') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end('<html>502 Bad Gateway</html>');
            return;
          }
          if (p.mode === 'error') {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: -32005, message: 'rate limited' } }),
            );
            return;
          }
          const up = request(
            {
              host: target.hostname,
              port: target.port,
              path: target.pathname,
              method: 'POST',
              headers: req.headers,
            },
            (r) => {
              res.writeHead(r.statusCode ?? 502, r.headers);
              r.pipe(res);
            },
          );
          up.on('error', () => {
            res.writeHead(502);
            res.end();
          });
          up.end(body);
        });
      });
      await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
      port = (s.address() as AddressInfo).port;
      p.url = `http://127.0.0.1:${port}`;
      server = s;
    },
    async close() {
      await p.down();
    },
  };
  await p.up();
  return p;
}
