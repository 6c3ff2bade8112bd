// The `gavel` command. Keep this file cheap to load: agents call the CLI once per action, so every
// command group registers its flags here but imports its implementation only when it runs.
import { Command, CommanderError } from 'commander';
import { commandGroups } from './commands/index.js';
import { exitCodeFor, formatError } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('gavel')
    .description('Governance gates with a tamper-evident, anchored ledger')
    .version(process.env.npm_package_version ?? '0.1.0', '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const register of commandGroups) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are not failures; every other commander complaint is a usage error.
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return 0;
      }
      return 2;
    }
    process.stderr.write(`${formatError(err)}\n`);
    return exitCodeFor(err);
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
