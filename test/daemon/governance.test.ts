// Governed deployment through the HTTP API: below the operator threshold held, at the threshold
// activated, vetoed by a judicial key cancelled, rollback restores the previous verdicts; every step
// an entry and decisions name the policy that made them. The engine here is a stand-in runtime (unit
// level: it reads the manifest's "description" as the verdict it always gives); the DSSE threshold,
// veto signatures, governance gates, engine swap and entries are the daemon's real code.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatVerifierKey, generateSigner, type SignerKey, sign } from '../../chain/index.js';
import { DaemonClient, loadConfig, startDaemon } from '../../daemon/index.js';
import { MANIFEST_TYPE, pae, vetoMessage } from '../../daemon/policies.js';
import type { EngineRuntime } from '../../daemon/wire.js';
import { MemoryLedger, makeConfig, TOKENS, testChecker } from './helpers.js';

interface Manifest {
  name: string;
  version: string;
  gates: string[];
  description: string;
  component: { sha256: string };
}

const standInEngine: EngineRuntime = {
  async loadPolicy(dir) {
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    return { manifest };
  },
  Engine: {
    async create({ policies }) {
      const ps = policies as { manifest: Manifest }[];
      const decide = (gate: string) => {
        const p = ps.find((x) => x.manifest.gates.includes(gate));
        if (p === undefined) throw new Error(`no policy for ${gate}`);
        const m = p.manifest;
        return {
          verdict: m.description as 'permit',
          reason: `${m.name} says ${m.description}`,
          rule: 'r',
          fuel: 1,
          policy: { name: m.name, version: m.version, sha256: m.component.sha256 },
        };
      };
      return {
        evaluate: async (r: { gate: string }) => decide(r.gate),
        evaluateBatch: async (rs: { gate: string }[]) => rs.map((r) => decide(r.gate)),
        close: async () => {},
      };
    },
  },
};

function pkg(name: string, version: string, verdict: string, gates: string[], signers: SignerKey[]) {
  const component = Buffer.from(`wasm-of-${name}-${version}`);
  const m: Manifest = {
    name,
    version,
    gates,
    description: verdict,
    component: { sha256: createHash('sha256').update(component).digest('hex') },
  };
  const bytes = Buffer.from(JSON.stringify(m));
  const signatures = signers.map((k) => ({
    keyid: formatVerifierKey(k),
    sig: Buffer.from(sign(k, pae(MANIFEST_TYPE, bytes))).toString('base64'),
  }));
  return {
    body: {
      envelope: { payloadType: MANIFEST_TYPE, payload: bytes.toString('base64'), signatures },
      component: component.toString('base64'),
    },
    sha: createHash('sha256').update(bytes).digest('hex'),
  };
}

describe('governed policy deployment', () => {
  it('holds below threshold, activates at it, vetoes, rolls back; every step recorded', async () => {
    const ops = [generateSigner('op1.example'), generateSigner('op2.example'), generateSigner('op3.example')];
    const judge = generateSigner('judge.example');
    const c = makeConfig();
    const pdir = join(c.dir, 'policies');
    mkdirSync(join(pdir, 'constitution@1'), { recursive: true });
    const cons = pkg('constitution', '1', 'permit', ['governance.amend', 'governance.veto'], []);
    writeFileSync(
      join(pdir, 'constitution@1', 'manifest.json'),
      Buffer.from(cons.body.envelope.payload, 'base64'),
    );
    writeFileSync(
      join(c.dir, 'trust.json'),
      JSON.stringify({
        threshold: 2,
        operators: ops.map(formatVerifierKey),
        judicial: [formatVerifierKey(judge)],
      }),
    );
    writeFileSync(
      c.file,
      `${readFileSync(c.file, 'utf8')}\n[policies]\ndir = "policies"\ntrust_file = "trust.json"\n`.replace(
        '[log]',
        '[log]',
      ),
    );
    const ledger = new MemoryLedger();
    const d = await startDaemon(loadConfig(c.file), {
      parts: { ledger, checker: testChecker },
      engine: standInEngine,
    });
    const admin = new DaemonClient({ socket: c.socket, token: TOKENS.admin });
    const agent = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    try {
      await expect(agent.evaluate('tool.invoke')).rejects.toMatchObject({ code: 'UNKNOWN_GATE' });
      // the agent token lacks the deploy scope
      const v1 = pkg('tools', '1.0.0', 'permit', ['tool.invoke'], [ops[0] as SignerKey, ops[1] as SignerKey]);
      await expect(agent.call('POST', '/v1/policies/deployments', v1.body)).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });

      // at threshold (2 of 3): activated
      const r1 = await admin.call<{ state: string; seqs: number[] }>(
        'POST',
        '/v1/policies/deployments',
        v1.body,
      );
      expect(r1.state).toBe('deployed');
      const a1 = await agent.evaluate('tool.invoke');
      expect(a1.verdict).toBe('permit');
      expect(a1.policy).toMatchObject({ name: 'tools', version: '1.0.0' });
      expect(
        (ledger.entries[a1.seq]?.payload as { policy?: { version?: string } } | undefined)?.policy?.version,
      ).toBe('1.0.0');

      // below threshold: held, then a second signature activates it
      const v2 = pkg('tools', '2.0.0', 'deny', ['tool.invoke'], [ops[2] as SignerKey]);
      const r2 = await admin.call<{ id: string; state: string }>('POST', '/v1/policies/deployments', v2.body);
      expect(r2.state).toBe('held');
      expect((await agent.evaluate('tool.invoke')).verdict).toBe('permit');
      const more = pkg('tools', '2.0.0', 'deny', ['tool.invoke'], [ops[0] as SignerKey]).body.envelope
        .signatures;
      const r2b = await admin.call<{ state: string }>(
        'POST',
        `/v1/policies/deployments/${r2.id}/signatures`,
        { signatures: more },
      );
      expect(r2b.state).toBe('deployed');
      const a2 = await agent.evaluate('tool.invoke');
      expect(a2.verdict).toBe('deny');
      expect(a2.policy.version).toBe('2.0.0');

      // a held deployment vetoed by a judicial key is cancelled; an operator key cannot veto
      const v3 = pkg('tools', '3.0.0', 'escalate', ['tool.invoke'], [ops[1] as SignerKey]);
      const r3 = await admin.call<{ id: string; state: string }>('POST', '/v1/policies/deployments', v3.body);
      expect(r3.state).toBe('held');
      const bad = {
        keyid: formatVerifierKey(ops[0] as SignerKey),
        sig: Buffer.from(sign(ops[0] as SignerKey, vetoMessage(r3.id, v3.sha))).toString('base64'),
      };
      await expect(
        admin.call('POST', `/v1/policies/deployments/${r3.id}/veto`, { reason: 'no', signatures: [bad] }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const good = {
        keyid: formatVerifierKey(judge),
        sig: Buffer.from(sign(judge, vetoMessage(r3.id, v3.sha))).toString('base64'),
      };
      const vr = await admin.call<{ state: string }>('POST', `/v1/policies/deployments/${r3.id}/veto`, {
        reason: 'unsafe',
        signatures: [good],
      });
      expect(vr.state).toBe('vetoed');
      await expect(
        admin.call('POST', `/v1/policies/deployments/${r3.id}/signatures`, { signatures: more }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await agent.evaluate('tool.invoke')).verdict).toBe('deny');

      // rollback restores the previous verdicts
      const rb = await admin.call<{ version: string }>('POST', '/v1/policies/rollback', { name: 'tools' });
      expect(rb.version).toBe('1.0.0');
      const a3 = await agent.evaluate('tool.invoke');
      expect(a3.verdict).toBe('permit');
      expect(a3.policy.version).toBe('1.0.0');

      // a tampered package (component does not match the manifest) is refused with a message
      const t = pkg('tools', '4.0.0', 'permit', ['tool.invoke'], ops);
      t.body.component = Buffer.from('evil').toString('base64');
      await expect(admin.call('POST', '/v1/policies/deployments', t.body)).rejects.toMatchObject({
        code: 'BAD_POLICY',
      });

      const kinds = ledger.entries.map((e) => e.kind).filter((k) => k.startsWith('policy.'));
      expect(kinds).toEqual([
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
      // governance gates were decided and recorded as decisions of the constitution
      const gov = ledger.entries.filter(
        (e) => e.kind === 'gate.decision' && e.component.startsWith('governance.'),
      );
      expect(gov.map((e) => e.component)).toEqual([
        'governance.amend',
        'governance.amend',
        'governance.amend',
        'governance.veto',
        'governance.amend',
      ]);
      // signatures only by keys the trust file does not list as operators: refused and recorded
      const stranger = pkg('tools', '5.0.0', 'permit', ['tool.invoke'], [judge]);
      await expect(admin.call('POST', '/v1/policies/deployments', stranger.body)).rejects.toMatchObject({
        code: 'BAD_SIGNATURE',
      });
      expect(ledger.entries[ledger.size - 1]?.kind).toBe('policy.rejected');
      const hist = await admin.call<{ history: { action: string; version: string }[] }>(
        'GET',
        '/v1/policies/history',
      );
      expect(hist.history.map((h) => `${h.action}:${h.version}`)).toEqual([
        'deployed:1.0.0',
        'deployed:2.0.0',
        'rolledback:1.0.0',
      ]);
    } finally {
      await d.stop();
    }
  });
});
