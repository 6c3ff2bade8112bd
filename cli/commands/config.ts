// `gavel config check FILE`: explain every problem of a daemon configuration.
import type { Command } from 'commander';

export function register(program: Command): void {
  const c = program.command('config').description('Daemon configuration');
  c.command('check')
    .description(
      'Check a daemon config file (and GAVEL_* overrides): each problem with its path, what was expected and what was found; exit 1 if any',
    )
    .argument('<file>', 'TOML configuration file')
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts: { json: boolean }) => {
      const m = await import('../daemon/commands.js');
      m.configCheck(file, opts);
    });
}
