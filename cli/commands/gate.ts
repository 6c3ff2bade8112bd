// `gavel gate eval` (engine engineer): in-process from a package, or through the daemon with --daemon.
import type { Command } from 'commander';
import { collect, group } from './shared.js';
import { addDaemonOptions } from './status.js';

export function register(program: Command): void {
  const gate = group(program, 'gate', 'Gate evaluation');
  const cmd = gate
    .command('eval')
    .description(
      'Evaluate a gate; exit 0 permit, 10 permit-with-warning, 20 escalate, 30 deny, 2 usage. Default policy: policies/build/constitution',
    )
    .argument('<gate>', 'gate name, e.g. tool.execute')
    .option('--risk <n>', 'EffectVector risk (0..1; omitted = the gate default)')
    .option('--fairness <n>', 'EffectVector fairness')
    .option('--privacy <n>', 'EffectVector privacy')
    .option('--novelty <n>', 'EffectVector novelty')
    .option('--security <n>', 'EffectVector security')
    .option('--actor <a>', 'actor (default cli)')
    .option('--role <r>', 'role (default operator)')
    .option('--mode <m>', 'MO§ES mode (default high-integrity)')
    .option('--posture <p>', 'MO§ES posture: scout, defense, offense (default defense)')
    .option('--env <e>', 'environment, e.g. production (default development)')
    .option('--ctx <k=v>', 'context attribute (repeatable)', collect)
    .option('--policy <pkg>', 'policy package folder')
    .option('--trust <file>', 'trust file: refuse the package unless it verifies')
    .option('--daemon', 'ask the running daemon instead (it records the decision)', false)
    .option('--json', 'print JSON {verdict, reason, rule, fuel, policy}', false);
  addDaemonOptions(cmd).action(async (g: string, opts) => {
    if (opts.daemon) {
      const m = await import('../daemon/remote.js');
      const effect = ['risk', 'fairness', 'privacy', 'novelty', 'security']
        .filter((d) => opts[d] !== undefined)
        .map((d) => `${d}=${opts[d]}`)
        .join(',');
      await m.gateEvalViaDaemon(g, {
        ...opts,
        effect: effect === '' ? undefined : effect,
        context: opts.ctx,
        environment: opts.env,
      });
      return;
    }
    const m = await import('../gate/eval.js');
    await m.gateEval(g, opts);
  });
}
