// `gavel compliance report`: the compliance page generated from the ledger.
import type { Command } from 'commander';
import { collect } from './shared.js';
import { addDaemonOptions } from './status.js';

// The JSON output is a contract (auditors' scripts read it): new fields may be added, none renamed
// or removed without a new `format` value.
const JSON_HELP = `
Exit status: 0 every check PASS (or INFO), 1 any FAIL, 2 usage error (bad flag, missing ledger).

--format json ("gavel.compliance/v1", stable; fields may be added, never renamed):
  {
    "format": "gavel.compliance/v1",
    "generated_at": ISO time (--now),
    "ledger": { "path", "entries", "head": hex|null, "first": ISO|null, "last": ISO|null },
    "summary": { "pass", "fail", "info": counts, "ok": no FAIL },
    "sections": [ {                 // in this order, by id:
        "id": "gates" | "decisions" | "kinds" | "verification" | "anchors" | "gaps",
        "title": string,
        "table"?: { "header": string[], "rows": (string|number)[][] },
        "checks": [ { "check": string, "status": "PASS"|"FAIL"|"INFO", "detail": string } ]
    } ]
  }
  gates: one "gate G is served" check per gate of policies/constitution/gates.json (table: EffectVector
    defaults and thresholds, L2 limit, over-threshold verdict, serving policy name version sha256);
    with --daemon also "live policy P V is the ledger's" per policy the daemon serves.
  gaps: every FAIL above, plus "mutating kinds recorded" (INFO, never FAIL: the catalogue lists every
    ExoChain kind and a quiet deployment records few of them).
  anchors: overdue = the ledger grew after the last finalized anchor of a target and that anchor is
    older than --overdue-intervals x the target's interval (config, else --anchor-interval); stuck =
    an anchor scheduled/submitted/confirmed for that long.
  The operator secret (--secret-file, else $GAVEL_OPERATOR_SECRET, else the config's) checks seals; it is
  never printed.`;

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
      'daemon config: ledger path, operator secret, checkpoint key, anchor targets and intervals (or $GAVEL_CONFIG)',
    )
    .option(
      '--daemon [url]',
      'also ask the running daemon for the live policy set (its URL, or --socket/--url/$GAVEL_SOCKET; token from --token-file or $GAVEL_TOKEN)',
    )
    .option('--format <format>', 'md | html | json (json: "gavel.compliance/v1", stable; shape below)', 'md')
    .option('--out <file>', 'write the report here instead of stdout')
    .option('--now <iso>', 'the time the report is made at (for reproducible reports)')
    .option('--anchor-interval <seconds>', 'anchor interval for targets not in --config', '600')
    .option('--overdue-intervals <n>', 'an anchor is overdue (or stuck) after this many intervals', '3')
    .option(
      '--secret-file <file>',
      'operator secret file (0600) to check seals; else $GAVEL_OPERATOR_SECRET or the config',
    )
    .option(
      '--vkey <vkey>',
      'verifier key for the <ledger>.checkpoint signature (name+id+key or a file); repeatable',
      collect,
    )
    .addHelpText('after', JSON_HELP)
    .action(async (opts) => {
      const m = await import('../compliance/command.js');
      await m.complianceReport(opts);
    });
}
