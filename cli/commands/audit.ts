// `gavel audit log|verify|recent`: the ledger from the command line, in gavel's native format or the
// MO§ES format (`--format`), with the MO§ES script's own messages and exit codes.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { collect, group } from './shared.js';

export function register(program: Command): void {
  const audit = group(program, 'audit', 'Record and check the tamper-evident ledger');

  audit
    .command('log')
    .description('Append one entry; prints "[AUDIT] Entry logged. Hash: <16 hex>..."')
    .option('--ledger <file>', 'ledger file (created when missing); or --daemon')
    .option('--daemon', 'append through the running daemon (recorded as the token identity)', false)
    .option('--socket <path>', 'with --daemon: socket (default $GAVEL_SOCKET or /run/gavel/gavel.sock)')
    .option('--token-file <file>', 'with --daemon: API token file (default $GAVEL_TOKEN)')
    .requiredOption('--action <action>', 'what was done')
    .option('--format <format>', 'native | moses (default: what the ledger already is; native for a new one)')
    .option('--agent <agent>', 'who did it')
    .option('--detail <detail>', 'free text')
    .option('--outcome <outcome>', 'executed | blocked | held | flagged | logged | ...')
    .option('--kind <kind>', 'native EVENT_KIND (default moses.log)')
    .option('--input-hash <hash>', 'hash of the input acted on (MO§ES isnad provenance)')
    .option('--source-id <id>', 'where that input came from (with --input-hash)')
    .option('--mode <mode>', 'native: MO§ES mode recorded with the entry')
    .option('--posture <posture>', 'native: MO§ES posture recorded with the entry')
    .option('--role <role>', 'native: MO§ES role recorded with the entry')
    .option('--payload <json>', 'native: JSON object payload')
    .option('--secret-file <file>', 'operator secret file (mode 0600); else $GAVEL_OPERATOR_SECRET')
    .option('--state <file>', 'MO§ES state file (default ~/.openclaw/governance/state.json)')
    .option('--wait <ms>', 'how long to wait for another writer to finish', '10000')
    .option('--json', 'print the entry as JSON', false)
    .action(async (opts) => {
      if (opts.daemon) return (await import('../daemon/remote.js')).auditLogViaDaemon(opts);
      if (opts.ledger === undefined)
        throw new UsageError('give --ledger FILE, or --daemon to ask the running daemon');
      const m = await import('../audit/commands.js');
      await m.logCommand(opts);
    });

  audit
    .command('verify')
    .description(
      'Check hashes, links, seq, seals (native) or attestations (MO§ES); exit 1 on the first break',
    )
    .requiredOption('--ledger <file>', 'ledger file')
    .option('--format <format>', 'auto | native | moses', 'auto')
    .option('--secret-file <file>', 'operator secret file (mode 0600); else $GAVEL_OPERATOR_SECRET')
    .option('--checkpoint <notefile>', 'also require the ledger to extend this signed checkpoint')
    .option(
      '--vkey <vkey>',
      'trusted verifier key for --checkpoint (name+id+key or a file); repeatable',
      collect,
    )
    .option('--threads <n>', 'worker threads for hashing (default: all cores for large ledgers)')
    .option('--json', 'print the report as JSON', false)
    .action(async (opts) => {
      const m = await import('../audit/commands.js');
      await m.verifyCommand(opts);
    });

  audit
    .command('recent')
    .description('List the last entries, oldest first, in the MO§ES line format')
    .option('--ledger <file>', 'ledger file; or --daemon')
    .option('--daemon', 'ask the running daemon', false)
    .option('--socket <path>', 'with --daemon: socket (default $GAVEL_SOCKET or /run/gavel/gavel.sock)')
    .option('--token-file <file>', 'with --daemon: API token file (default $GAVEL_TOKEN)')
    .option('--n <n>', 'how many', '10')
    .option('--json', 'print the entries as JSON lines', false)
    .action(async (opts) => {
      if (opts.daemon) return (await import('../daemon/remote.js')).auditRecentViaDaemon(opts);
      if (opts.ledger === undefined)
        throw new UsageError('give --ledger FILE, or --daemon to ask the running daemon');
      const m = await import('../audit/commands.js');
      await m.recentCommand(opts);
    });
}
