// Checkpoint and proof subcommands of `gavel audit` (the group itself belongs to cli/commands/audit.ts;
// this file must come after it in cli/commands/index.ts, and creates the group if it is absent).
import type { Command } from 'commander';
import { collect, group } from './shared.js';

export function register(program: Command): void {
  const audit = group(program, 'audit', 'Record and check the tamper-evident ledger');

  audit
    .command('checkpoint')
    .description('Print a signed checkpoint (C2SP tlog-checkpoint note) of the ledger')
    .requiredOption('--ledger <file>', 'ledger file')
    .requiredOption('--key <keyfile>', 'Ed25519 private key file (gavel keys new)')
    .option('--size <n>', 'checkpoint the first N entries instead of all')
    .option('--origin <origin>', 'origin line (default gavel.local/<first 16 hex of the genesis hash>)')
    .option('--out <file>', 'write the note to a file instead of stdout')
    .option('--json', 'print JSON (origin, size, root, note)', false)
    .action(async (opts) => {
      const m = await import('../audit/proofs.js');
      await m.checkpointCommand(opts);
    });

  audit
    .command('prove')
    .description('Write a self-contained inclusion proof (JSON) of one entry for an offline auditor')
    .requiredOption('--ledger <file>', 'ledger file')
    .requiredOption('--seq <n>', 'seq of the entry to prove')
    .option('--checkpoint <notefile>', 'prove against this signed checkpoint')
    .option('--key <keyfile>', 'or sign a checkpoint of the whole ledger now with this key')
    .option('--out <file>', 'write the proof to a file instead of stdout')
    .action(async (opts) => {
      const m = await import('../audit/proofs.js');
      await m.proveCommand(opts);
    });

  audit
    .command('consistency')
    .description(
      'Write a consistency proof (JSON) that the ledger at a later checkpoint extends an earlier one',
    )
    .requiredOption('--ledger <file>', 'ledger file')
    .requiredOption('--from <notefile>', 'the earlier signed checkpoint')
    .option('--to <notefile>', 'the later signed checkpoint')
    .option('--key <keyfile>', 'or sign a checkpoint of the whole ledger now with this key')
    .option('--out <file>', 'write the proof to a file instead of stdout')
    .action(async (opts) => {
      const m = await import('../audit/proofs.js');
      await m.consistencyCommand(opts);
    });

  audit
    .command('check-proof')
    .description(
      'Check a proof file offline: exit 0 when it holds, 1 with the reason when not, 2 on usage errors',
    )
    .argument('<file>', 'proof file (gavel audit prove)')
    .requiredOption(
      '--vkey <vkey>',
      'trusted verifier key (name+id+key) or a file of them; repeatable',
      collect,
    )
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts) => {
      const m = await import('../audit/proofs.js');
      await m.checkProofCommand(file, opts);
    });

  // `gavel audit verify --checkpoint NOTEFILE --vkey VKEY`: when the ledger part's `verify` exists it
  // owns the command and calls `verifyCheckpointCommand` for these flags; until then, this stands in.
  if (!audit.commands.some((c) => c.name() === 'verify')) {
    audit
      .command('verify')
      .description(
        'Check that the ledger extends a signed checkpoint (catches truncation and rewritten tails)',
      )
      .requiredOption('--ledger <file>', 'ledger file')
      .requiredOption('--checkpoint <notefile>', 'signed checkpoint the ledger must extend')
      .requiredOption(
        '--vkey <vkey>',
        'trusted verifier key (name+id+key) or a file of them; repeatable',
        collect,
      )
      .option('--json', 'print JSON', false)
      .action(async (opts) => {
        const m = await import('../audit/proofs.js');
        await m.verifyCheckpointCommand(opts);
      });
  }
}
