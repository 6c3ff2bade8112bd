// `gavel anchor now|status|verify` and `gavel localnet`.
import type { Command } from 'commander';
import { collect } from './shared.js';
import { addDaemonOptions } from './status.js';

export function register(program: Command): void {
  const anchor = program
    .command('anchor')
    .description('Anchor ledger checkpoints on Solana and Base, and verify anchors against the chains');

  addDaemonOptions(anchor.command('now').description('Ask the running daemon to anchor now on every target'))
    .option(
      '--wait',
      'wait until each target finalized (or failed) an anchor of the current checkpoint',
      false,
    )
    .option('--timeout <seconds>', 'with --wait: give up after this long', '120')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const m = await import('../anchor/commands.js');
      await m.anchorNow(opts);
    });

  addDaemonOptions(
    anchor
      .command('status')
      .description("Show each target's state (from the daemon, or with --ledger from the ledger file)"),
  )
    .option('--ledger <file>', 'read anchor entries from this ledger instead of asking the daemon')
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const m = await import('../anchor/commands.js');
      await m.anchorStatus(opts);
    });

  anchor
    .command('verify')
    .description(
      'Re-read anchor transactions from their chains and check the ledger still matches them; exit 0 ok, 1 mismatch, 3 a chain could not be read',
    )
    .option('--ledger <file>', 'the ledger (default: ledger.path of --config, or $GAVEL_LEDGER)')
    .option('--config <file>', 'daemon config: the targets and their RPC endpoints (or $GAVEL_CONFIG)')
    .option('--all', 'every finalized anchor (default: the newest of each target)', false)
    .option('--seq <n>', 'also prove entry N is included under the first anchor that covers it')
    .option('--rpc <target=url>', 'RPC endpoint for a target name or chain:network (repeatable)', collect, [])
    .option('--tx <chain:network:tx>', 'an anchor transaction known from elsewhere (repeatable)', collect, [])
    .option(
      '--secret-file <file>',
      'operator secret file (mode 0600): also check seals; else $GAVEL_OPERATOR_SECRET',
    )
    .option('--json', 'print JSON', false)
    .action(async (opts) => {
      const m = await import('../anchor/commands.js');
      await m.anchorVerify(opts);
    });

  anchor
    .command('prove')
    .description(
      'Write a self-contained proof that entry N is under an anchored root (checkable with the chain alone)',
    )
    .requiredOption('--seq <n>', 'entry number')
    .option('--ledger <file>', 'the ledger (default: ledger.path of --config)')
    .option('--config <file>', 'daemon config (or $GAVEL_CONFIG)')
    .option(
      '--target <name>',
      'use an anchor of this target (default: the first anchor of any target that covers it)',
    )
    .option('--out <file>', 'write the proof here instead of stdout')
    .action(async (opts) => {
      const m = await import('../anchor/commands.js');
      await m.anchorProve(opts);
    });

  anchor
    .command('check-proof')
    .description(
      'Check an anchored proof against its chain: exit 0 holds, 1 does not, 3 the chain could not be read',
    )
    .argument('<file>', 'a gavel.anchor-proof/v1 file')
    .option('--rpc <url>', "the chain's RPC endpoint (default: the public endpoint of the proof's network)")
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts) => {
      const m = await import('../anchor/commands.js');
      await m.anchorCheckProof(file, opts);
    });

  program
    .command('localnet')
    .description(
      'Start local validators (anvil for Base, a local Solana RPC), print their URLs; Ctrl-C stops them',
    )
    .option('--json', 'print the URLs as JSON', false)
    .option('--no-solana', 'do not start the Solana validator')
    .option('--no-base', 'do not start anvil')
    .option('--state <dir>', 'keep the chains in this folder across restarts')
    .option(
      '--fund <solana-address>',
      'airdrop 10 SOL to this address on the local Solana validator (repeatable)',
      collect,
      [],
    )
    .action(async (opts) => {
      const m = await import('../anchor/localnet.js');
      await m.localnet(opts);
    });
}
