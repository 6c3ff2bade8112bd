// Anchoring inside the daemon: builds the configured targets, runs anchor/service.ts as a background
// service on the daemon's ledger and Merkle tree, and serves its status and the on-demand trigger:
//   GET  /v1/anchors      (read)   targets' status and the recent anchors
//   POST /v1/anchors/now  (admin)  anchor now on every target
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AnchorService, type AnchorSnapshot, createTarget, type TargetSpec } from '../anchor/index.js';
import * as chain from '../chain/index.js';
import type { DaemonConfig, Scope } from './config.js';
import { DaemonError } from './errors.js';
import type { BackgroundService, ServiceContext } from './run.js';

export class DaemonAnchoring {
  private svc: AnchorService | undefined;

  constructor(private readonly config: DaemonConfig) {}

  /** The background service (started by startDaemon after the API listens). */
  service(ctx: ServiceContext): BackgroundService {
    const cfg = this.config;
    const specs: TargetSpec[] = (cfg.anchor?.targets ?? []).map((t) => ({
      name: t.name,
      intervalMs: t.intervalMs,
      dailyCap: t.dailyCap,
      minBalance: t.minBalance,
      target: createTarget({
        chain: t.chain,
        network: t.network,
        rpcUrl: t.rpcUrl,
        wsUrl: t.wsUrl,
        key: t.key,
        maxFeePerGas: t.maxFeePerGas,
        computeUnitPrice: t.computeUnitPrice,
      }),
    }));
    let origin: string | undefined = cfg.checkpoint?.origin;
    const snapshot = async (): Promise<AnchorSnapshot | undefined> => {
      const tree = ctx.tree;
      if (tree === undefined) throw new DaemonError('NOT_FOUND', 'no Merkle tree attached to this ledger');
      await tree.flush();
      const size = tree.size;
      if (size === 0) return undefined;
      if (origin === undefined) origin = chain.ledgerOrigin((await ctx.ledger.get(0)).hash);
      const head = (await ctx.ledger.get(size - 1)).hash;
      return { origin, size, root: Buffer.from(tree.root(size)).toString('hex'), head };
    };
    const svc = new AnchorService(
      {
        ledgerPath: cfg.ledger.path,
        append: (input) => ctx.ledger.append(input),
        snapshot,
        log: {
          info: (o, m) => ctx.log.info(o, m),
          warn: (o, m) => ctx.log.warn(o, m),
        },
      },
      specs,
      { backoffMs: 500, finalityPollMs: 1000 },
    );
    this.svc = svc;
    return {
      name: 'anchor',
      start: () => svc.start(),
      stop: async () => {
        await svc.stop();
        await Promise.all(specs.map((s) => s.target.close()));
      },
    };
  }

  register(app: FastifyInstance, guard: (scope: Scope) => (req: FastifyRequest) => Promise<void>): void {
    const running = (): AnchorService => {
      if (this.svc === undefined || !this.svc.running)
        throw new DaemonError('ANCHORING_UNAVAILABLE', 'anchoring is starting or stopping');
      return this.svc;
    };
    app.get<{ Querystring: { n?: string } }>(
      '/v1/anchors',
      {
        onRequest: guard('read'),
        schema: {
          summary:
            "Anchoring: each target's state and the recent anchors (anchor.* entries folded per anchor id)",
          querystring: { type: 'object', properties: { n: { type: 'string', pattern: '^[0-9]{1,4}$' } } },
        },
      },
      async (req) => {
        const n = Math.min(Math.max(Number(req.query.n ?? 50) || 50, 1), 1000);
        const svc = running();
        return {
          targets: json(svc.status()),
          anchors: json(svc.anchors().slice(-n)),
        };
      },
    );
    app.post(
      '/v1/anchors/now',
      {
        onRequest: guard('admin'),
        schema: { summary: 'Anchor now on every target (202; follow with GET /v1/anchors)' },
      },
      async (_req, reply) => {
        return reply.code(202).send(await running().anchorNow());
      },
    );
  }
}

/** bigint-free JSON (fees and caps are decimal strings already; this guards the rest). */
function json<T>(v: T): T {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))) as T;
}
