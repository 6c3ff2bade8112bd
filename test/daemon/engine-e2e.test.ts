// End to end with the real engine and the real ledger in a real daemon process: signed WAT policy
// components (test/engine/fixtures.ts) served through the daemon; governed deployment through the
// CLI (at threshold deployed, below held then signed, vetoed by a judicial key, rolled back);
// decisions name their policy; the emergency path judged by the constitution; and every
// acknowledged decision survives SIGKILL under load.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as chain from '../../chain/index.js';
import { DaemonClient } from '../../daemon/index.js';
import { newKey, policyWat, signPackage, THRESHOLD_BODY, writePackage } from '../engine/fixtures.js';
import { ledgerLines } from '../helpers/ledger.js';
import { makeConfig, TOKENS } from './helpers.js';
import { spawnDaemon } from './proc.js';

const DENY_BODY = '(call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 22) (i32.const 4))';

async function pkg(
  dir: string,
  name: string,
  version: string,
  body: string,
  gates: string[],
): Promise<string> {
  await writePackage(dir, policyWat(body), { name, gates });
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  m.version = version;
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  return dir;
}
const lines = (p: string) =>
  ledgerLines<Record<string, unknown> & { kind: string; payload: Record<string, unknown> }>(p);

describe('daemon with the real engine', () => {
  it('governed deployment, decisions naming their policy, emergency, SIGKILL under load', async () => {
    const ops = [newKey('op1.test'), newKey('op2.test'), newKey('op3.test')];
    const judge = newKey('judge.test');
    const c = makeConfig('[policies]\ndir = "policies"\ntrust_file = "trust.json"\n');
    const pdir = join(c.dir, 'policies');
    mkdirSync(pdir, { recursive: true });
    writeFileSync(
      join(c.dir, 'trust.json'),
      JSON.stringify({
        operators: ops.map(chain.formatVerifierKey),
        operatorThreshold: 2,
        judicial: [chain.formatVerifierKey(judge)],
      }),
    );
    const cons = await pkg(join(pdir, 'constitution'), 'constitution', '1.0.0', THRESHOLD_BODY, [
      'governance.amend',
      'governance.veto',
      'chain.emergency',
    ]);
    signPackage(cons, ops[0] as chain.SignerKey);
    signPackage(cons, ops[1] as chain.SignerKey);
    const work = join(c.dir, 'work');
    const v1 = await pkg(join(work, 'v1'), 'tools', '1.0.0', THRESHOLD_BODY, ['tool.invoke']);
    signPackage(v1, ops[0] as chain.SignerKey);
    signPackage(v1, ops[1] as chain.SignerKey);
    const v2 = await pkg(join(work, 'v2'), 'tools', '2.0.0', DENY_BODY, ['tool.invoke']);
    signPackage(v2, ops[2] as chain.SignerKey);
    const v2more = await pkg(join(work, 'v2b'), 'tools', '2.0.0', DENY_BODY, ['tool.invoke']);
    // same manifest bytes as v2 (component identical) signed by another operator
    writeFileSync(join(v2more, 'manifest.json'), readFileSync(join(v2, 'manifest.json')));
    signPackage(v2more, ops[0] as chain.SignerKey);
    const v3 = await pkg(join(work, 'v3'), 'tools', '3.0.0', DENY_BODY, ['tool.invoke']);
    signPackage(v3, ops[1] as chain.SignerKey);
    writeFileSync(join(c.dir, 'judge.key'), chain.formatSignerKey(judge), { mode: 0o600 });

    const cli = (args: string[], token = TOKENS.admin) =>
      spawnSync(process.execPath, ['bin/gavel.js', ...args], {
        encoding: 'utf8',
        env: { ...process.env, GAVEL_SOCKET: c.socket, GAVEL_TOKEN: token },
      });
    let p = await spawnDaemon(c.file, {}, c.socket);
    const agent = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    try {
      await expect(agent.evaluate('tool.invoke')).rejects.toMatchObject({ code: 'UNKNOWN_GATE' });
      const d1 = cli(['policy', 'deploy', v1, '--json']);
      expect(d1.status, d1.stderr).toBe(0);
      expect(JSON.parse(d1.stdout)).toMatchObject({ state: 'deployed', name: 'tools', version: '1.0.0' });
      const lo = await agent.evaluate('tool.invoke', { effect: { risk: 0.2 } });
      const hi = await agent.evaluate('tool.invoke', { effect: { risk: 0.9 } });
      expect([lo.verdict, hi.verdict]).toEqual(['permit', 'deny']);
      expect(lo.policy).toMatchObject({ name: 'tools', version: '1.0.0' });
      expect(lo.fuel).toBeGreaterThan(0);

      const d2 = cli(['policy', 'deploy', v2, '--json']);
      expect(d2.status, d2.stderr).toBe(0);
      const held = JSON.parse(d2.stdout) as { id: string; state: string };
      expect(held.state).toBe('held');
      expect((await agent.evaluate('tool.invoke', { effect: { risk: 0.2 } })).verdict).toBe('permit');
      const s2 = cli(['policy', 'add-signatures', held.id, join(v2more, 'manifest.dsse.json'), '--json']);
      expect(s2.status, s2.stderr).toBe(0);
      expect(JSON.parse(s2.stdout).state).toBe('deployed');
      const after = await agent.evaluate('tool.invoke', { effect: { risk: 0.2 } });
      expect(after.verdict).toBe('deny');
      expect(after.policy.version).toBe('2.0.0');

      const d3 = cli(['policy', 'deploy', v3, '--json']);
      const h3 = JSON.parse(d3.stdout) as { id: string; sha256: string; state: string };
      expect(h3.state).toBe('held');
      const veto = cli([
        'policy',
        'veto',
        h3.id,
        '--key',
        join(c.dir, 'judge.key'),
        '--sha256',
        h3.sha256,
        '--reason',
        'unsafe',
        '--json',
      ]);
      expect(veto.status, veto.stderr).toBe(0);
      expect(JSON.parse(veto.stdout).state).toBe('vetoed');

      const rb = cli(['policy', 'rollback', 'tools', '--json']);
      expect(rb.status, rb.stderr).toBe(0);
      const back = await agent.evaluate('tool.invoke', { effect: { risk: 0.2 } });
      expect(back.verdict).toBe('permit');
      expect(back.policy.version).toBe('1.0.0');
      // the CLI's gate eval --daemon: the verdict as exit status, recorded under the token identity
      const ge = cli(['gate', 'eval', 'tool.invoke', '--daemon', '--risk', '0.9', '--json'], TOKENS.agent);
      expect(ge.status, ge.stderr).toBe(30);
      expect(JSON.parse(ge.stdout)).toMatchObject({
        verdict: 'deny',
        policy: { name: 'tools', version: '1.0.0' },
      });
      // the agent token cannot deploy
      expect(cli(['policy', 'rollback', 'tools'], TOKENS.agent).status).not.toBe(0);

      const em = (await agent.emergency({
        action: 'drop-table',
        justification: 'ransomware',
        effect: { risk: 0.9 },
      })) as {
        verdict: string;
        review: boolean;
        policy: { name: string };
      };
      expect(em).toMatchObject({ verdict: 'deny', review: true, policy: { name: 'constitution' } });
    } finally {
      agent.close();
    }

    // SIGKILL under load, then restart: the active set (tools 1.0.0) survives and no ack is lost.
    const acked = new Map<number, string>();
    for (let round = 0; round < 3; round++) {
      const clients = Array.from(
        { length: 6 },
        () => new DaemonClient({ socket: c.socket, token: TOKENS.agent, timeoutMs: 5000 }),
      );
      let stop = false;
      const workers = clients.map(async (cl, w) => {
        let i = 0;
        while (!stop) {
          try {
            if (i % 3 === 2) {
              const r = await cl.evaluateBatch(
                Array.from({ length: 25 }, (_, k) => ({
                  gate: 'tool.invoke',
                  effect: { risk: ((w + k) % 10) / 10 },
                })),
              );
              for (const d of r.decisions) acked.set(d.seq, d.hash);
            } else {
              const d = await cl.evaluate('tool.invoke', { effect: { risk: (i % 10) / 10 } });
              acked.set(d.seq, d.hash);
            }
          } catch {
            break;
          }
          i++;
        }
      });
      await new Promise((r) => setTimeout(r, 300 + round * 200));
      p.child.kill('SIGKILL');
      stop = true;
      await Promise.all(workers);
      await p.exited;
      for (const cl of clients) cl.close();
      const ls = lines(c.ledger);
      for (const [seq, hash] of acked) expect(ls[seq]?.hash, `acknowledged decision ${seq}`).toBe(hash);
      p = await spawnDaemon(c.file, {}, c.socket);
      const st = (await new DaemonClient({ socket: c.socket, token: TOKENS.reader }).status()) as {
        policies: { name: string; version: string }[];
      };
      expect(st.policies.map((x) => `${x.name}@${x.version}`).sort()).toEqual([
        'constitution@1.0.0',
        'tools@1.0.0',
      ]);
    }
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const all = lines(c.ledger);
    const decisions = all.filter((e) => e.kind === 'gate.decision');
    expect(decisions.length).toBeGreaterThan(50);
    for (const d of decisions)
      expect((d.payload.policy as { name: string }).name).toMatch(/^(tools|constitution)$/);
    const steps = all.map((e) => e.kind).filter((k) => k.startsWith('policy.'));
    expect(steps).toEqual([
      'policy.proposed',
      'policy.deployed',
      'policy.proposed',
      'policy.held',
      'policy.signed',
      'policy.deployed',
      'policy.proposed',
      'policy.held',
      'policy.vetoed',
      'policy.rolledback',
    ]);
    const v = await chain.verifyLedgerParallel(c.ledger, {
      threads: 0,
      secret: 'operator-secret-for-tests-0123456789',
    });
    expect(v.ok, v.message).toBe(true);
  }, 180_000);
});
