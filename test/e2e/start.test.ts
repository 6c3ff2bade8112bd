// `npm start` (gavel start): the system on embedded defaults, demo decisions recorded, reachable on
// the socket and loopback TCP, stopped cleanly by Ctrl-C (SIGINT), and resumed by a second start.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasChromium, launch } from '../helpers/browser.js';
import { countColour, decodePng } from '../helpers/png.js';
import { cleanEnv, freePort, GAVEL, gavel, tempDir } from '../helpers/run.js';

const t = tempDir('start');
afterAll(() => t.cleanup());

async function runOnce(
  dir: string,
  port: number,
  check: (out: string) => Promise<void>,
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [GAVEL, 'start', '--dir', dir, '--port', String(port)], {
    env: cleanEnv(),
    cwd: t.dir,
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('gavel is running') && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 100));
  expect(out, out).toContain('gavel is running');
  await check(out);
  child.kill('SIGINT');
  return { code: await exited, out };
}

/** Opens the console in headless Chromium and checks what an operator would look for. */
async function lookAtConsole(port: number, token: string): Promise<void> {
  const b = await launch();
  try {
    const page = await b.context.newPage();
    await page.goto(`http://127.0.0.1:${port}/console`);
    await page.fill('#token', token);
    await page.click('#token-form button');
    await page.waitForSelector('#app:not([hidden])');
    // Both chains' anchors, final; the demo's verdicts; bars in the chart.
    for (const target of ['base-local', 'solana-local'])
      await page.waitForSelector(`#anchors tr[data-state="finalized"] >> text=${target}/`);
    for (const v of ['permit', 'escalate', 'deny'])
      expect(await page.locator(`#entries .verdict.${v}`).count()).toBeGreaterThan(0);
    expect(await page.locator('#chart rect.bar').count()).toBeGreaterThan(0);
    await page.click('#verify');
    await page.waitForSelector('#verify-result[data-state="ok"]');
    const shot = await page.screenshot({ fullPage: true, path: path.join(t.dir, 'console.png') });
    // Look at it: the verdict colours and the finalized-anchor green are on screen, not a blank page.
    const img = decodePng(shot);
    expect(img.width).toBeGreaterThan(600);
    expect(countColour(img, '#cf222e')).toBeGreaterThan(50); // deny badges and bars
    expect(countColour(img, '#1a7f37')).toBeGreaterThan(50); // permit, finalized anchors, verify OK
    expect(countColour(img, '#8250df')).toBeGreaterThan(20); // escalate
    if (process.env.GAVEL_KEEP_SCREENSHOT) writeFileSync(process.env.GAVEL_KEEP_SCREENSHOT, shot);
  } finally {
    await b.close();
  }
}

describe('gavel start', () => {
  it('runs on defaults, records demo decisions, answers on TCP, stops on SIGINT and resumes', async () => {
    const dir = path.join(t.dir, '.gavel');
    const port = await freePort();
    const first = await runOnce(dir, port, async (out) => {
      expect(out).toMatch(/demo: assess\.run\s+-> permit\s+\(permit\.within_thresholds\)/);
      expect(out).toMatch(/demo: tool\.execute\s+-> escalate\s+\(posture\.defense\.outbound\)/);
      expect(out).toMatch(/demo: agent\.spawn\s+-> permit-with-warning/);
      expect(out).toMatch(/demo: workspace\.delete\s+-> deny\s+\(threshold\.risk\)/);
      expect(out).toMatch(/demo: agent\.elevate\s+-> deny\s+\(posture\.scout\.mutating\)/);
      const token = (await import('node:fs'))
        .readFileSync(path.join(dir, 'secrets', 'demo-agent.token'), 'utf8')
        .trim();
      const r = await fetch(`http://127.0.0.1:${port}/v1/gates/tool.execute/evaluate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ effect: { risk: 0.2 }, environment: 'development', posture: 'offense' }),
      });
      const d = (await r.json()) as { verdict: string; seq: number; policy: { name: string } };
      expect(d.verdict).toBe('permit-with-warning');
      expect(d.policy.name).toBe('constitution');
      // Anchors land on both local chains, and the chains agree with the ledger.
      const ledger = path.join(dir, 'ledger.jsonl');
      const finalized = () =>
        new Set(
          readFileSync(ledger, 'utf8')
            .split('\n')
            .filter((l) => l.includes('"kind":"anchor.finalized"'))
            .map((l) => (JSON.parse(l) as { payload: { target: string } }).payload.target),
        );
      const deadline = Date.now() + 60_000;
      while (finalized().size < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 250));
      expect([...finalized()].sort()).toEqual(['base-local', 'solana-local']);
      const v = gavel(['anchor', 'verify', '--config', path.join(dir, 'gavel.toml'), '--all', '--json']);
      expect(v.status, v.stdout + v.stderr).toBe(0);
      expect((JSON.parse(v.stdout) as { anchors: unknown[] }).anchors.length).toBeGreaterThanOrEqual(2);
      if (hasChromium)
        await lookAtConsole(port, readFileSync(path.join(dir, 'secrets', 'operator.token'), 'utf8').trim());
    });
    expect(first.code).toBe(0);
    expect(first.out).toContain('stopping');
    expect(existsSync(path.join(dir, 'gavel.sock'))).toBe(false);
    // Nothing is left running: the validators' ports refuse connections once start has exited.
    const urls = [...first.out.matchAll(/^ {2}(?:base|solana) +(http:\/\/127\.0\.0\.1:\d+)/gm)].map(
      (m) => m[1],
    );
    expect(urls).toHaveLength(2);
    for (const u of urls) await expect(fetch(u as string, { method: 'POST', body: '{}' })).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    for (const s of [
      'operator-secret',
      'checkpoint.key',
      'operator.key',
      'demo-agent.token',
      'tokens.toml',
      'solana-anchor.json',
      'base-anchor.key',
    ])
      expect(statSync(path.join(dir, 'secrets', s)).mode & 0o077, s).toBe(0);
    const secret = path.join(dir, 'secrets', 'operator-secret');
    const v1 = gavel([
      'audit',
      'verify',
      '--ledger',
      path.join(dir, 'ledger.jsonl'),
      '--secret-file',
      secret,
      '--json',
    ]);
    const n1 = (JSON.parse(v1.stdout) as { entries: number; ok: boolean }).entries;
    expect(JSON.parse(v1.stdout)).toMatchObject({ ok: true });
    const second = await runOnce(dir, port, async () => {});
    expect(second.code).toBe(0);
    const v2 = JSON.parse(
      gavel([
        'audit',
        'verify',
        '--ledger',
        path.join(dir, 'ledger.jsonl'),
        '--secret-file',
        secret,
        '--json',
      ]).stdout,
    ) as {
      entries: number;
      ok: boolean;
      keyedChecks: number;
    };
    expect(v2.ok).toBe(true);
    expect(v2.entries).toBeGreaterThan(n1);
    expect(v2.keyedChecks).toBe(v2.entries);
  });
});
