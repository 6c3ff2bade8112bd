// Daemon-client commands: `gavel policy deploy|add-signatures|rollback|veto` (governed deployment
// through the daemon), and `gavel gate eval --daemon` when the group that owns `gate` has not
// registered `eval` itself. (`audit log|recent --daemon` are options of the audit group's commands.)
import type { Command } from 'commander';
import { group } from './shared.js';
import { addDaemonOptions } from './status.js';

const has = (g: Command, name: string) => g.commands.some((c) => c.name() === name);

export function register(program: Command): void {
  const policy = group(program, 'policy', 'Policy packages');
  addDaemonOptions(
    policy
      .command('deploy')
      .description(
        'Deploy a signed policy package through the daemon (governed: threshold, governance.amend, recorded)',
      ),
  )
    .argument('<dir>', 'package folder (component.wasm, manifest.dsse.json)')
    .option('--json', 'print JSON', false)
    .action(async (dir: string, opts) => {
      const m = await import('../daemon/remote.js');
      await m.policyDeploy(dir, opts);
    });
  addDaemonOptions(
    policy.command('add-signatures').description('Add operator signatures to a held deployment'),
  )
    .argument('<deployment>', 'deployment id')
    .argument('<envelope>', 'a DSSE envelope file holding the extra signatures')
    .option('--json', 'print JSON', false)
    .action(async (id: string, file: string, opts) => {
      const m = await import('../daemon/remote.js');
      await m.policySign(id, file, opts);
    });
  addDaemonOptions(
    policy.command('rollback').description('Make the previous version of a policy active again (recorded)'),
  )
    .argument('<name>', 'policy name')
    .option('--json', 'print JSON', false)
    .action(async (name: string, opts) => {
      const m = await import('../daemon/remote.js');
      await m.policyRollback(name, opts);
    });
  addDaemonOptions(
    policy.command('veto').description('Veto a pending deployment, signed with a judicial key'),
  )
    .argument('<deployment>', 'deployment id')
    .requiredOption('--key <file>', 'judicial Ed25519 signer key file')
    .requiredOption('--sha256 <hex>', "the deployment's manifest sha256 (as listed by GET /v1/policies)")
    .requiredOption('--reason <text>', 'why')
    .option('--json', 'print JSON', false)
    .action(async (id: string, opts) => {
      const m = await import('../daemon/remote.js');
      await m.policyVeto(id, opts);
    });

  const gate = group(program, 'gate', 'Gate evaluation');
  if (!has(gate, 'eval')) {
    addDaemonOptions(
      gate
        .command('eval')
        .description(
          'Evaluate a gate (through the daemon: --daemon); exit 0 permit, 10 permit-with-warning, 20 escalate, 30 deny',
        ),
    )
      .argument('<gate>', 'gate name, e.g. tool.invoke')
      .option('--daemon', 'ask the running daemon (it records the decision)', false)
      .option('--effect <pairs>', 'EffectVector, e.g. risk=0.4,privacy=0.1')
      .option('--context <kv...>', 'context key=value pairs')
      .option('--mode <mode>', 'MO§ES mode')
      .option('--posture <posture>', 'MO§ES posture')
      .option('--environment <env>', 'environment')
      .option('--json', 'print JSON', false)
      .action(async (g: string, opts) => {
        const m = await import('../daemon/remote.js');
        await m.gateEvalViaDaemon(g, opts);
      });
  }
}
