// `gavel policy test` (a case table, like `opa test`) and `gavel policy replay` (recorded decisions
// re-evaluated: every verdict or fuel mismatch reported).
import { Engine, type GateRequest, loadPolicy } from '../../engine/index.js';
import { UsageError } from '../errors.js';
import { readJsonl, readTrust, requirePackage } from './package.js';

async function engineFor(pkg: string, trust?: string, routeAll = false) {
  requirePackage(pkg);
  const t = readTrust(trust);
  const p = await loadPolicy(pkg, { trust: t, allowUnsigned: t === undefined });
  return Engine.create({ policies: [p], threads: 0, routeAll });
}

function fillRequest(r: Partial<GateRequest>): GateRequest {
  return {
    gate: String(r.gate ?? ''),
    actor: r.actor ?? 'test',
    role: r.role ?? 'operator',
    mode: r.mode ?? 'high-integrity',
    posture: r.posture ?? 'defense',
    environment: r.environment ?? 'development',
    effect: r.effect ?? {},
    context: r.context ?? {},
  };
}

export async function policyTest(
  pkg: string,
  o: { cases: string; trust?: string; json?: boolean },
): Promise<void> {
  const cases = readJsonl(o.cases).map(({ line, value }) => {
    const c = value as { request?: Partial<GateRequest>; expect?: string; rule?: string; name?: string };
    if (typeof c.request !== 'object' || typeof c.expect !== 'string')
      throw new UsageError(
        `${o.cases}:${line}: a case is {"request": {...}, "expect": "<verdict>", "rule"?: "..."}`,
      );
    return { line, name: c.name, request: fillRequest(c.request), expect: c.expect, rule: c.rule };
  });
  const engine = await engineFor(pkg, o.trust, true);
  try {
    const rows = cases.map((c) => {
      const d = engine.evaluateSync(c.request);
      const pass = d.verdict === c.expect && (c.rule === undefined || d.rule === c.rule);
      return {
        line: c.line,
        name: c.name,
        gate: c.request.gate,
        expect: c.expect,
        expectRule: c.rule,
        got: d.verdict,
        rule: d.rule,
        reason: d.reason,
        fuel: d.fuel,
        pass,
      };
    });
    const failed = rows.filter((r) => !r.pass).length;
    if (o.json) console.log(JSON.stringify({ passed: rows.length - failed, failed, cases: rows }));
    else {
      for (const r of rows) {
        const want = r.expectRule === undefined ? r.expect : `${r.expect} (${r.expectRule})`;
        console.log(
          `${r.pass ? 'PASS' : 'FAIL'}  ${String(r.line).padStart(4)}  ${r.gate.padEnd(20)} want ${want.padEnd(24)} got ${r.got} (${r.rule})${r.name ? `  ${r.name}` : ''}`,
        );
      }
      console.log(`${rows.length - failed} passed, ${failed} failed`);
    }
    if (failed > 0) process.exitCode = 1;
  } finally {
    await engine.close();
  }
}

/** A recorded decision: plain `{request, decision}` or a ledger gate.decision entry's payload. */
function recorded(v: unknown): { request: GateRequest; verdict: string; fuel?: number } | undefined {
  const o = v as Record<string, unknown>;
  const src = (o.kind === 'gate.decision' && typeof o.payload === 'object' ? o.payload : o) as Record<
    string,
    unknown
  >;
  const req = src.request as Partial<GateRequest> | undefined;
  const dec = (src.decision ?? src) as Record<string, unknown>;
  if (typeof req !== 'object' || req === null || typeof dec.verdict !== 'string') return undefined;
  return {
    request: fillRequest(req),
    verdict: dec.verdict,
    fuel: typeof dec.fuel === 'number' ? dec.fuel : undefined,
  };
}

export async function policyReplay(
  pkg: string,
  o: { decisions: string; trust?: string; json?: boolean },
): Promise<void> {
  const lines = readJsonl(o.decisions);
  const engine = await engineFor(pkg, o.trust);
  try {
    const mismatches: Record<string, unknown>[] = [];
    let checked = 0;
    let skipped = 0;
    for (const { line, value } of lines) {
      const r = recorded(value);
      if (r === undefined) {
        skipped++;
        continue;
      }
      checked++;
      const d = engine.evaluateSync(r.request);
      if (d.verdict !== r.verdict || (r.fuel !== undefined && d.fuel !== r.fuel))
        mismatches.push({
          line,
          gate: r.request.gate,
          recorded: { verdict: r.verdict, fuel: r.fuel },
          now: { verdict: d.verdict, fuel: d.fuel, rule: d.rule },
        });
    }
    if (o.json) console.log(JSON.stringify({ checked, skipped, mismatches }));
    else {
      for (const m of mismatches)
        console.log(`MISMATCH line ${m.line}: ${JSON.stringify(m.recorded)} now ${JSON.stringify(m.now)}`);
      console.log(
        `${checked} decision(s) replayed, ${mismatches.length} mismatch(es), ${skipped} line(s) without a request skipped`,
      );
    }
    if (mismatches.length > 0) process.exitCode = 1;
  } finally {
    await engine.close();
  }
}
