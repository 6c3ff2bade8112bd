// `gavel gate eval`: one decision in-process from a package (default: the built constitution).
// Exit 0 permit, 10 permit-with-warning, 20 escalate, 30 deny (2 usage).
import { Engine, loadPolicy } from '../../engine/index.js';
import {
  defaultPolicyDir,
  type RequestFlags,
  readTrust,
  requestFromFlags,
  requirePackage,
  VERDICT_EXIT,
} from '../policy/package.js';

export async function gateEval(
  gate: string,
  o: RequestFlags & { policy?: string; trust?: string; json?: boolean },
): Promise<void> {
  const req = requestFromFlags(gate, o);
  const dir = requirePackage(o.policy ?? defaultPolicyDir());
  const trust = readTrust(o.trust);
  const p = await loadPolicy(dir, { trust, allowUnsigned: trust === undefined });
  const engine = await Engine.create({ policies: [p], threads: 0 });
  try {
    const d = engine.evaluateSync(req);
    if (o.json) console.log(JSON.stringify(d));
    else
      console.log(
        `${d.verdict} ${gate}: ${d.reason} [rule ${d.rule}, ${d.policy.name}@${d.policy.version}, fuel ${d.fuel}]`,
      );
    process.exitCode = VERDICT_EXIT[d.verdict] ?? 30;
  } finally {
    await engine.close();
  }
}
