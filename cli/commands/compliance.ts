// `gavel compliance report`: the compliance page generated from the ledger.
import type { Command } from 'commander';
import { addDaemonOptions } from './status.js';

export function register(program: Command): void {
  const c = program.command('compliance').description('Compliance reporting from the ledger');
  addDaemonOptions(
    c
      .command('report')
      .description(
        'Gate inventory and serving policies, decisions by gate and verdict, event kinds against the catalogue, ledger verification with seals, checkpoints and anchors, and the gaps; each check PASS/FAIL/INFO. Exit 0 all pass, 1 any FAIL, 2 usage',
      ),
  )
    .option('--ledger <file>', 'the ledger (default: ledger.path of --config)')
    .option(
      '--config <file>',
      'daemon config: ledger path, operator secret, anchor targets and intervals (or $GAVEL_CONFIG)',
    )
    .option('--daemon', 'also ask the running daemon for the live policy set (--socket/--url, token)', false)
    .option('--format <format>', 'md | html | json (json: format "gavel.compliance/v1", stable)', 'md')
    .option('--out <file>', 'write the report here instead of stdout')
    .option('--now <iso>', 'the time the report is made at (for reproducible reports)')
    .option(
      '--anchor-interval <seconds>',
      'anchor interval for targets not in --config (overdue = 3 intervals)',
      '600',
    )
    .option(
      '--secret-file <file>',
      'operator secret file (0600) to check seals; else $GAVEL_OPERATOR_SECRET or the config',
    )
    .action(async (opts) => {
      const m = await import('../compliance/command.js');
      await m.complianceReport(opts);
    });
}
