// `gavel policy sign|verify|inspect|test|replay` (engine engineer). `build` belongs to the policies
// group file; deploy/rollback/veto to the daemon client.
import type { Command } from 'commander';
import { group } from './shared.js';

export function register(program: Command): void {
  const policy = group(program, 'policy', 'Policy packages');
  policy
    .command('sign')
    .description(
      'Sign manifest.json of a package (DSSE, Ed25519); adds to an existing envelope so operators can co-sign',
    )
    .argument('<pkg>', 'package folder (component.wasm, manifest.json)')
    .requiredOption('--key <file>', 'Ed25519 signer key file (gavel keys new)')
    .option('--json', 'print JSON', false)
    .action(async (pkg: string, opts) => {
      const m = await import('../policy/sign.js');
      await m.policySign(pkg, opts);
    });
  policy
    .command('verify')
    .description(
      'Verify a package against a trust file: signatures, threshold, component hash, world, imports, memory',
    )
    .argument('<pkg>', 'package folder')
    .requiredOption(
      '--trust <file>',
      'trust file: {"authors":[vkey],"operators":[vkey],"operatorThreshold":n}',
    )
    .option('--json', 'print JSON', false)
    .action(async (pkg: string, opts) => {
      const m = await import('../policy/sign.js');
      await m.policyVerify(pkg, opts);
    });
  policy
    .command('inspect')
    .description('Show world, exports, imports, manifest, signers and fuel budget of a package')
    .argument('<pkg>', 'package folder')
    .option('--trust <file>', 'classify signers by the roles of this trust file')
    .option('--json', 'print JSON', false)
    .action(async (pkg: string, opts) => {
      const m = await import('../policy/inspect.js');
      await m.policyInspect(pkg, opts);
    });
  policy
    .command('test')
    .description(
      'Run a case table (JSONL: {"request":{...},"expect":"deny","rule"?:"..."}); exit 1 on any failure',
    )
    .argument('<pkg>', 'package folder')
    .requiredOption('--cases <file>', 'JSONL case file')
    .option('--trust <file>', 'require the package to verify against this trust file')
    .option('--json', 'print JSON', false)
    .action(async (pkg: string, opts) => {
      const m = await import('../policy/test.js');
      await m.policyTest(pkg, opts);
    });
  policy
    .command('replay')
    .description(
      'Re-evaluate recorded decisions ({request, decision} lines or ledger gate.decision entries); exit 1 on any verdict or fuel mismatch',
    )
    .argument('<pkg>', 'package folder')
    .requiredOption('--decisions <file>', 'JSONL of recorded decisions')
    .option('--trust <file>', 'require the package to verify against this trust file')
    .option('--json', 'print JSON', false)
    .action(async (pkg: string, opts) => {
      const m = await import('../policy/test.js');
      await m.policyReplay(pkg, opts);
    });
}
