// The daemon's life: boot (ledger tail check, boot.* entries, policies, listen, READY=1), serve,
// SIGHUP (reload config + trust, recorded), SIGTERM/SIGINT (stop intake, drain, fsync, exit 0).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import * as chain from '../chain/index.js';
import { TokenAuthority } from './auth.js';
import { type DaemonConfig, loadConfig } from './config.js';
import { ConsoleRoutes } from './console.js';
import { DaemonError } from './errors.js';
import { listenTcp, listenUnix } from './listen.js';
import { DaemonMetrics } from './metrics.js';
import { type Notifier, systemdNotifier } from './notify.js';
import { PolicyManager } from './policies.js';
import { buildServer, type PolicyApi, type ReadApi } from './server.js';
import { GateService, SOURCE } from './service.js';
import type { DecisionSource, Entry, EventChecker, LedgerWriter } from './types.js';
import {
  catalogueAvailable,
  type EngineRuntime,
  engineRuntime,
  openRealLedger,
  realChecker,
} from './wire.js';

export const VERSION = '0.1.0';

const PASS_THROUGH: EventChecker = { validate: () => {}, scan: (v) => v };

/** Parts a test may supply (in-memory stand-ins are for unit tests only; the product wires the real ones). */
export interface DaemonParts {
  ledger?: LedgerWriter;
  decisions?: DecisionSource;
  checker?: EventChecker;
  /** The Merkle tree sidecar of `ledger` when supplied (for checkpoints and proofs). */
  tree?: chain.LedgerTree;
}

export interface RunningDaemon {
  config: DaemonConfig;
  service: GateService;
  app: FastifyInstance;
  /** Stop intake, drain, close the ledger (fsync), unlink the socket. */
  stop(reason?: string): Promise<void>;
  reload(): Promise<void>;
}

/** The cheap boot check: the head entry's own hash and its link to the one before it (not a full scan). */
export async function verifyTail(
  ledger: LedgerWriter,
): Promise<{ ok: boolean; checked: number; message: string }> {
  const n = ledger.size;
  if (n === 0) return { ok: true, checked: 0, message: 'empty ledger' };
  const from = Math.max(0, n - 2);
  const tail: Entry[] = [];
  for await (const e of ledger.range(from, n)) tail.push(e);
  for (const e of tail) {
    if (chain.entryHash(e as unknown as Record<string, unknown>) !== e.hash) {
      return { ok: false, checked: tail.length, message: `entry ${e.seq} does not match its hash` };
    }
  }
  if (tail.length === 2 && (tail[1] as Entry).previous_hash !== (tail[0] as Entry).hash) {
    return {
      ok: false,
      checked: 2,
      message: `entry ${(tail[1] as Entry).seq} does not link to ${(tail[0] as Entry).seq}`,
    };
  }
  return { ok: true, checked: tail.length, message: `last ${tail.length} entries check` };
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function startDaemon(
  config: DaemonConfig,
  opts: {
    parts?: DaemonParts;
    logger?: Logger;
    notifier?: Notifier;
    policies?: (ctx: PolicyContext) => PolicyApi;
    /** Background services started after listen and stopped (in reverse) before the ledger closes. */
    services?: ((ctx: ServiceContext) => BackgroundService)[];
    /** Engine part override (unit tests only; the product loads engine/index.js). */
    engine?: EngineRuntime;
  } = {},
): Promise<RunningDaemon> {
  const log = opts.logger ?? pino({ level: config.logLevel, base: { service: 'gavel' } });
  const notifier = opts.notifier ?? systemdNotifier();
  const metrics = new DaemonMetrics();
  const started = performance.now();

  const tree =
    opts.parts?.tree ??
    (opts.parts?.ledger === undefined ? new chain.TreeSidecar({ background: true }) : undefined);
  const ledger = opts.parts?.ledger ?? (await openRealLedger(config, tree === undefined ? [] : [tree]));
  let decisions: DecisionSource | undefined;
  try {
    const tail = await verifyTail(ledger);
    if (!tail.ok) {
      throw new DaemonError(
        'LEDGER_UNAVAILABLE',
        `${config.ledger.path}: the ledger tail does not verify (${tail.message}); run gavel audit verify`,
        { exitCode: 1 },
      );
    }
    // The real store runs the catalogue check and the secret scan itself, on every entry (the
    // daemon's own included) and for a whole batch before any of it is queued; its refusals come
    // back as 4xx with nothing written. Checking events here again would double the cost.
    const checker =
      opts.parts?.checker ?? (opts.parts?.ledger === undefined ? PASS_THROUGH : realChecker(config));
    const base = { source: SOURCE, agent: 'gavel', component: 'daemon', role: 'system' };
    await ledger.append({
      ...base,
      kind: 'boot.init',
      action: 'boot',
      detail: `gavel ${VERSION} starting (pid ${process.pid})`,
      outcome: 'ok',
      payload: {
        version: VERSION,
        pid: process.pid,
        node: process.version,
        ledger_size: ledger.size,
        tail: tail.message,
      },
    });

    decisions = opts.parts?.decisions;
    let manager: PolicyManager | undefined;
    const service = new GateService(ledger, decisions ?? new NoPolicies(), checker, metrics);
    if (decisions === undefined && config.policies.dir !== undefined) {
      // The engine is needed only when policies are configured; without them every gate is unknown.
      manager = new PolicyManager(
        opts.engine ?? (await engineRuntime()),
        ledger,
        service,
        config.policies.dir,
        () => config.policies.trustFile,
        {
          threads: config.policies.threads,
          allowUnsigned: config.policies.allowUnsigned,
        },
      );
      await manager.start();
    }
    decisions = service.decisions;
    await ledger.append({
      ...base,
      kind: 'boot.config',
      action: 'config',
      detail: `config ${config.file}`,
      outcome: 'ok',
      payload: {
        file: config.file,
        sha256: sha256File(config.file),
        tokens: config.tokens.map((t) => ({ name: t.name, scopes: t.scopes })),
        sealed: config.ledger.secret !== undefined,
        scan: config.ledger.scan,
        checks: catalogueAvailable(),
        policies: decisions.active(),
      },
    });

    const auth = new TokenAuthority(config.tokens);
    let ready = false;
    const signer = config.checkpoint === undefined ? undefined : chain.parseSignerKey(config.checkpoint.key);
    const origin = async (): Promise<string> => {
      if (config.checkpoint?.origin !== undefined) return config.checkpoint.origin;
      const g = await ledger.get(0);
      return chain.ledgerOrigin(g.hash);
    };
    const read: ReadApi = {
      status: () => ({
        ready,
        ledger: { path: config.ledger.path, size: ledger.size, head: ledger.head?.hash ?? null },
        policies: service.decisions.active(),
      }),
      async checkpoint() {
        if (signer === undefined)
          throw new DaemonError('NOT_FOUND', 'no checkpoint key configured ([checkpoint] key_file)');
        if (tree === undefined) throw new DaemonError('NOT_FOUND', 'no Merkle tree attached to this ledger');
        await tree.flush();
        const size = tree.size;
        const c = { origin: await origin(), size, root: tree.root(size) };
        return {
          origin: c.origin,
          size,
          root: Buffer.from(c.root).toString('base64'),
          note: chain.signCheckpoint(c, signer),
        };
      },
      async proof(seq) {
        const cp = await read.checkpoint();
        if (seq >= cp.size)
          throw new DaemonError('NOT_FOUND', `no entry ${seq}: the checkpoint covers ${cp.size} entries`);
        const entry = (await ledger.get(seq)) as unknown as Record<string, unknown>;
        return chain.buildProofFile({
          index: seq,
          entry,
          path: (tree as chain.LedgerTree).inclusionProof(seq, cp.size),
          checkpoint: cp.note,
        });
      },
      async verify() {
        // On this thread: a verify request must not take the cores the hot path needs. Seals are
        // checked with the operator secret when the daemon has it.
        const r = await chain.verifyLedgerParallel(config.ledger.path, {
          threads: 0,
          secret: config.ledger.secret,
        });
        return {
          ok: r.ok,
          entries: r.entries,
          message: r.message,
          failed_entry: r.failedEntry ?? null,
          keyed_checks: r.keyedChecks,
        };
      },
    };
    // Loaded only when configured: the chain clients (web3.js, viem) cost ~150 ms of startup.
    const anchoring =
      config.anchor === undefined ? undefined : new (await import('./anchoring.js')).DaemonAnchoring(config);
    const app = await buildServer({
      extensions: [new ConsoleRoutes(ledger), ...(anchoring === undefined ? [] : [anchoring])],
      service,
      auth,
      metrics,
      read,
      policies: opts.policies?.({ ledger, service, config, log }) ?? manager,
      bodyLimit: config.server.bodyLimit,
      maxBatch: config.server.maxBatch,
      logger: log as unknown as FastifyInstance['log'],
      version: VERSION,
    });
    await app.ready();
    await listenUnix(app, config.server.socket);
    let tcp: Server | undefined;
    if (config.server.tcp !== undefined)
      tcp = await listenTcp(app, config.server.tcp.host, config.server.tcp.port);
    const tcpAddr = tcp?.address();
    // Background services (e.g. anchoring, issue 6) start after the API is up; each is named in boot.services.
    const services: BackgroundService[] = [];
    const makers = [...(opts.services ?? [])];
    if (anchoring !== undefined) makers.push((ctx) => anchoring.service(ctx));
    for (const make of makers) {
      const svc = make({ ledger, service, config, log, checkpoint: () => read.checkpoint(), tree });
      await svc.start();
      services.push(svc);
    }
    await ledger.append({
      ...base,
      kind: 'boot.services',
      action: 'listen',
      detail: `listening on ${config.server.socket}${tcpAddr && typeof tcpAddr === 'object' ? ` and ${tcpAddr.address}:${tcpAddr.port}` : ''}`,
      outcome: 'ok',
      payload: {
        socket: config.server.socket,
        tcp: tcpAddr && typeof tcpAddr === 'object' ? `${tcpAddr.address}:${tcpAddr.port}` : null,
        checkpoint: signer === undefined ? null : chain.formatVerifierKey(signer),
        services: services.map((x) => x.name),
      },
    });
    const bootMs = performance.now() - started;
    await ledger.append({
      ...base,
      kind: 'boot.ready',
      action: 'ready',
      detail: `ready in ${bootMs.toFixed(0)} ms`,
      outcome: 'ok',
      payload: { boot_ms: Math.round(bootMs), ledger_size: ledger.size },
    });
    ready = true;
    metrics.ledgerSize.set(ledger.size);
    notifier.ready(`serving ${config.server.socket}`);
    const stopWatchdog = notifier.startWatchdog(() => ready);
    log.info(
      { socket: config.server.socket, tcp: tcpAddr, boot_ms: Math.round(bootMs), ledger_size: ledger.size },
      'gavel daemon ready',
    );

    let stopping: Promise<void> | undefined;
    const running: RunningDaemon = {
      config,
      service,
      app,
      stop(reason = 'stop') {
        stopping ??= (async () => {
          ready = false;
          notifier.stopping();
          stopWatchdog();
          log.info({ reason }, 'stopping: intake closed, draining');
          await service.drain();
          for (const svc of services.reverse())
            await svc
              .stop()
              .catch((err) =>
                log.error({ err: (err as Error).message, service: svc.name }, 'service stop failed'),
              );
          tcp?.close();
          tcp?.closeAllConnections();
          await app.close();
          await service.decisions.close();
          await tree?.flush();
          await ledger.close();
          log.info('stopped: ledger closed and fsynced');
        })();
        return stopping;
      },
      async reload() {
        notifier.reloading();
        try {
          const next = loadConfig(config.file);
          auth.replace(next.tokens);
          config.tokens = next.tokens;
          config.policies.trustFile = next.policies.trustFile;
          config.logLevel = next.logLevel;
          log.level = next.logLevel;
          await ledger.append({
            ...base,
            kind: 'boot.config',
            action: 'reload',
            detail: `reloaded ${config.file} (SIGHUP)`,
            outcome: 'ok',
            payload: {
              file: config.file,
              sha256: sha256File(config.file),
              reason: 'SIGHUP',
              tokens: next.tokens.map((t) => ({ name: t.name, scopes: t.scopes })),
              // The trust file is re-read on every deployment step; record which one is now in force.
              trust_file: next.policies.trustFile ?? null,
              trust_sha256:
                next.policies.trustFile === undefined ? null : sha256File(next.policies.trustFile),
            },
          });
          log.info('configuration reloaded');
        } catch (err) {
          log.error({ err: (err as Error).message }, 'reload failed; keeping the running configuration');
        } finally {
          notifier.ready();
        }
      },
    };
    return running;
  } catch (err) {
    await decisions?.close().catch(() => {});
    await ledger.close().catch(() => {});
    throw err;
  }
}

/** A background service of the daemon (anchoring plugs in here). */
export interface BackgroundService {
  name: string;
  start(): Promise<void>;
  /** Called after intake stopped and requests drained; the ledger is still open. */
  stop(): Promise<void>;
}
export interface ServiceContext extends PolicyContext {
  /** A fresh signed checkpoint of the ledger head (needs [checkpoint] key_file). */
  checkpoint(): Promise<{ origin: string; size: number; root: string; note: string }>;
  tree: chain.LedgerTree | undefined;
}

export interface PolicyContext {
  ledger: LedgerWriter;
  service: GateService;
  config: DaemonConfig;
  log: Logger;
}

/** The decision source of a daemon with no policies configured: it serves no gate. */
export class NoPolicies implements DecisionSource {
  serves(): boolean {
    return false;
  }
  evaluate(req: { gate: string }): Promise<never> {
    return Promise.reject(new DaemonError('UNKNOWN_GATE', `no policy serves gate "${req.gate}"`));
  }
  evaluateBatch(reqs: { gate: string }[]): Promise<never> {
    return this.evaluate(reqs[0] ?? { gate: '?' });
  }
  active() {
    return [];
  }
  async close(): Promise<void> {}
}

/** `gavel daemon --config FILE`: runs until SIGTERM/SIGINT; SIGHUP reloads. */
export async function runDaemonProcess(
  configFile: string,
  opts: { services?: ((ctx: ServiceContext) => BackgroundService)[] } = {},
): Promise<void> {
  const config = loadConfig(configFile);
  const d = await startDaemon(config, opts);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      d.stop(sig).then(resolve, (err) => {
        process.stderr.write(`gavel: stop failed: ${(err as Error).message}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => void d.reload());
  });
}
