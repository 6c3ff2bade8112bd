// `gavel start` — what `npm start` runs: the system on embedded development defaults.
import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('start')
    .description('Run gavel on embedded development defaults (state in ./.gavel); Ctrl-C stops it')
    .option('--dir <dir>', 'state folder', '.gavel')
    .option('--port <port>', 'loopback TCP port', '8787')
    .option('--no-demo', 'skip the demo requests')
    .option('--no-chains', 'do not start local validators or anchor')
    .option('--anchor-interval <seconds>', 'seconds between anchors to the local chains', '5')
    .action(
      async (opts: { dir: string; port: string; demo: boolean; chains: boolean; anchorInterval: string }) => {
        if (!/^\d{1,5}$/.test(opts.port) || Number(opts.port) > 65535) {
          const { UsageError } = await import('../errors.js');
          throw new UsageError(`--port must be a TCP port number, got ${JSON.stringify(opts.port)}`);
        }
        const m = await import('../start.js');
        await m.start(opts);
      },
    );
}
