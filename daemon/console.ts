// The operator console: a read-only page at /console. The page itself (HTML, JS, CSS from
// daemon/console/, no build step) is served without a token; every piece of data it shows comes from
// API routes that need a `read` token (the page asks for it and keeps it in sessionStorage).
//   GET /console, /console/console.js, /console/console.css   static, no token
//   GET /v1/stats/decisions?minutes=30                         read: gate decisions per minute by verdict
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Scope } from './config.js';
import type { LedgerWriter } from './types.js';

// Source files live beside the compiled module's source: dist/daemon/console.js -> daemon/console/.
function assetDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const dir of [path.join(here, 'console'), path.join(here, '..', '..', 'daemon', 'console')]) {
    try {
      readFileSync(path.join(dir, 'index.html'));
      return dir;
    } catch {
      // try the next
    }
  }
  throw new Error('daemon/console/index.html is missing from this installation');
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

const VERDICTS = ['permit', 'permit-with-warning', 'escalate', 'deny'] as const;
/** Most entries read per stats request: a console poll never walks a large backlog. */
const MAX_SCAN = 50_000;

/** Decisions per minute by verdict, kept incrementally from the ledger tail. */
class DecisionStats {
  private next = 0;
  private readonly minutes = new Map<number, Record<string, number>>();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ledger: LedgerWriter) {}

  /** Reads what was appended since the last call; concurrent calls queue (nothing is counted twice). */
  update(): Promise<void> {
    this.chain = this.chain.then(
      () => this.read(),
      () => this.read(),
    );
    return this.chain;
  }

  private async read(): Promise<void> {
    const size = this.ledger.size;
    const from = Math.max(this.next, size - MAX_SCAN);
    const horizon = Math.floor(Date.now() / 60_000) - 120;
    for await (const e of this.ledger.range(from, size)) {
      if (e.kind !== 'gate.decision') continue;
      const m = Math.floor(Date.parse(e.timestamp) / 60_000);
      if (!(m >= horizon)) continue;
      const v = String((e.payload as { verdict?: unknown }).verdict);
      if (!(VERDICTS as readonly string[]).includes(v)) continue;
      let row = this.minutes.get(m);
      if (row === undefined) {
        row = Object.fromEntries(VERDICTS.map((x) => [x, 0]));
        this.minutes.set(m, row);
      }
      row[v] = (row[v] ?? 0) + 1;
    }
    this.next = size;
    for (const m of this.minutes.keys()) if (m < horizon) this.minutes.delete(m);
  }

  series(minutes: number): { minute: string; counts: Record<string, number> }[] {
    const now = Math.floor(Date.now() / 60_000);
    const out: { minute: string; counts: Record<string, number> }[] = [];
    for (let m = now - minutes + 1; m <= now; m++)
      out.push({
        minute: new Date(m * 60_000).toISOString(),
        counts: this.minutes.get(m) ?? Object.fromEntries(VERDICTS.map((x) => [x, 0])),
      });
    return out;
  }
}

export class ConsoleRoutes {
  private readonly stats: DecisionStats;
  private readonly assets = new Map<string, Buffer>();

  constructor(ledger: LedgerWriter) {
    this.stats = new DecisionStats(ledger);
    const dir = assetDir();
    for (const f of Object.keys(TYPES)) this.assets.set(f, readFileSync(path.join(dir, f)));
  }

  register(app: FastifyInstance, guard: (scope: Scope) => (req: FastifyRequest) => Promise<void>): void {
    const send = (file: string) => async (_req: FastifyRequest, reply: import('fastify').FastifyReply) =>
      reply
        .header('content-type', TYPES[file] as string)
        .header('cache-control', 'no-store')
        .header('x-content-type-options', 'nosniff')
        .header(
          'content-security-policy',
          "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        )
        .send(this.assets.get(file));
    app.get('/console', { schema: { hide: true } }, send('index.html'));
    app.get('/console/', { schema: { hide: true } }, send('index.html'));
    app.get('/console/console.js', { schema: { hide: true } }, send('console.js'));
    app.get('/console/console.css', { schema: { hide: true } }, send('console.css'));
    app.get<{ Querystring: { minutes?: string } }>(
      '/v1/stats/decisions',
      {
        onRequest: guard('read'),
        schema: {
          summary: 'Gate decisions per minute by verdict over the last `minutes` (1..120, default 30)',
          querystring: {
            type: 'object',
            properties: { minutes: { type: 'string', pattern: '^[0-9]{1,3}$' } },
          },
        },
      },
      async (req) => {
        const minutes = Math.min(Math.max(Math.trunc(Number(req.query.minutes ?? 30)) || 30, 1), 120);
        await this.stats.update();
        return { minutes, verdicts: VERDICTS, series: this.stats.series(minutes) };
      },
    );
  }
}
