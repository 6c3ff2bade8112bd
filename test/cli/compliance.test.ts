// `gavel compliance report` on a known ledger (built here with a fixed clock and secret, so it is the
// same ledger on every run) matches the stored report, flags the gate without a serving policy and
// the overdue anchor, fails verification of a tampered copy naming the entry, and refuses a missing
// ledger with a usage error. Regenerate the stored reports with UPDATE_GOLDEN=1 after a deliberate
// change, and read the diff.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../chain/index.js';
import { gavel, tempDir } from '../helpers/run.js';

const SECRET = 'compliance-fixture-operator-secret-0001';
const GOLDEN = path.join('test', 'fixtures', 'compliance');
const NOW = '2026-01-02T00:00:00.000Z';
const t = tempDir('compliance');
const ledger = path.join(t.dir, 'ledger.jsonl');

const gates = (
  JSON.parse(readFileSync('policies/constitution/gates.json', 'utf8')) as { gates: { gate: string }[] }
).gates.map((g) => g.gate);
const policy = { name: 'constitution', version: '1.0.0', sha256: 'ab'.repeat(32) };

function decision(gate: string, verdict: string) {
  return {
    kind: 'gate.decision',
    source: 'daemon',
    agent: 'agent-1',
    component: 'gate',
    action: gate,
    detail: `${gate}: ${verdict}`,
    outcome: verdict,
    payload: {
      gate,
      request: { effect: { risk: 0.2 } },
      verdict,
      reason: 'fixture',
      rule: 'fixture.rule',
      fuel: 400,
      policy,
    },
  };
}

function anchor(state: string, extra: Record<string, unknown> = {}) {
  return {
    kind: `anchor.${state}`,
    source: 'daemon',
    agent: 'gavel',
    component: 'anchor',
    action: state,
    detail: state,
    outcome: 'ok',
    payload: {
      target: 'base-local',
      chain: 'base',
      network: 'local',
      anchor_id: 'base-local/8',
      checkpoint: { origin: 'gavel.local/0123456789abcdef', size: 8, root: 'c'.repeat(64) },
      head: 'd'.repeat(64),
      ...extra,
    },
  };
}

beforeAll(async () => {
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const l = await Ledger.open(ledger, { secret: SECRET, now: () => (clock += 1000) });
  await l.append({
    kind: 'boot.config',
    source: 'daemon',
    agent: 'gavel',
    component: 'daemon',
    action: 'config',
    detail: 'config fixture',
    outcome: 'ok',
    // eml.load is left without a serving policy on purpose.
    payload: { policies: [{ ...policy, gates: gates.filter((g) => g !== 'eml.load') }] },
  });
  const verdicts = ['permit', 'permit-with-warning', 'escalate', 'deny'];
  for (let i = 0; i < 7; i++) await l.append(decision(gates[i % 4] as string, verdicts[i % 4] as string));
  await l.append(anchor('scheduled'));
  await l.append(anchor('submitted', { tx: `0x${'1'.repeat(64)}`, attempt: 1 }));
  await l.append(anchor('confirmed', { tx: `0x${'1'.repeat(64)}`, slot: 12, fee: '27880000' }));
  await l.append(anchor('finalized', { tx: `0x${'1'.repeat(64)}`, slot: 12 }));
  // The ledger grows after the last anchor, and no anchor follows: overdue a day later.
  for (let i = 0; i < 3; i++) await l.append(decision('eml.load', 'escalate'));
  await l.append({ kind: 'custom.note', action: 'note', detail: 'a note' });
  await l.close();
});
afterAll(() => t.cleanup());

const report = (format: string, file = ledger) => {
  const r = gavel(
    ['compliance', 'report', '--ledger', file, '--now', NOW, '--anchor-interval', '600', '--format', format],
    {
      GAVEL_OPERATOR_SECRET: SECRET,
    },
  );
  return { ...r, stdout: r.stdout.replaceAll(t.dir, '<dir>') };
};

describe('gavel compliance report', () => {
  for (const format of ['md', 'json']) {
    it(`the ${format} report of a known ledger matches the stored one`, () => {
      const r = report(format);
      expect(r.status, r.stderr).toBe(1); // the fixture has two deliberate gaps
      const golden = path.join(GOLDEN, `report.${format}`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, r.stdout);
      expect(r.stdout).toBe(readFileSync(golden, 'utf8'));
    });
  }

  it('flags the gate without a serving policy and the overdue anchor, and nothing else', () => {
    const j = JSON.parse(report('json').stdout) as {
      summary: { fail: number; ok: boolean };
      sections: { id: string; checks: { check: string; status: string; detail: string }[] }[];
    };
    const gaps = j.sections.find((s) => s.id === 'gaps')?.checks ?? [];
    const fails = gaps.filter((c) => c.status === 'FAIL');
    expect(fails.map((c) => c.check)).toEqual([
      'gate eml.load is served',
      'anchors on base-local are current',
    ]);
    expect(fails[1]?.detail).toMatch(/^overdue: 4 entries after the last finalized anchor/);
    expect(j.summary).toMatchObject({ fail: 2, ok: false });
    const verification = j.sections.find((s) => s.id === 'verification')?.checks ?? [];
    expect(verification.map((c) => c.status)).toEqual(['PASS', 'PASS']);
    expect(verification[1]?.detail).toBe('16 seals checked with the operator secret');
  });

  it('the html report escapes what the ledger says', () => {
    const html = report('html').stdout;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td class="FAIL">FAIL</td>');
    expect(html).not.toMatch(/<script/i);
  });

  it('a tampered ledger fails verification naming the entry; a missing one is a usage error', () => {
    const bad = path.join(t.dir, 'tampered.jsonl');
    copyFileSync(ledger, bad);
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('agent.spawn: escalate', 'agent.spawn: permit!!'));
    const j = JSON.parse(report('json', bad).stdout) as {
      sections: { id: string; checks: { check: string; status: string; detail: string }[] }[];
    };
    const chainCheck = j.sections.find((s) => s.id === 'verification')?.checks[0];
    expect(chainCheck?.status).toBe('FAIL');
    expect(chainCheck?.detail).toMatch(/entry 3\)$/);
    const missing = report('md', path.join(t.dir, 'nope.jsonl'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.jsonl/);
    const usage = gavel(['compliance', 'report', '--ledger', ledger, '--format', 'pdf']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--format: expected md, html or json/);
  });
});
