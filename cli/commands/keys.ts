// `gavel keys`: signing keys in files. Ed25519 keys use the C2SP signed-note encodings (checkpoints,
// policy signing); chain keys for anchoring (solana, evm) plug into the same `--type` switch.
import type { Command } from 'commander';

export function register(program: Command): void {
  const keys = program.command('keys').description('Create and inspect signing keys');

  keys
    .command('new')
    .description('Create a private key file (mode 0600) and print its public verifier key')
    .requiredOption('--out <file>', 'where to write the private key (refused if it exists, unless --force)')
    .option(
      '--type <type>',
      'key type: ed25519 (checkpoints, policies), solana (keypair JSON) or evm (hex); chain keys print their address',
      'ed25519',
    )
    .option(
      '--name <name>',
      'key name for signed notes (no spaces or "+"), e.g. example.com/gavel',
      'gavel.local/operator',
    )
    .option('--force', 'overwrite an existing file', false)
    .option('--json', 'print JSON', false)
    .action(async (opts: { out: string; type: string; name: string; force: boolean; json: boolean }) => {
      const m = await import('../keys/keys.js');
      await m.keysNew(opts);
    });

  keys
    .command('show')
    .description('Print the public verifier key of a private key file (or normalise a verifier key)')
    .argument('<file>', 'private key file, or a file holding a verifier key')
    .option('--json', 'print JSON', false)
    .action(async (file: string, opts: { json: boolean }) => {
      const m = await import('../keys/keys.js');
      await m.keysShow(file, opts);
    });
}
