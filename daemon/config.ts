// The daemon's configuration: one TOML file, then `GAVEL_*` environment overrides, checked against
// one TypeBox schema (which also documents every key). Secrets are never values in the file: keys
// ending in `_file` name files, resolved against `$CREDENTIALS_DIRECTORY` (systemd LoadCredential=)
// when relative and that variable is set, else against the config file's folder. A secret file that
// group or others can read is refused (the process will not start).
//
// Environment overrides (each replaces the key it names; documented in gavel.example.toml):
//   GAVEL_LEDGER_PATH, GAVEL_LEDGER_SECRET_FILE, GAVEL_LEDGER_SCAN, GAVEL_LEDGER_MAX_BATCH,
//   GAVEL_SERVER_SOCKET, GAVEL_SERVER_TCP, GAVEL_SERVER_BODY_LIMIT, GAVEL_POLICIES_DIR,
//   GAVEL_POLICIES_TRUST_FILE, GAVEL_CHECKPOINT_KEY_FILE, GAVEL_LOG_LEVEL, GAVEL_TOKENS_FILE
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse as parseToml } from 'smol-toml';
import { DaemonError } from './errors.js';

export const SCOPES = ['evaluate', 'append', 'read', 'deploy', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

const TokenSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[A-Za-z0-9._@/-]+$',
      description: 'identity recorded as the actor',
    }),
    sha256: Type.String({
      pattern: '^[0-9a-f]{64}$',
      description: 'hex SHA-256 of the clear token (never the token itself)',
    }),
    scopes: Type.Array(Type.Union(SCOPES.map((s) => Type.Literal(s))), { minItems: 1 }),
    role: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'role recorded for this identity' }),
    ),
  },
  { additionalProperties: false },
);

const Digits = (description: string) => Type.String({ pattern: '^[0-9]{1,40}$', description });
const AnchorTargetSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9._-]{0,63}$',
      description: 'target name, part of each anchor id',
    }),
    chain: Type.Union([Type.Literal('solana'), Type.Literal('base')]),
    network: Type.Union(
      ['devnet', 'testnet', 'mainnet-beta', 'base', 'base-sepolia', 'local'].map((n) => Type.Literal(n)),
    ),
    rpc_url: Type.Optional(Type.String({ pattern: '^https?://', description: 'JSON-RPC endpoint' })),
    ws_url: Type.Optional(Type.String({ pattern: '^wss?://', description: 'Solana WebSocket endpoint' })),
    key_file: Type.String({
      minLength: 1,
      description: 'funded key: solana-keygen JSON or hex EVM key (0600)',
    }),
    interval_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86400 })),
    daily_cap: Type.Optional(Digits('most lamports / wei spent per UTC day')),
    min_balance: Type.Optional(Digits('refuse to anchor below this balance (lamports / wei)')),
    max_fee_per_gas: Type.Optional(Digits('Base: fee cap in wei per gas')),
    compute_unit_price: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 10_000_000,
        description: 'Solana: micro-lamports per compute unit',
      }),
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    ledger: Type.Object(
      {
        path: Type.String({ minLength: 1, description: 'the JSONL ledger file' }),
        secret_file: Type.Optional(
          Type.String({ minLength: 1, description: 'operator secret (enables seals)' }),
        ),
        scan: Type.Optional(Type.Union([Type.Literal('refuse'), Type.Literal('redact')])),
        max_batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
      },
      { additionalProperties: false },
    ),
    server: Type.Object(
      {
        socket: Type.String({ minLength: 1, description: 'Unix socket path (created 0660)' }),
        tcp: Type.Optional(
          Type.String({
            pattern: '^[^:]+:[0-9]{1,5}$|^\\[[0-9a-fA-F:]+\\]:[0-9]{1,5}$',
            description: 'loopback host:port',
          }),
        ),
        body_limit: Type.Optional(Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 })),
        max_batch: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
      },
      { additionalProperties: false },
    ),
    policies: Type.Optional(
      Type.Object(
        {
          dir: Type.Optional(
            Type.String({ minLength: 1, description: 'folder of policy packages loaded at boot' }),
          ),
          trust_file: Type.Optional(Type.String({ minLength: 1 })),
          allow_unsigned: Type.Optional(Type.Boolean()),
          threads: Type.Optional(
            Type.Integer({
              minimum: 0,
              maximum: 64,
              description: 'engine worker threads; 0 = evaluate in process',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    checkpoint: Type.Optional(
      Type.Object(
        {
          key_file: Type.String({ minLength: 1, description: 'Ed25519 signer key (signed-note encoding)' }),
          origin: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    auth: Type.Optional(
      Type.Object(
        {
          tokens: Type.Optional(Type.Array(TokenSchema)),
          tokens_file: Type.Optional(
            Type.String({ minLength: 1, description: 'TOML file with more [[tokens]]' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    anchor: Type.Optional(
      Type.Object(
        {
          interval_seconds: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 7 * 86400, description: 'default interval between anchors' }),
          ),
          targets: Type.Array(AnchorTargetSchema, { minItems: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union(
              ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type RawConfig = Static<typeof ConfigSchema>;
export type TokenConfig = Static<typeof TokenSchema>;

/** A configuration with every path resolved and secrets read. */
export interface DaemonConfig {
  file: string;
  ledger: { path: string; secret?: string; secretFile?: string; scan: 'refuse' | 'redact'; maxBatch: number };
  server: { socket: string; tcp?: { host: string; port: number }; bodyLimit: number; maxBatch: number };
  policies: { dir?: string; trustFile?: string; allowUnsigned: boolean; threads: number };
  checkpoint?: { keyFile: string; key: string; origin?: string };
  anchor?: { targets: AnchorTargetConfig[] };
  tokens: TokenConfig[];
  logLevel: string;
}

export interface AnchorTargetConfig {
  name: string;
  chain: 'solana' | 'base';
  network: 'devnet' | 'testnet' | 'mainnet-beta' | 'base' | 'base-sepolia' | 'local';
  rpcUrl?: string;
  wsUrl?: string;
  keyFile: string;
  /** The key file's text (never logged, never recorded). */
  key: string;
  intervalMs: number;
  dailyCap?: bigint;
  minBalance?: bigint;
  maxFeePerGas?: bigint;
  computeUnitPrice?: number;
}

const SOLANA_NETWORKS = ['devnet', 'testnet', 'mainnet-beta', 'local'];
const BASE_NETWORKS = ['base', 'base-sepolia', 'local'];

function anchorTargets(c: RawConfig, dir: string, env: NodeJS.ProcessEnv): AnchorTargetConfig[] | undefined {
  if (c.anchor === undefined) return undefined;
  const names = new Set<string>();
  return c.anchor.targets.map((t, i) => {
    const where = `anchor.targets[${i}] (${t.name})`;
    if (names.has(t.name))
      throw new DaemonError('BAD_CONFIG', `${where}: another target has the same name`, { exitCode: 2 });
    names.add(t.name);
    const ok = t.chain === 'solana' ? SOLANA_NETWORKS : BASE_NETWORKS;
    if (!ok.includes(t.network))
      throw new DaemonError(
        'BAD_CONFIG',
        `${where}: network ${t.network} is not a ${t.chain} network (expected one of ${ok.join(', ')})`,
        { exitCode: 2 },
      );
    if (t.network === 'local' && t.rpc_url === undefined)
      throw new DaemonError('BAD_CONFIG', `${where}: a local network needs rpc_url`, { exitCode: 2 });
    const keyFile = resolveSecretPath(t.key_file, dir, env);
    const big = (v: string | undefined) => (v === undefined ? undefined : BigInt(v));
    return {
      name: t.name,
      chain: t.chain,
      network: t.network as AnchorTargetConfig['network'],
      rpcUrl: t.rpc_url,
      wsUrl: t.ws_url,
      keyFile,
      key: readSecretFile(keyFile, `${where} key`),
      intervalMs: (t.interval_seconds ?? c.anchor?.interval_seconds ?? 600) * 1000,
      dailyCap: big(t.daily_cap),
      minBalance: big(t.min_balance),
      maxFeePerGas: big(t.max_fee_per_gas),
      computeUnitPrice: t.compute_unit_price,
    };
  });
}

export interface ConfigProblem {
  path: string;
  expected: string;
  got: string;
  message: string;
}

const ENV: [string, string[], 'string' | 'int'][] = [
  ['GAVEL_LEDGER_PATH', ['ledger', 'path'], 'string'],
  ['GAVEL_LEDGER_SECRET_FILE', ['ledger', 'secret_file'], 'string'],
  ['GAVEL_LEDGER_SCAN', ['ledger', 'scan'], 'string'],
  ['GAVEL_LEDGER_MAX_BATCH', ['ledger', 'max_batch'], 'int'],
  ['GAVEL_SERVER_SOCKET', ['server', 'socket'], 'string'],
  ['GAVEL_SERVER_TCP', ['server', 'tcp'], 'string'],
  ['GAVEL_SERVER_BODY_LIMIT', ['server', 'body_limit'], 'int'],
  ['GAVEL_POLICIES_DIR', ['policies', 'dir'], 'string'],
  ['GAVEL_POLICIES_TRUST_FILE', ['policies', 'trust_file'], 'string'],
  ['GAVEL_CHECKPOINT_KEY_FILE', ['checkpoint', 'key_file'], 'string'],
  ['GAVEL_AUTH_TOKENS_FILE', ['auth', 'tokens_file'], 'string'],
  ['GAVEL_LOG_LEVEL', ['log', 'level'], 'string'],
];
export const ENV_OVERRIDES = ENV.map(([name, path]) => ({ name, key: path.join('.') }));

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string')
    return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v instanceof Date) return 'a date';
  if (typeof v === 'object' && v !== null) return 'a table';
  return `${typeof v} ${String(v)}`;
}

function expectedOf(schema: Record<string, unknown>): string {
  if (Array.isArray(schema.anyOf)) {
    return `one of ${(schema.anyOf as { const?: unknown }[]).map((s) => JSON.stringify(s.const)).join(', ')}`;
  }
  const parts: string[] = [];
  if (typeof schema.type === 'string') parts.push(schema.type === 'object' ? 'a table' : `a ${schema.type}`);
  if (schema.pattern !== undefined) parts.push(`matching /${schema.pattern}/`);
  if (schema.minimum !== undefined) parts.push(`>= ${schema.minimum}`);
  if (schema.maximum !== undefined) parts.push(`<= ${schema.maximum}`);
  if (schema.minLength !== undefined) parts.push(`at least ${schema.minLength} character(s)`);
  if (typeof schema.description === 'string') parts.push(`(${schema.description})`);
  return parts.join(' ') || 'a valid value';
}

function dotted(pointer: string): string {
  const p = pointer.replace(/^\//, '').split('/').filter(Boolean);
  return p.length === 0
    ? '(top level)'
    : p
        .map((s) => (/^\d+$/.test(s) ? `[${s}]` : s))
        .join('.')
        .replace(/\.\[/g, '[');
}

/** Every problem of a parsed config object, each with path, expected and got. */
export function checkRawConfig(raw: unknown): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(ConfigSchema, raw)) {
    const schema = e.schema as Record<string, unknown>;
    // A union reports each failing branch; keep one line per path.
    const key = `${e.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (e.message.startsWith('Unexpected property')) {
      out.push({
        path: dotted(e.path),
        expected: 'no such key',
        got: describe(e.value),
        message: `unknown key ${dotted(e.path)}`,
      });
      continue;
    }
    const expected = expectedOf(schema);
    out.push({
      path: dotted(e.path),
      expected,
      got: describe(e.value),
      message: `${dotted(e.path)}: expected ${expected}, got ${describe(e.value)}`,
    });
  }
  // Secrets inline are refused outright (the schema already rejects unknown keys; say why).
  const text = JSON.stringify(raw ?? {});
  for (const bad of ['"secret"', '"key"', '"token"', '"password"']) {
    if (text.includes(`${bad}:`)) {
      out.push({
        path: bad.replaceAll('"', ''),
        expected: `${bad.replaceAll('"', '')}_file naming a file (or a LoadCredential= credential)`,
        got: 'an inline secret',
        message: 'secrets are never written in the config file: name a file with *_file instead',
      });
    }
  }
  return out;
}

function setPath(obj: Record<string, unknown>, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[path[path.length - 1] as string] = value;
}

/** Applies `GAVEL_*` overrides to a parsed config (in place). */
export function applyEnv(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, path, type] of ENV) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    setPath(raw, path, type === 'int' && /^-?\d+$/.test(v) ? Number(v) : v);
  }
}

export function parseConfigText(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new DaemonError('BAD_CONFIG', `${file}: not valid TOML: ${(err as Error).message.split('\n')[0]}`, {
      exitCode: 2,
    });
  }
}

/** Resolves a secret file name: relative names look in $CREDENTIALS_DIRECTORY first, then beside the config. */
export function resolveSecretPath(name: string, configDir: string, env: NodeJS.ProcessEnv): string {
  if (isAbsolute(name)) return name;
  const creds = env.CREDENTIALS_DIRECTORY;
  if (creds !== undefined && creds !== '') {
    try {
      statSync(resolve(creds, name));
      return resolve(creds, name);
    } catch {
      /* not a credential: beside the config */
    }
  }
  return resolve(configDir, name);
}

/** Reads a secret file, refusing one that group or others may read. */
export function readSecretFile(path: string, what: string): string {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch (err) {
    throw new DaemonError(
      'BAD_CONFIG',
      `${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      { exitCode: 2 },
    );
  }
  if ((st.mode & 0o077) !== 0) {
    throw new DaemonError(
      'INSECURE_SECRET',
      `${what} ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`,
      { exitCode: 2 },
    );
  }
  return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
}

function parseTcp(s: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(s);
  if (m === null)
    throw new DaemonError('BAD_CONFIG', `server.tcp: expected host:port, got ${JSON.stringify(s)}`, {
      exitCode: 2,
    });
  const host = m[1] as string;
  const port = Number(m[2]);
  if (!['127.0.0.1', '::1', 'localhost'].includes(host) && !/^127\.\d+\.\d+\.\d+$/.test(host)) {
    throw new DaemonError(
      'BAD_CONFIG',
      `server.tcp: expected a loopback address (127.0.0.1, ::1, localhost), got ${JSON.stringify(host)}; gavel never listens beyond this machine`,
      { exitCode: 2 },
    );
  }
  if (port > 65535)
    throw new DaemonError('BAD_CONFIG', `server.tcp: port ${port} is above 65535`, { exitCode: 2 });
  return { host, port };
}

/** Loads, overrides, checks and resolves a config file. Throws DaemonError BAD_CONFIG listing every problem. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): DaemonConfig {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new DaemonError(
      'BAD_CONFIG',
      `config ${abs} cannot be read: ${(err as NodeJS.ErrnoException).code}`,
      { exitCode: 2 },
    );
  }
  const raw = parseConfigText(text, abs);
  applyEnv(raw, env);
  const problems = checkRawConfig(raw);
  if (problems.length > 0) {
    throw new DaemonError(
      'BAD_CONFIG',
      `${abs}: ${problems.length} problem(s):\n${problems.map((p) => `  ${p.message}`).join('\n')}`,
      {
        exitCode: 2,
      },
    );
  }
  const c = raw as RawConfig;
  const dir = dirname(abs);
  const path = (p: string): string => resolve(dir, p);
  const secretFile =
    c.ledger.secret_file === undefined ? undefined : resolveSecretPath(c.ledger.secret_file, dir, env);
  const tokens = [...(c.auth?.tokens ?? [])];
  if (c.auth?.tokens_file !== undefined) {
    const tf = resolveSecretPath(c.auth.tokens_file, dir, env);
    const more = parseConfigText(readSecretFile(tf, 'tokens file'), tf);
    const probs = [
      ...Value.Errors(
        Type.Object({ tokens: Type.Array(TokenSchema) }, { additionalProperties: false }),
        more,
      ),
    ];
    if (probs.length > 0) {
      throw new DaemonError(
        'BAD_CONFIG',
        `${tf}: ${probs.map((p) => `${dotted(p.path)}: ${p.message}`).join('; ')}`,
        { exitCode: 2 },
      );
    }
    tokens.push(...(more as { tokens: TokenConfig[] }).tokens);
  }
  const names = new Set<string>();
  for (const t of tokens) {
    if (names.has(t.sha256))
      throw new DaemonError('BAD_CONFIG', `auth.tokens: token ${t.name} repeats another token's hash`, {
        exitCode: 2,
      });
    names.add(t.sha256);
  }
  const keyFile = c.checkpoint === undefined ? undefined : resolveSecretPath(c.checkpoint.key_file, dir, env);
  return {
    file: abs,
    ledger: {
      path: path(c.ledger.path),
      secretFile,
      secret: secretFile === undefined ? undefined : readSecretFile(secretFile, 'operator secret'),
      scan: c.ledger.scan ?? 'refuse',
      maxBatch: c.ledger.max_batch ?? 1000,
    },
    server: {
      socket: path(c.server.socket),
      tcp: c.server.tcp === undefined ? undefined : parseTcp(c.server.tcp),
      bodyLimit: c.server.body_limit ?? 1024 * 1024,
      maxBatch: c.server.max_batch ?? 10000,
    },
    policies: {
      dir: c.policies?.dir === undefined ? undefined : path(c.policies.dir),
      trustFile: c.policies?.trust_file === undefined ? undefined : path(c.policies.trust_file),
      allowUnsigned: c.policies?.allow_unsigned ?? false,
      threads: c.policies?.threads ?? 0,
    },
    checkpoint:
      c.checkpoint === undefined || keyFile === undefined
        ? undefined
        : { keyFile, key: readSecretFile(keyFile, 'checkpoint key'), origin: c.checkpoint.origin },
    anchor: c.anchor === undefined ? undefined : { targets: anchorTargets(c, dir, env) ?? [] },
    tokens,
    logLevel: c.log?.level ?? 'info',
  };
}

/** `gavel config check`: every problem, none thrown. */
export function checkConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ConfigProblem[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return [
      {
        path: file,
        expected: 'a readable file',
        got: (err as NodeJS.ErrnoException).code ?? 'error',
        message: `cannot read ${file}`,
      },
    ];
  }
  let raw: Record<string, unknown>;
  try {
    raw = parseConfigText(text, file);
  } catch (err) {
    return [{ path: '(file)', expected: 'TOML', got: 'a syntax error', message: (err as Error).message }];
  }
  applyEnv(raw, env);
  const problems = checkRawConfig(raw);
  if (problems.length > 0) return problems;
  try {
    loadConfig(file, env);
  } catch (err) {
    problems.push({
      path: '(resolved)',
      expected: 'usable files and addresses',
      got: (err as { code?: string }).code ?? 'error',
      message: (err as Error).message,
    });
  }
  return problems;
}
