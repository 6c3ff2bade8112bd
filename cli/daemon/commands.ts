// Implementations of `gavel daemon`, `gavel daemon install|token`, `gavel config check`, `gavel status`.
import { checkConfigFile, newToken, runDaemonProcess, SCOPES } from '../../daemon/index.js';
import { install } from '../../daemon/install.js';
import { UsageError } from '../errors.js';
import { type ConnectOpts, connect, print } from './connect.js';

export async function daemonRun(opts: { config?: string }): Promise<void> {
  const file = opts.config ?? process.env.GAVEL_CONFIG;
  if (file === undefined)
    throw new UsageError('give --config FILE (or $GAVEL_CONFIG); see daemon/gavel.example.toml');
  await runDaemonProcess(file);
}

export function daemonInstall(opts: {
  prefix?: string;
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}): void {
  const plan = install(opts);
  const lines = plan.files.map(
    (f) =>
      `${opts.dryRun ? 'would write' : f.skipped ? 'kept' : 'wrote'} ${f.path} (mode ${f.mode.toString(8)}${f.skipped ? `, ${f.skipped}` : ''})`,
  );
  lines.push(
    'next: create user gavel, put secrets in /etc/gavel/credentials (0600), edit /etc/gavel/gavel.toml,',
    '      gavel config check /etc/gavel/gavel.toml && systemctl daemon-reload && systemctl enable --now gavel',
  );
  print(opts.json === true, plan, lines.join('\n'));
}

export function daemonToken(opts: { name: string; scopes: string; role?: string; json?: boolean }): void {
  const scopes = opts.scopes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scopes) {
    if (!(SCOPES as readonly string[]).includes(s))
      throw new UsageError(`unknown scope "${s}": expected some of ${SCOPES.join(', ')}`);
  }
  if (scopes.length === 0) throw new UsageError('give at least one scope with --scopes');
  const t = newToken();
  const toml = `[[auth.tokens]]\nname = ${JSON.stringify(opts.name)}\nsha256 = "${t.sha256}"\nscopes = [${scopes.map((s) => JSON.stringify(s)).join(', ')}]${opts.role ? `\nrole = ${JSON.stringify(opts.role)}` : ''}`;
  if (opts.json) {
    print(true, { name: opts.name, token: t.token, sha256: t.sha256, scopes, toml }, '');
    return;
  }
  process.stderr.write(
    'The token below is shown once. Give it to the client (GAVEL_TOKEN or a 0600 token file);\nput only the TOML block in the config.\n\n',
  );
  process.stdout.write(`${t.token}\n\n${toml}\n`);
}

export function configCheck(file: string, opts: { json?: boolean }): void {
  const problems = checkConfigFile(file);
  if (opts.json) print(true, { ok: problems.length === 0, problems }, '');
  else if (problems.length === 0) process.stdout.write(`${file}: OK\n`);
  else {
    process.stderr.write(`${file}: ${problems.length} problem(s)\n`);
    for (const p of problems)
      process.stderr.write(
        `  ${p.path}: ${p.message}\n    expected: ${p.expected}\n    got:      ${p.got}\n`,
      );
  }
  if (problems.length > 0) process.exitCode = 1;
}

export async function status(opts: ConnectOpts & { json?: boolean }): Promise<void> {
  const c = connect(opts);
  try {
    const s = (await c.status()) as {
      ready: boolean;
      version: string;
      pid: number;
      uptime_s: number;
      ledger: { path: string; size: number; head: string | null };
      policies: { name: string; version: string; gates: string[] }[];
      identity: string;
    };
    print(
      opts.json === true,
      s,
      [
        `gavel ${s.version} pid ${s.pid} ${s.ready ? 'ready' : 'NOT READY'} (up ${Math.round(s.uptime_s)} s, you are ${s.identity})`,
        `ledger ${s.ledger.path}: ${s.ledger.size} entries, head ${s.ledger.head ?? '-'}`,
        `policies: ${s.policies.length === 0 ? 'none' : s.policies.map((p) => `${p.name}@${p.version} (${p.gates.length} gates)`).join(', ')}`,
      ].join('\n'),
    );
  } finally {
    c.close();
  }
}
