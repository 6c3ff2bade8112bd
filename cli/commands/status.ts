// `gavel status`: what a running daemon is doing.
import type { Command } from 'commander';

export function addDaemonOptions(cmd: Command): Command {
  return cmd
    .option('--socket <path>', 'daemon Unix socket (default: $GAVEL_SOCKET or /run/gavel/gavel.sock)')
    .option('--url <url>', 'daemon loopback URL instead of the socket (or $GAVEL_URL)')
    .option('--token-file <file>', 'file holding the API token (default: $GAVEL_TOKEN)');
}

export function register(program: Command): void {
  addDaemonOptions(
    program
      .command('status')
      .description('Show the running daemon: readiness, ledger size and head, active policies'),
  )
    .option('--json', 'print JSON', false)
    .action(async (opts: { socket?: string; url?: string; tokenFile?: string; json: boolean }) => {
      const m = await import('../daemon/commands.js');
      await m.status(opts);
    });
}
