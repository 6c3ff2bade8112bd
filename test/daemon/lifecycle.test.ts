// Lifecycle in process: systemd notifications through a stand-in `systemd-notify` on PATH, SIGHUP
// reload of tokens (recorded), a stale socket removed but a live one refused, drain on stop.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DaemonClient, hashToken, loadConfig, startDaemon } from '../../daemon/index.js';
import { clearStaleSocket } from '../../daemon/listen.js';
import { systemdNotifier } from '../../daemon/notify.js';
import { MemoryLedger, makeConfig, RuleDecisions, TOKENS, testChecker } from './helpers.js';

const parts = () => ({
  ledger: new MemoryLedger(),
  decisions: new RuleDecisions(['tool.invoke']),
  checker: testChecker,
});

describe('daemon lifecycle', () => {
  it('sends READY=1 and WATCHDOG=1 through systemd-notify when NOTIFY_SOCKET is set', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'gavel-notify-'));
    const log = join(bin, 'calls.log');
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$@" >> ${log}\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const env = { PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/fake', WATCHDOG_USEC: '200000' };
    const c = makeConfig();
    const d = await startDaemon(loadConfig(c.file), { parts: parts(), notifier: systemdNotifier(env) });
    await new Promise((r) => setTimeout(r, 400));
    await d.stop();
    await new Promise((r) => setTimeout(r, 100));
    const calls = readFileSync(log, 'utf8');
    expect(calls).toMatch(new RegExp(`--pid=${process.pid} --ready`));
    expect(calls).toContain('WATCHDOG=1');
    expect(calls).toContain('STOPPING=1');
  });

  it('SIGHUP reload swaps tokens and is recorded; a bad config keeps the running one', async () => {
    const c = makeConfig();
    const p = parts();
    const d = await startDaemon(loadConfig(c.file), { parts: p });
    const fresh = 'gvl_new_token_after_reload_0001';
    try {
      const text = readFileSync(c.file, 'utf8');
      writeFileSync(
        c.file,
        `${text}\n[[auth.tokens]]\nname = "late"\nsha256 = "${hashToken(fresh)}"\nscopes = ["evaluate"]\n`,
      );
      await expect(
        new DaemonClient({ socket: c.socket, token: fresh }).evaluate('tool.invoke'),
      ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      await d.reload();
      const r = await new DaemonClient({ socket: c.socket, token: fresh }).evaluate('tool.invoke');
      expect(p.ledger.entries[r.seq]?.agent).toBe('late');
      expect(p.ledger.entries.filter((e) => e.kind === 'boot.config' && e.action === 'reload').length).toBe(
        1,
      );
      writeFileSync(c.file, '[ledger]\npath = 5\n');
      await d.reload();
      expect(
        (await new DaemonClient({ socket: c.socket, token: fresh }).evaluate('tool.invoke')).verdict,
      ).toBe('permit');
    } finally {
      await d.stop();
    }
  });

  it('refuses to start on a socket another process serves; removes a stale one', async () => {
    const c = makeConfig();
    const d = await startDaemon(loadConfig(c.file), { parts: parts() });
    try {
      await expect(clearStaleSocket(c.socket)).rejects.toMatchObject({ code: 'SOCKET_IN_USE' });
      await expect(startDaemon(loadConfig(c.file), { parts: parts() })).rejects.toMatchObject({
        code: 'SOCKET_IN_USE',
      });
    } finally {
      await d.stop();
    }
    // after stop the socket file may remain; a new daemon takes over a dead socket
    const d2 = await startDaemon(loadConfig(c.file), { parts: parts() });
    expect(
      (await new DaemonClient({ socket: c.socket, token: TOKENS.agent }).evaluate('tool.invoke')).verdict,
    ).toBe('permit');
    await d2.stop();
  });

  it('stop drains admitted requests and refuses new ones', async () => {
    const c = makeConfig();
    const p = parts();
    const slow = p.decisions;
    const orig = slow.evaluate.bind(slow);
    slow.evaluate = async (req) => {
      await new Promise((r) => setTimeout(r, 200));
      return orig(req);
    };
    const d = await startDaemon(loadConfig(c.file), { parts: p });
    const cl = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
    const inflight = cl.evaluate('tool.invoke');
    await new Promise((r) => setTimeout(r, 50));
    const stopping = d.stop();
    const r = await inflight;
    await stopping;
    expect(p.ledger.entries[r.seq]?.hash).toBe(r.hash);
    await expect(cl.evaluate('tool.invoke')).rejects.toBeDefined();
  });
});
