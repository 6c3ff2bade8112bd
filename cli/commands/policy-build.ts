// `gavel policy build`: compile every policy under policies/ into a signed-ready package.
import type { Command } from 'commander';
import { group } from './shared.js';

export function register(program: Command): void {
  const policy = group(program, 'policy', 'Policy packages');
  policy
    .command('build')
    .description(
      'Compile every policy in policies/ (AssemblyScript -> WebAssembly component + manifest.json)',
    )
    .option('--out <dir>', 'output folder (default policies/build)')
    .option('--only <name>', 'build only the policy with this name')
    .option('--json', 'print what was built as JSON', false)
    .action(async (opts: { out?: string; only?: string; json?: boolean }) => {
      const { buildPolicies } = await import('../../scripts/build-policies.js');
      const built = await buildPolicies({
        ...(opts.out !== undefined ? { out: opts.out } : {}),
        ...(opts.only !== undefined ? { only: opts.only } : {}),
        ...(opts.json ? {} : { log: (s: string) => process.stdout.write(`${s}\n`) }),
      });
      if (opts.json) process.stdout.write(`${JSON.stringify(built)}\n`);
    });
}
