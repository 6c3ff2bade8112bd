// The daemon as a real process on the real ledger: boot entries, CLI through the socket, SIGHUP,
// SIGTERM exits 0 with everything fsynced, a second writer refused, insecure secrets refused.
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as chain from '../../chain/index.js';
import { DaemonClient } from '../../daemon/index.js';
import { makeConfig, TOKENS } from './helpers.js';
import { spawnDaemon } from './proc.js';

const hasLedger = (chain as unknown as { Ledger?: unknown }).Ledger !== undefined;
const lines = (p: string) =>
  readFileSync(p, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('daemon process', () => {
  it('refuses to start with a secret file readable by others (exit 2, says which file)', async () => {
    const c = makeConfig();
    chmodSync(join(c.dir, 'secret'), 0o640);
    const p = await spawnDaemon(c.file);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/secret.*readable by group or others/);
  });

  it.skipIf(!hasLedger)(
    'boots with boot.* entries, serves the CLI, reloads on SIGHUP, exits 0 on SIGTERM',
    async () => {
      const key = chain.generateSigner('test.example/gavel');
      const c = makeConfig('[checkpoint]\nkey_file = "cp.key"\n');
      writeFileSync(join(c.dir, 'cp.key'), chain.formatSignerKey(key), { mode: 0o600 });
      const p = await spawnDaemon(c.file, {}, c.socket);
      try {
        expect(statSync(c.socket).mode & 0o777).toBe(0o660);
        const env = { ...process.env, GAVEL_SOCKET: c.socket, GAVEL_TOKEN: TOKENS.reader };
        const st = spawnSync(process.execPath, ['bin/gavel.js', 'status', '--json'], {
          encoding: 'utf8',
          env,
        });
        expect(st.status, st.stderr).toBe(0);
        expect(JSON.parse(st.stdout)).toMatchObject({ ready: true, identity: 'auditor' });
        const rec = spawnSync(
          process.execPath,
          ['bin/gavel.js', 'audit', 'recent', '--daemon', '--n', '4', '--json'],
          { encoding: 'utf8', env },
        );
        expect(rec.status, rec.stderr).toBe(0);
        const recent = rec.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { kind: string });
        expect(recent.map((e) => e.kind)).toEqual([
          'boot.init',
          'boot.config',
          'boot.services',
          'boot.ready',
        ]);
        // the CLI appends through the daemon, as the token's identity; it cannot claim another agent
        const agentEnv = { ...env, GAVEL_TOKEN: TOKENS.agent };
        const log = spawnSync(
          process.execPath,
          ['bin/gavel.js', 'audit', 'log', '--daemon', '--action', 'deploy-app', '--detail', 'v2', '--json'],
          {
            encoding: 'utf8',
            env: agentEnv,
          },
        );
        expect(log.status, log.stderr).toBe(0);
        expect((JSON.parse(log.stdout) as { seq: number }).seq).toBeGreaterThan(3);
        const spoof = spawnSync(
          process.execPath,
          ['bin/gavel.js', 'audit', 'log', '--daemon', '--action', 'x', '--agent', 'operator'],
          {
            encoding: 'utf8',
            env: agentEnv,
          },
        );
        expect(spoof.status).not.toBe(0);
        expect(spoof.stderr).toMatch(/cannot record agent "operator"/);
        // a second daemon on the same ledger is refused by the ledger lock, with a message
        const second = makeConfig();
        const p2 = await spawnDaemon(second.file, { GAVEL_LEDGER_PATH: c.ledger });
        expect(await p2.exited).toBe(2);
        expect(p2.stderr()).toMatch(/held by another process/);
        p.child.kill('SIGHUP');
        await new Promise((r) => setTimeout(r, 500));
        const cl = new DaemonClient({ socket: c.socket, token: TOKENS.reader });
        const vr = await cl.verify();
        expect(vr.ok).toBe(true);
        expect(vr.keyed_checks).toBeGreaterThanOrEqual(vr.entries - 1);
        // a signed checkpoint and an inclusion proof that an offline auditor can check
        const cp = await cl.checkpoint();
        expect(cp.size).toBeGreaterThanOrEqual(5);
        expect(chain.openCheckpoint(cp.note, [key]).size).toBe(cp.size);
        const { proof } = await cl.proof(2);
        const checked = chain.checkProofFile(proof, [key]);
        expect(checked.index).toBe(2);
        expect(checked.entry.kind).toBe('boot.services');
        await expect(cl.proof(10_000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
        cl.close();
      } finally {
        p.child.kill('SIGTERM');
      }
      expect(await p.exited).toBe(0);
      const kinds = lines(c.ledger).map((e) => e.kind);
      expect(kinds.slice(0, 4)).toEqual(['boot.init', 'boot.config', 'boot.services', 'boot.ready']);
      expect(lines(c.ledger).some((e) => e.kind === 'boot.config' && e.action === 'reload')).toBe(true);
      expect(lines(c.ledger).find((e) => e.action === 'deploy-app')?.agent).toBe('agent-1');
      expect(readFileSync(c.ledger, 'utf8')).not.toContain('operator-secret-for-tests');
      const v = await chain.verifyLedgerParallel(c.ledger, { threads: 0 });
      expect(v.ok, v.message).toBe(true);
    },
    60_000,
  );

  it.skipIf(!hasLedger)(
    'hostile requests against the real ledger: 4xx with a message, nothing written, still serving',
    async () => {
      const c = makeConfig();
      const p = await spawnDaemon(c.file, {}, c.socket);
      try {
        const cl = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
        const before = lines(c.ledger).length;
        const bad: [string, unknown, number][] = [
          ['/v1/events', { kind: 'agent.action', detail: 5 }, 400],
          ['/v1/events', { kind: 'NOT A KIND' }, 400],
          ['/v1/events', { kind: 'boot.ready' }, 403],
          ['/v1/events', { kind: 'agent.action', payload: 'x' }, 400],
          ['/v1/events', { kind: 'agent.actoin' }, 400],
          [
            '/v1/events',
            {
              kind: 'agent.note',
              detail:
                'key: -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----',
            },
            422,
          ],
          [
            '/v1/events',
            { kind: 'agent.note', detail: 'leaked operator-secret-for-tests-0123456789 here' },
            422,
          ],
          [
            '/v1/events',
            { kind: 'agent.note', payload: { token: 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB' } },
            422,
          ],
          ['/v1/events', { kind: 'agent.action', agent: 'operator' }, 403],
          ['/v1/events', { kind: 'agent.action', detail: 'x'.repeat(70_000) }, 413],
          ['/v1/gates/tool.invoke/evaluate', { effect: { risk: 1e308 } }, 400],
          ['/v1/gates/tool.invoke/evaluate', { effect: { risk: -1 } }, 400],
          ['/v1/gates/tool.invoke/evaluate', {}, 404],
          [
            '/v1/events/batch',
            { events: [{ kind: 'agent.action' }, { kind: 'agent.action', payload: [] }] },
            400,
          ],
        ];
        for (const [path, body, status] of bad) {
          const err = await cl.call('POST', path, body).then(
            () => undefined,
            (e: { status: number; message: string }) => e,
          );
          expect(err?.status, `${path} ${JSON.stringify(body).slice(0, 60)}`).toBe(status);
          expect(err?.message.length).toBeGreaterThan(5);
        }
        expect(lines(c.ledger).length).toBe(before);
        // the CLI's daemon path says the gate is unknown and exits non-zero
        const ge = spawnSync(process.execPath, ['bin/gavel.js', 'gate', 'eval', 'tool.invoke', '--daemon'], {
          encoding: 'utf8',
          env: { ...process.env, GAVEL_SOCKET: c.socket, GAVEL_TOKEN: TOKENS.agent },
        });
        expect(ge.status).toBe(1);
        expect(ge.stderr).toMatch(/no active policy serves gate "tool.invoke"/);
        const ok = await cl.appendEvent({ kind: 'agent.action', detail: 'still serving' });
        expect(lines(c.ledger)[ok.seq]?.hash).toBe(ok.hash);
        // the emergency path with no policy for chain.emergency: executed, recorded, flagged for review
        const em = (await cl.emergency({ action: 'kill-switch', justification: 'runaway agent' })) as {
          review: boolean;
          invoked: { seq: number };
          judged: { seq: number };
        };
        expect(em.review).toBe(true);
        expect(lines(c.ledger)[em.invoked.seq]?.kind).toBe('emergency.invoked');
        expect(lines(c.ledger)[em.judged.seq]?.kind).toBe('emergency.judged');
        cl.close();
      } finally {
        p.child.kill('SIGTERM');
      }
      expect(await p.exited).toBe(0);
    },
    60_000,
  );
});
