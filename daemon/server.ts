// The HTTP/JSON API (fastify 5): TypeBox schemas validate every body, params and query, serialise
// every answer and produce /v1/openapi.json. Errors are always `{error: {code, message}}`.
import swagger from '@fastify/swagger';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { batchDecisionsJson } from './answer-json.js';
import { type Identity, TokenAuthority } from './auth.js';
import type { Scope } from './config.js';
import { DaemonError, httpStatus } from './errors.js';
import type { DaemonMetrics } from './metrics.js';
import * as S from './schemas.js';
import type { GateService } from './service.js';
import type { Entry } from './types.js';

export interface ReadApi {
  status(): {
    ready: boolean;
    ledger: { path: string; size: number; head: string | null };
    policies: { name: string; version: string; sha256: string; gates: string[] }[];
  };
  checkpoint(): Promise<{ origin: string; size: number; root: string; note: string }>;
  proof(seq: number): Promise<string>;
  verify(): Promise<{
    ok: boolean;
    entries: number;
    message: string;
    failed_entry: number | null;
    keyed_checks: number;
  }>;
}

export interface PolicyApi {
  register(app: FastifyInstance, guard: (scope: Scope) => (req: FastifyRequest) => Promise<void>): void;
}

export interface ServerOptions {
  service: GateService;
  auth: TokenAuthority;
  metrics: DaemonMetrics;
  read: ReadApi;
  policies?: PolicyApi;
  /** More route modules (anchoring, …), registered the same way. */
  extensions?: PolicyApi[];
  bodyLimit: number;
  maxBatch: number;
  logger: FastifyInstance['log'] | false;
  version: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

// fastify's own client-error codes, renamed to the API's.
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'BAD_REQUEST',
};

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger === false ? false : undefined,
    loggerInstance: o.logger === false ? undefined : o.logger,
    bodyLimit: o.bodyLimit,
    // One log line per request would cost more than the decision; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Exact types: "1" is not a number and unknown keys are refused, never silently dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
  }) as unknown as FastifyInstance;

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'gavel daemon API',
        version: o.version,
        description:
          'Governance gates decided by signed WebAssembly policies, every decision durably recorded before it is answered.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler(
    (
      err: Error & { code?: string; statusCode?: number; validation?: unknown; validationContext?: string },
      _req,
      reply,
    ) => {
      let code: string;
      let status: number;
      let message = err.message;
      if (err.validation !== undefined) {
        code = 'BAD_REQUEST';
        status = 400;
      } else if (err.code !== undefined && FASTIFY_CODES[err.code] !== undefined) {
        code = FASTIFY_CODES[err.code] as string;
        status = err.statusCode ?? 400;
        if (code === 'PAYLOAD_TOO_LARGE')
          message = `request body is larger than the limit of ${o.bodyLimit} bytes`;
      } else if (err instanceof DaemonError) {
        code = err.code;
        status = err.status;
      } else if (
        typeof err.code === 'string' &&
        !err.code.startsWith('FST_') &&
        httpStatus(err.code) !== 500
      ) {
        code = err.code;
        status = httpStatus(err.code);
      } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        code = 'BAD_REQUEST';
        status = err.statusCode;
      } else {
        code = 'INTERNAL';
        status = 500;
        reply.log.error({ err }, 'request failed');
        message = 'internal error (see the daemon log)';
      }
      o.metrics.refused.inc({ code });
      void reply.code(status).send(errorBody(code, message));
    },
  );
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(errorBody('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  const guard = (scope: Scope) => async (req: FastifyRequest) => {
    const id = o.auth.authenticate(req.headers.authorization);
    TokenAuthority.require(id, scope);
    req.identity = id;
  };
  const who = (req: FastifyRequest): Identity => req.identity as Identity;
  const errors = {
    400: S.ErrorReply,
    401: S.ErrorReply,
    403: S.ErrorReply,
    404: S.ErrorReply,
    413: S.ErrorReply,
    503: S.ErrorReply,
  };
  const timed = (route: string, reply: FastifyReply, t: number) => {
    o.metrics.latency.observe({ route }, (performance.now() - t) / 1000);
    return reply;
  };
  const tooMany = (n: number) => {
    if (n > o.maxBatch)
      throw new DaemonError('BAD_REQUEST', `a batch holds at most ${o.maxBatch} items (got ${n})`);
  };

  app.post<{ Params: { gate: string }; Body: S.EvaluateBody }>(
    '/v1/gates/:gate/evaluate',
    {
      onRequest: guard('evaluate'),
      schema: {
        summary: 'Decide one gate request; answered only after the decision entry is fsynced',
        params: S.GateParams,
        body: S.EvaluateBody,
        response: { 200: S.DecisionReply, ...errors },
      },
    },
    async (req, reply) => {
      const t = performance.now();
      const a = await o.service.evaluate(who(req), req.params.gate, req.body);
      timed('evaluate', reply, t);
      return a;
    },
  );
  app.post<{ Body: S.BatchEvaluateBody }>(
    '/v1/gates/batch',
    {
      onRequest: guard('evaluate'),
      schema: {
        summary: 'Decide many gate requests; one ledger write and fsync for the lot',
        body: S.BatchEvaluateBody,
        response: { 200: S.BatchDecisionReply, ...errors },
      },
    },
    async (req, reply) => {
      tooMany(req.body.requests.length);
      const t = performance.now();
      const decisions = await o.service.evaluateBatch(who(req), req.body.requests);
      timed('evaluate_batch', reply, t);
      // Written as the response schema would (checked in test/daemon/answer-json.test.ts), in bytes.
      return reply.type('application/json; charset=utf-8').send(batchDecisionsJson(decisions));
    },
  );
  app.post<{ Body: S.EventBody }>(
    '/v1/events',
    {
      onRequest: guard('append'),
      schema: {
        summary: 'Record one typed event',
        body: S.EventBody,
        response: { 200: S.Appended, ...errors },
      },
    },
    async (req) => (await o.service.appendEvents(who(req), [req.body]))[0],
  );
  app.post<{ Body: { events: S.EventBody[] } }>(
    '/v1/events/batch',
    {
      onRequest: guard('append'),
      schema: {
        summary: 'Record typed events in one write',
        body: S.BatchEventBody,
        response: { 200: S.BatchAppended, ...errors },
      },
    },
    async (req) => {
      tooMany(req.body.events.length);
      return { entries: await o.service.appendEvents(who(req), req.body.events) };
    },
  );
  app.post<{ Body: S.EmergencyBody }>(
    '/v1/emergency',
    {
      onRequest: guard('evaluate'),
      schema: {
        summary: 'Emergency action: recorded at once, judged post hoc by chain.emergency',
        body: S.EmergencyBody,
        response: { 200: S.EmergencyReply, ...errors },
      },
    },
    async (req) => o.service.emergency(who(req), req.body),
  );

  // Reading.
  const entry = (e: Entry) => e as unknown as Record<string, unknown>;
  app.get<{ Params: { seq: string } }>(
    '/v1/entries/:seq',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'One entry by seq',
        params: S.SeqParams,
        response: { 200: S.EntryReply, ...errors },
      },
    },
    async (req) => {
      const seq = Number(req.params.seq);
      if (seq >= o.service.ledger.size)
        throw new DaemonError(
          'NOT_FOUND',
          `no entry ${seq}: the ledger has ${o.service.ledger.size} entries`,
        );
      return entry(await o.service.ledger.get(seq));
    },
  );
  app.get<{ Querystring: { from: string; to: string } }>(
    '/v1/entries',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'Entries from <= seq < to (at most 1000)',
        querystring: S.RangeQuery,
        response: { 200: S.EntriesReply, ...errors },
      },
    },
    async (req) => {
      const size = o.service.ledger.size;
      const from = Number(req.query.from);
      const to = Math.min(Number(req.query.to), size);
      if (to - from > 1000)
        throw new DaemonError('BAD_REQUEST', `at most 1000 entries a request (asked ${to - from})`);
      const entries: Record<string, unknown>[] = [];
      if (from < to) for await (const e of o.service.ledger.range(from, to)) entries.push(entry(e));
      return { entries, size };
    },
  );
  app.get<{ Querystring: { n?: string } }>(
    '/v1/entries/recent',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'The last n entries (default 20)',
        querystring: S.RecentQuery,
        response: { 200: S.EntriesReply, ...errors },
      },
    },
    async (req) => {
      const size = o.service.ledger.size;
      const from = Math.max(0, size - Number(req.query.n ?? 20));
      const entries: Record<string, unknown>[] = [];
      if (from < size) for await (const e of o.service.ledger.range(from, size)) entries.push(entry(e));
      return { entries, size };
    },
  );
  app.get(
    '/v1/checkpoint',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'Signed checkpoint (C2SP tlog-checkpoint note) of the ledger head',
        response: { 200: S.CheckpointReply, ...errors },
      },
    },
    async () => o.read.checkpoint(),
  );
  app.get<{ Params: { seq: string } }>(
    '/v1/proofs/:seq',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'Inclusion proof of one entry against a fresh signed checkpoint',
        params: S.SeqParams,
        response: { 200: S.ProofReply, ...errors },
      },
    },
    async (req) => ({ proof: await o.read.proof(Number(req.params.seq)) }),
  );
  app.get(
    '/v1/verify',
    {
      onRequest: guard('read'),
      schema: {
        summary: 'Verify the whole ledger (hash chain, seals) now',
        response: { 200: S.VerifyReply, ...errors },
      },
    },
    async () => o.read.verify(),
  );
  app.get(
    '/v1/status',
    {
      onRequest: guard('read'),
      schema: { summary: 'Daemon status', response: { 200: S.StatusReply, ...errors } },
    },
    async (req) => ({
      ...o.read.status(),
      version: o.version,
      pid: process.pid,
      uptime_s: process.uptime(),
      identity: who(req).name,
    }),
  );
  o.policies?.register(app, guard);
  for (const x of o.extensions ?? []) x.register(app, guard);

  // Unauthenticated operations endpoints: no ledger content, no secrets.
  app.get('/healthz', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const ready = o.read.status().ready && o.service.accepting;
    return reply.code(ready ? 200 : 503).send({ ready });
  });
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => {
    o.metrics.ledgerSize.set(o.service.ledger.size);
    return reply
      .header('content-type', o.metrics.registry.contentType)
      .send(await o.metrics.registry.metrics());
  });
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return app;
}
