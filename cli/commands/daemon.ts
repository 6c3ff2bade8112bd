// `gavel daemon`: run the service, install its systemd unit, mint API tokens.
import type { Command } from 'commander';

export function register(program: Command): void {
  const d = program
    .command('daemon')
    .description('Run the gavel daemon (HTTP API on a Unix socket); SIGTERM stops it cleanly, SIGHUP reloads')
    .option('--config <file>', 'TOML configuration file (default: $GAVEL_CONFIG)')
    .action(async (opts: { config?: string }) => {
      const m = await import('../daemon/commands.js');
      await m.daemonRun(opts);
    });
  d.command('install')
    .description('Write the systemd unit and a sample config (never overwrites a config unless --force)')
    .option('--prefix <dir>', 'install root (default /)')
    .option('--dry-run', 'only print what would be written', false)
    .option('--force', 'overwrite an existing config', false)
    .option('--json', 'print JSON', false)
    .action(async (opts: { prefix?: string; dryRun: boolean; force: boolean; json: boolean }) => {
      const m = await import('../daemon/commands.js');
      m.daemonInstall(opts);
    });
  d.command('token')
    .description(
      'Mint an API token: prints the clear token once and the [[auth.tokens]] block (hash only) for the config',
    )
    .requiredOption('--name <name>', 'identity recorded as the actor')
    .requiredOption('--scopes <list>', 'comma-separated: evaluate,append,read,deploy,admin')
    .option('--role <role>', 'role recorded for this identity')
    .option('--json', 'print JSON', false)
    .action(async (opts: { name: string; scopes: string; role?: string; json: boolean }) => {
      const m = await import('../daemon/commands.js');
      m.daemonToken(opts);
    });
}
