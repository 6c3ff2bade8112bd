// The operator console against a real daemon process: the shell is served without a token but every
// data route needs one; hostile ledger text renders as text (no markup, no script); the page shows
// the status and the entries; Verify answers; and without anchoring it says so.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../daemon/index.js';
import { hasChromium, launch } from '../helpers/browser.js';
import { freePort } from '../helpers/run.js';
import { makeConfig, TOKENS } from './helpers.js';
import { type DaemonProc, spawnDaemon } from './proc.js';

const XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
let p: DaemonProc;
let base: string;

beforeAll(async () => {
  const port = await freePort();
  const c = makeConfig('', { tcp: true });
  writeFileSync(c.file, readFileSync(c.file, 'utf8').replace('127.0.0.1:0', `127.0.0.1:${port}`));
  p = await spawnDaemon(c.file, {}, c.socket);
  base = `http://127.0.0.1:${port}`;
  const agent = new DaemonClient({ socket: c.socket, token: TOKENS.agent });
  await agent.call('POST', '/v1/events', { kind: 'custom.note', action: 'note', detail: XSS });
  agent.close();
}, 30_000);
afterAll(async () => {
  p?.child.kill('SIGTERM');
  await p?.exited;
});

describe('operator console', () => {
  it('serves the page without a token, with a strict CSP; data routes refuse a missing or wrong token', async () => {
    const page = await fetch(`${base}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await page.text()).toContain('/console/console.js');
    expect((await fetch(`${base}/console/console.js`)).status).toBe(200);
    for (const route of ['/v1/stats/decisions', '/v1/status', '/v1/entries/recent', '/v1/verify']) {
      expect((await fetch(`${base}${route}`)).status, route).toBe(401);
      const wrong = await fetch(`${base}${route}`, { headers: { authorization: 'Bearer gvl_wrong' } });
      expect(wrong.status, route).toBe(401);
    }
    // The agent token has no read scope.
    const agent = await fetch(`${base}/v1/stats/decisions`, {
      headers: { authorization: `Bearer ${TOKENS.agent}` },
    });
    expect(agent.status).toBe(403);
    const stats = (await (
      await fetch(`${base}/v1/stats/decisions?minutes=5`, {
        headers: { authorization: `Bearer ${TOKENS.reader}` },
      })
    ).json()) as { series: unknown[]; verdicts: string[] };
    expect(stats.series).toHaveLength(5);
    expect(stats.verdicts).toEqual(['permit', 'permit-with-warning', 'escalate', 'deny']);
  });

  it.skipIf(!hasChromium)(
    'shows status and entries, renders hostile text as text, verifies on click (headless Chromium)',
    async () => {
      const b = await launch();
      try {
        const page = await b.context.newPage();
        const dialogs: string[] = [];
        page.on('dialog', (d) => {
          dialogs.push(d.message());
          void d.dismiss();
        });
        await page.goto(`${base}/console`);
        await page.fill('#token', TOKENS.reader);
        await page.click('#token-form button');
        await page.waitForSelector('#app:not([hidden])');
        await expect(page.textContent('#status')).resolves.toContain('auditor');
        const cell = page.locator('#entries td.detail', { hasText: 'onerror' });
        await expect(cell.textContent()).resolves.toBe(XSS);
        expect(await page.locator('#entries img, #entries script').count()).toBe(0);
        expect(
          await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
        ).toBeUndefined();
        expect(dialogs).toEqual([]);
        await expect(page.textContent('#anchors')).resolves.toContain('anchoring is not configured');
        await page.click('#verify');
        await page.waitForSelector('#verify-result[data-state="ok"]');
        await expect(page.textContent('#verify-result')).resolves.toMatch(
          /^OK: \d+ entries, \d+ seals checked/,
        );
        // The token lives in sessionStorage, never in the URL.
        expect(page.url()).not.toContain(TOKENS.reader);
      } finally {
        await b.close();
      }
    },
    60_000,
  );
});
