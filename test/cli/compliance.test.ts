// `gavel compliance report` on a known ledger (built here with the real Ledger, a fixed clock, a fixed
// secret and a fixed checkpoint key, so it is byte-for-byte the same ledger on every run) matches the
// stored reports, flags the gate without a serving policy, the overdue and the stuck anchor, and
// nothing else; hostile input (a tampered entry, a garbage line, a forged checkpoint, markup in a gate
// name, a missing or MO§ES ledger) gives a FAIL naming the entry or a clear usage error (exit 2); with
// --daemon, a policy the running daemon serves but the ledger never recorded FAILs.
//
// Stored expectations: test/fixtures/compliance/report.{md,json}. After a deliberate change to the
// report, regenerate them with
//   npx tsc -p tsconfig.build.json && UPDATE_GOLDEN=1 npx vitest run test/cli/compliance.test.ts
// and read the diff before committing it.
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalJson,
  type Entry,
  entryHash,
  formatSignerKey,
  formatVerifierKey,
  Ledger,
  leafHashHex,
  ledgerOrigin,
  MemoryTree,
  signCheckpoint,
  signerFromSeed,
} from '../../chain/index.js';
import { loadConfig, type RunningDaemon, startDaemon } from '../../daemon/index.js';
import { MemoryLedger, makeConfig, RuleDecisions, TOKENS, testChecker } from '../daemon/helpers.js';
import { cleanEnv, GAVEL, gavel, tempDir } from '../helpers/run.js';

const SECRET = 'compliance-fixture-operator-secret-0001';
const GOLDEN = path.join('test', 'fixtures', 'compliance');
const NOW = '2026-01-02T00:00:00.000Z';
const t = tempDir('compliance');
const ledger = path.join(t.dir, 'ledger.jsonl');
const signer = signerFromSeed('gavel-compliance-test', new Uint8Array(32).fill(7));
const VKEY = formatVerifierKey(signer);
const HOSTILE_GATE = '<script>alert(1)</script>|x';

const gates = (
  JSON.parse(readFileSync('policies/constitution/gates.json', 'utf8')) as { gates: { gate: string }[] }
).gates.map((g) => g.gate);
const constitution = { name: 'constitution', version: '1.0.0', sha256: 'ab'.repeat(32) };
const constitution2 = { name: 'constitution', version: '1.0.1', sha256: 'cd'.repeat(32) };
const models = { name: 'models', version: '0.1.0', sha256: 'ef'.repeat(32) };
const tx = `0x${'1'.repeat(64)}`;

function decision(gate: string, verdict: string, policy: object = constitution) {
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

function deployed(p: { name: string; version: string; sha256: string }) {
  return {
    kind: 'policy.deployed',
    source: 'daemon',
    agent: 'operator',
    component: 'governance',
    action: 'deployed',
    detail: `${p.name}@${p.version}: deployed`,
    outcome: 'deployed',
    payload: { deployment: `dep-${p.name}`, ...p, signers: ['op-1'], threshold: 1 },
  };
}

function anchor(target: string, chain: string, size: number, state: string, extra = {}) {
  return {
    kind: `anchor.${state}`,
    source: 'daemon',
    agent: 'gavel',
    component: 'anchor',
    action: state,
    detail: state,
    outcome: 'ok',
    payload: {
      target,
      chain,
      network: 'local',
      anchor_id: `${target}/${size}`,
      checkpoint: { origin: 'gavel.local/0123456789abcdef', size, root: 'c'.repeat(64) },
      head: 'd'.repeat(64),
      ...extra,
    },
  };
}

beforeAll(async () => {
  let clock = Date.parse('2026-01-01T00:00:00.000Z');
  const l = await Ledger.open(ledger, { secret: SECRET, now: () => (clock += 1000) });
  const written: Entry[] = [];
  const add = async (e: Parameters<Ledger['append']>[0]) => written.push(await l.append(e));
  await add({
    kind: 'boot.config',
    source: 'daemon',
    agent: 'gavel',
    component: 'daemon',
    action: 'config',
    detail: 'config fixture',
    outcome: 'ok',
    // eml.load is left without a serving policy on purpose; eml.train is served by `models`, deployed
    // later under a new name (its gates are known only from its decisions).
    payload: { policies: [{ ...constitution, gates: gates.filter((g) => !g.startsWith('eml.')) }] },
  });
  const verdicts = ['permit', 'permit-with-warning', 'escalate', 'deny'];
  for (let i = 0; i < 7; i++) await add(decision(gates[i % 4] as string, verdicts[i % 4] as string));
  await add(deployed(models));
  await add(decision('eml.train', 'permit', models));
  await add(deployed(constitution2));
  await add(decision(HOSTILE_GATE, 'deny', constitution2));
  // base-local: anchored at size 12 and finalized; solana-local: submitted at 12, never finalized.
  await add(anchor('base-local', 'base', 12, 'scheduled'));
  await add(anchor('solana-local', 'solana', 12, 'scheduled'));
  await add(anchor('base-local', 'base', 12, 'submitted', { tx, attempt: 1 }));
  await add(anchor('solana-local', 'solana', 12, 'submitted', { tx: '5'.repeat(88), attempt: 1 }));
  await add(anchor('base-local', 'base', 12, 'confirmed', { tx, slot: 12, fee: '27880000' }));
  await add(anchor('base-local', 'base', 12, 'finalized', { tx, slot: 12 }));
  // The ledger grows after the last anchor, and no anchor follows: overdue a day later.
  for (let i = 0; i < 3; i++) await add(decision('eml.load', 'escalate', constitution2));
  await add({ kind: 'custom.note', action: 'note', detail: 'a note' });
  await l.close();
  // The last signed checkpoint beside the ledger, as `gavel audit checkpoint` keeps it (at size 12).
  const tree = new MemoryTree();
  for (const e of written.slice(0, 12)) tree.appendLeaf(leafHashHex(e.hash));
  const origin = ledgerOrigin((written[0] as Entry).hash);
  writeFileSync(`${ledger}.checkpoint`, signCheckpoint({ origin, size: 12, root: tree.root(12) }, signer));
  // The receipts file the daemon keeps beside the ledger for each finalized anchor.
  const receipt = { anchor_id: 'base-local/12', target: 'base-local', chain: 'base', network: 'local' };
  writeFileSync(`${ledger}.anchors`, `${JSON.stringify({ ...receipt, tx, size: 12, slot: 12 })}\n`);
});
afterAll(() => t.cleanup());

interface Json {
  summary: { pass: number; fail: number; info: number; ok: boolean };
  sections: {
    id: string;
    table?: { header: string[]; rows: (string | number)[][] };
    checks: { check: string; status: string; detail: string }[];
  }[];
}

const base = (file: string) => [
  'compliance',
  'report',
  '--ledger',
  file,
  '--now',
  NOW,
  '--anchor-interval',
  '600',
];
const report = (format: string, file = ledger, extra: string[] = [], vkey = VKEY) => {
  const r = gavel([...base(file), '--format', format, '--vkey', vkey, ...extra], {
    GAVEL_OPERATOR_SECRET: SECRET,
  });
  return { ...r, stdout: r.stdout.replaceAll(t.dir, '<dir>') };
};
const section = (j: Json, id: string) => j.sections.find((s) => s.id === id)?.checks ?? [];

describe('gavel compliance report', () => {
  for (const format of ['md', 'json']) {
    it(`the ${format} report of a known ledger matches the stored one`, () => {
      const r = report(format);
      expect(r.status, r.stderr).toBe(1); // the fixture has deliberate gaps
      const golden = path.join(GOLDEN, `report.${format}`);
      if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, r.stdout);
      expect(r.stdout).toBe(readFileSync(golden, 'utf8'));
    });
  }

  it('flags the gate without a serving policy, the overdue and the stuck anchors, and nothing else', () => {
    const j = JSON.parse(report('json').stdout) as Json;
    const fails = section(j, 'gaps').filter((c) => c.status === 'FAIL');
    expect(fails.map((c) => c.check)).toEqual([
      'gate eml.load is served',
      'anchors on base-local are current',
      'anchors on solana-local are current',
      'no unfinished anchor on solana-local',
    ]);
    expect(fails[1]?.detail).toMatch(
      /^overdue: 4 entries not anchored, the oldest from 2026-01-01T00:00:\d\d\.000Z \(\d+ s ago\); last finalized 2026-01-01T00:00:\d\d\.000Z at size 12;/,
    );
    expect(fails[2]?.detail).toMatch(
      /^overdue: 16 entries not anchored, the oldest from 2026-01-01T00:00:02.000Z .*; no finalized anchor;/,
    );
    expect(fails[3]?.detail).toMatch(
      /^solana-local\/12 submitted \(2026-01-01T00:00:\d\d\.000Z\), unfinished since 2026-01-01T00:00:\d\d\.000Z$/,
    );
    expect(j.summary).toMatchObject({ fail: 4, ok: false });
    // The serving set follows the deployments: the new `models` policy serves what it was seen deciding.
    const served = section(j, 'gates');
    expect(served.find((c) => c.check === 'gate eml.train is served')).toMatchObject({
      status: 'PASS',
      detail: `models 0.1.0 sha256 ${models.sha256}`,
    });
    expect(served.find((c) => c.check === 'gate tool.execute is served')?.detail).toBe(
      `constitution 1.0.1 sha256 ${constitution2.sha256}`,
    );
    expect(section(j, 'verification').map((c) => [c.check, c.status])).toEqual([
      ['hash chain intact', 'PASS'],
      ['seals verified', 'PASS'],
    ]);
    expect(section(j, 'verification')[1]?.detail).toBe('22 seals checked with the operator secret');
    expect(section(j, 'anchors').slice(0, 2)).toMatchObject([
      { check: 'checkpoint at size 12 matches the ledger', status: 'PASS' },
      { check: 'checkpoint signature', status: 'PASS', detail: 'signed by gavel-compliance-test' },
    ]);
    // A shorter overdue limit is honoured; a longer one clears the overdue finding but not the gate.
    const lenient = JSON.parse(report('json', ledger, ['--overdue-intervals', '1000']).stdout) as Json;
    expect(
      section(lenient, 'gaps')
        .filter((c) => c.status === 'FAIL')
        .map((c) => c.check),
    ).toEqual(['gate eml.load is served']);
  });

  it('never prints the operator secret, in any format', () => {
    for (const format of ['md', 'html', 'json']) {
      const r = report(format);
      expect(r.stdout + r.stderr).not.toContain(SECRET);
    }
  });

  it('the html report escapes what the ledger says', () => {
    const html = report('html').stdout;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<td class="FAIL">FAIL</td>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;|x');
    expect(html).not.toMatch(/<script/i);
    // Markdown: the `|` in the gate name cannot split the table cell, nor its markup reach a viewer.
    const md = report('md').stdout;
    expect(md).toContain('| \\<script>alert(1)\\</script>\\|x | 0 | 0 | 0 | 1 | 1 |');
    expect(md).not.toMatch(/(^|[^\\])<\/?script/im);
  });

  it('a tampered entry fails verification naming the entry', () => {
    const bad = path.join(t.dir, 'tampered.jsonl');
    copyFileSync(ledger, bad);
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('agent.spawn: escalate', 'agent.spawn: permit!!'));
    const r = report('json', bad);
    expect(r.status).toBe(1);
    const chainCheck = section(JSON.parse(r.stdout) as Json, 'verification')[0];
    expect(chainCheck).toMatchObject({ check: 'hash chain intact', status: 'FAIL' });
    expect(chainCheck?.detail).toMatch(/entry 3\)$/);
  });

  it('an entry rewritten and re-chained without the operator secret fails on its seal', () => {
    const bad = path.join(t.dir, 'rechained.jsonl');
    const entries = readFileSync(ledger, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    let prev = '';
    for (const e of entries) {
      if (e.seq === 3) e.detail = 'agent.spawn: permit';
      if ((e.seq as number) >= 3) {
        e.previous_hash = prev;
        delete e.hash;
        e.hash = entryHash(e);
      }
      prev = e.hash as string;
    }
    writeFileSync(bad, `${entries.map((e) => canonicalJson(e)).join('\n')}\n`);
    const r = report('json', bad);
    expect(r.status).toBe(1);
    expect(section(JSON.parse(r.stdout) as Json, 'verification')).toMatchObject([
      {
        check: 'hash chain intact',
        status: 'FAIL',
        detail: 'intact up to entry 3, where verification stopped on its seal',
      },
      { check: 'seals verified', status: 'FAIL', detail: expect.stringMatching(/\(entry 3\)$/) },
    ]);
    // Without the secret the forgery is invisible to the hash chain: the report says what it could not check.
    const blind = gavel([...base(bad), '--format', 'json']);
    expect(section(JSON.parse(blind.stdout) as Json, 'verification')).toMatchObject([
      { check: 'hash chain intact', status: 'PASS' },
      { check: 'seals verified', status: 'INFO', detail: 'sealed, not checked: give --secret-file' },
    ]);
  });

  it('payloads of the wrong shape (a forger re-chaining without the secret) do not crash the report', () => {
    const bad = path.join(t.dir, 'odd-payloads.jsonl');
    const entries = readFileSync(ledger, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const odd: Record<string, unknown> = {
      'boot.config': { policies: [{ name: 5, sha256: null, gates: 'tool.execute' }, null, 'x'] },
      'gate.decision': { gate: { x: 1 }, verdict: ['deny'], policy: { sha256: 7 } },
      'policy.deployed': { name: null, version: 1 },
      'anchor.finalized': {
        target: {},
        anchor_id: 3,
        checkpoint: 'x',
        tx: 5,
        slot: '9',
        explorer: 'javascript:1',
      },
      'anchor.submitted': null,
    };
    let prev = '0'.repeat(64);
    for (const e of entries) {
      if ((e.kind as string) in odd) e.payload = odd[e.kind as string];
      e.previous_hash = prev;
      delete e.hash;
      e.hash = entryHash(e);
      prev = e.hash as string;
    }
    writeFileSync(bad, `${entries.map((e) => canonicalJson(e)).join('\n')}\n`);
    for (const format of ['md', 'html', 'json']) {
      const r = gavel([...base(bad), '--format', format]);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toBe('');
    }
    // With the secret, the forgery is named.
    const j = JSON.parse(report('json', bad).stdout) as Json;
    expect(section(j, 'verification')[1]).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(/\(entry 0\)$/),
    });
  });

  it('a garbage line in the middle is a FAIL naming the entry, not a crash', () => {
    const bad = path.join(t.dir, 'garbage.jsonl');
    const lines = readFileSync(ledger, 'utf8').split('\n');
    lines[5] = '{"not": "an entry"';
    writeFileSync(bad, lines.join('\n'));
    const r = report('json', bad);
    expect(r.status, r.stderr).toBe(1);
    const v = section(JSON.parse(r.stdout) as Json, 'verification');
    const chainCheck = v.find((c) => c.check === 'hash chain intact');
    expect(chainCheck?.status).toBe('FAIL');
    expect(chainCheck?.detail).toMatch(/entry 5\)$/);
  });

  it('a checkpoint that is not the ledger, or not signed by the given key, FAILs', () => {
    const dir = tempDir('compliance-cp');
    try {
      const copy = path.join(dir.dir, 'ledger.jsonl');
      copyFileSync(ledger, copy);
      const note = readFileSync(`${ledger}.checkpoint`, 'utf8');
      // Another key: the signature check fails; the checkpoint still matches the ledger.
      const other = formatVerifierKey(signerFromSeed('gavel-compliance-test', new Uint8Array(32).fill(8)));
      copyFileSync(`${ledger}.checkpoint`, `${copy}.checkpoint`);
      let j = JSON.parse(report('json', copy, [], other).stdout) as Json;
      expect(
        section(j, 'anchors')
          .slice(0, 2)
          .map((c) => c.status),
      ).toEqual(['PASS', 'FAIL']);
      // A root the ledger never had (one hex digit of the body changed): both FAIL.
      const lines = note.split('\n');
      lines[2] = `${lines[2]?.startsWith('A') ? 'B' : 'A'}${lines[2]?.slice(1)}`;
      writeFileSync(`${copy}.checkpoint`, lines.join('\n'));
      j = JSON.parse(report('json', copy).stdout) as Json;
      expect(section(j, 'anchors').slice(0, 2)).toMatchObject([
        { status: 'FAIL', detail: 'the ledger no longer has this root: cut or rewritten' },
        { status: 'FAIL' },
      ]);
      // The ledger cut below the checkpoint's size (it verifies on its own): the checkpoint catches it.
      copyFileSync(`${ledger}.checkpoint`, `${copy}.checkpoint`);
      writeFileSync(copy, `${readFileSync(ledger, 'utf8').split('\n').slice(0, 10).join('\n')}\n`);
      j = JSON.parse(report('json', copy).stdout) as Json;
      expect(section(j, 'verification')[0]?.status).toBe('PASS');
      expect(section(j, 'anchors').slice(0, 2)).toMatchObject([
        {
          check: 'checkpoint at size 12 matches the ledger',
          status: 'FAIL',
          detail: 'the ledger no longer has this root: cut or rewritten',
        },
        { status: 'PASS' },
      ]);
    } finally {
      dir.cleanup();
    }
  });

  it('overdue counts from the oldest unanchored entry, not from the last anchor', async () => {
    const dir = tempDir('compliance-quiet');
    try {
      const file = path.join(dir.dir, 'ledger.jsonl');
      let clock = Date.parse('2026-03-01T00:00:00.000Z');
      const l = await Ledger.open(file, { now: () => clock });
      await l.append(decision('tool.execute', 'permit'));
      // An anchor left submitted (size 1) and a later one finalized (size 2): history, not stuck.
      await l.append(anchor('base-local', 'base', 1, 'submitted', { tx: `0x${'3'.repeat(64)}`, attempt: 1 }));
      await l.append(anchor('base-local', 'base', 2, 'finalized', { tx, slot: 3 }));
      clock += 86_400_000; // a quiet day, then one entry
      await l.append(decision('tool.execute', 'permit'));
      await l.close();
      const checks = (iso: string) => {
        const args = [
          ...base(file).slice(0, -4),
          '--now',
          iso,
          '--anchor-interval',
          '600',
          '--format',
          'json',
        ];
        return section(JSON.parse(gavel(args).stdout) as Json, 'anchors');
      };
      const at = (iso: string) => checks(iso).find((c) => c.check === 'anchors on base-local are current');
      expect(checks('2026-03-02T00:00:10.000Z').slice(2)).toMatchObject([
        { check: 'anchor base-local/1 never finished', status: 'INFO' },
        { check: 'no unfinished anchor on base-local', status: 'PASS' },
      ]);
      expect(at('2026-03-02T00:00:10.000Z')).toMatchObject({ status: 'PASS' });
      expect(at('2026-03-02T00:00:10.000Z')?.detail).toMatch(
        /1 entries not anchored, the oldest from 2026-03-02T00:00:00.000Z \(10 s ago\), due within 3 intervals/,
      );
      expect(at('2026-03-02T00:31:00.000Z')).toMatchObject({ status: 'FAIL' });
    } finally {
      dir.cleanup();
    }
  });

  it('--config gives the ledger, secret, checkpoint key and anchor intervals; explorer links are links', async () => {
    const dir = tempDir('compliance-config');
    try {
      const file = path.join(dir.dir, 'ledger.jsonl');
      const secretFile = path.join(dir.dir, 'secret');
      writeFileSync(secretFile, SECRET, { mode: 0o600 });
      writeFileSync(path.join(dir.dir, 'checkpoint.key'), formatSignerKey(signer), { mode: 0o600 });
      writeFileSync(path.join(dir.dir, 'base.key'), `0x${'0'.repeat(63)}1`, { mode: 0o600 });
      const target = (name: string, interval: number) =>
        `[[anchor.targets]]\nname = "${name}"\nchain = "base"\nnetwork = "local"\nrpc_url = "http://127.0.0.1:1"\nkey_file = "base.key"\ninterval_seconds = ${interval}\n`;
      const config = path.join(dir.dir, 'gavel.toml');
      writeFileSync(
        config,
        `[ledger]\npath = "ledger.jsonl"\nsecret_file = "secret"\n\n[server]\nsocket = "g.sock"\n\n[checkpoint]\nkey_file = "checkpoint.key"\n\n[anchor]\n${target('base-sepolia', 60)}${target('base-spare', 60)}`,
      );
      let clock = Date.parse('2026-03-01T00:00:00.000Z');
      const l = await Ledger.open(file, { secret: SECRET, now: () => (clock += 1000) });
      const first = await l.append(decision('tool.execute', 'permit'));
      const explorer = `https://sepolia.basescan.org/tx/${tx}`;
      await l.append(anchor('base-sepolia', 'base', 1, 'finalized', { tx, slot: 3, explorer }));
      await l.append(
        anchor('base-sepolia', 'base', 2, 'failed', { explorer: 'javascript:alert(1)', reason: 'x' }),
      );
      await l.close();
      const tree = new MemoryTree();
      tree.appendLeaf(leafHashHex(first.hash));
      writeFileSync(
        `${file}.checkpoint`,
        signCheckpoint({ origin: ledgerOrigin(first.hash), size: 1, root: tree.root(1) }, signer),
      );
      // Two minutes later: base-sepolia (every 60 s) covers all but anchor entries; base-spare never anchored.
      const args = ['compliance', 'report', '--config', config, '--now', '2026-03-01T00:05:00.000Z'];
      const r = gavel([...args, '--format', 'json']);
      expect(r.status, r.stderr).toBe(1);
      const j = JSON.parse(r.stdout) as Json;
      expect(section(j, 'verification')[1]).toMatchObject({
        status: 'PASS',
        detail: '3 seals checked with the operator secret',
      });
      const anchors = section(j, 'anchors');
      expect(anchors.find((c) => c.check === 'checkpoint signature')).toMatchObject({ status: 'PASS' });
      expect(anchors.find((c) => c.check === 'anchors on base-sepolia are current')?.status).toBe('PASS');
      expect(anchors.find((c) => c.check === 'anchors on base-spare are current')).toMatchObject({
        status: 'FAIL',
        detail: 'configured, but never anchored',
      });
      const html = gavel([...args, '--format', 'html']).stdout;
      expect(html).toContain(`<a href="${explorer}" rel="noreferrer noopener">${explorer}</a>`);
      expect(html).not.toContain('href="javascript:');
    } finally {
      dir.cleanup();
    }
  });

  it('a finalized anchor in the receipts file but not in the ledger FAILs', () => {
    const dir = tempDir('compliance-receipts');
    try {
      const copy = path.join(dir.dir, 'ledger.jsonl');
      copyFileSync(ledger, copy);
      const gone = { anchor_id: 'base-local/30', target: 'base-local', chain: 'base', network: 'local' };
      writeFileSync(
        `${copy}.anchors`,
        `${readFileSync(`${ledger}.anchors`, 'utf8')}${JSON.stringify({ ...gone, tx: `0x${'2'.repeat(64)}`, size: 30, slot: 40 })}\n{"torn`,
      );
      const j = JSON.parse(report('json', copy).stdout) as Json;
      const c = section(j, 'anchors').find((x) => x.check.startsWith('anchor receipts'));
      expect(c).toMatchObject({
        check: 'anchor receipts (ledger.jsonl.anchors) are in the ledger',
        status: 'FAIL',
        detail: `not in the ledger (entries removed or the ledger cut): base-local/30 0x${'2'.repeat(64)}`,
      });
    } finally {
      dir.cleanup();
    }
  });

  it('usage errors exit 2 with a message naming what was wrong', () => {
    const missing = report('md', path.join(t.dir, 'nope.jsonl'));
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no ledger at .*nope\.jsonl/);
    expect(missing.stdout).toBe('');
    const moses = path.join(t.dir, 'moses.jsonl');
    writeFileSync(
      moses,
      `${JSON.stringify({ timestamp: '2026-01-01T00:00:00', agent: 'a', action: 'x', previous_hash: '0'.repeat(64), hash: 'f'.repeat(64) })}\n`,
    );
    const m = report('md', moses);
    expect(m.status).toBe(2);
    expect(m.stderr).toMatch(/MO§ES ledger/);
    for (const [flag, value, msg] of [
      ['--format', 'pdf', /--format: expected md, html or json/],
      ['--now', 'yesterday', /--now: expected an ISO date/],
      ['--overdue-intervals', '0', /--overdue-intervals/],
    ] as const) {
      const r = gavel([...base(ledger), flag, value]);
      expect(r.status, `${flag} ${value}`).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const none = gavel(['compliance', 'report'], { GAVEL_CONFIG: '' });
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/give --ledger FILE or --config FILE/);
  });
});

describe('gavel compliance report --daemon', () => {
  let d: RunningDaemon;
  let socket: string;
  let tokenFile: string;
  beforeAll(async () => {
    const c = makeConfig();
    socket = c.socket;
    tokenFile = path.join(c.dir, 'reader.token');
    writeFileSync(tokenFile, TOKENS.reader, { mode: 0o600 });
    d = await startDaemon(loadConfig(c.file), {
      parts: {
        ledger: new MemoryLedger(),
        decisions: new RuleDecisions(['tool.execute']),
        checker: testChecker,
      },
    });
  });
  afterAll(async () => {
    await d?.stop();
  });

  it('FAILs a policy the daemon serves that the ledger never recorded', async () => {
    // Async spawn: the daemon answers from this process, so the CLI must not block the event loop.
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const args = [GAVEL, ...base(ledger), '--format', 'json', '--daemon', '--socket', socket];
      execFile(
        process.execPath,
        [...args, '--token-file', tokenFile],
        { env: cleanEnv({ GAVEL_OPERATOR_SECRET: SECRET }) },
        (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : ((err.code as number) ?? null), stdout, stderr }),
      );
    });
    expect(out.code, out.stderr).toBe(1);
    const gatesChecks = section(JSON.parse(out.stdout) as Json, 'gates');
    expect(gatesChecks[0]?.detail).toMatch(/^from the running daemon: test-rules 1\.0\.0/);
    expect(gatesChecks.find((c) => c.check === 'daemon ledger')?.detail).toMatch(
      /^the daemon writes .*, not the ledger of this report/,
    );
    expect(gatesChecks.find((c) => c.check === "live policy test-rules 1.0.0 is the ledger's")).toMatchObject(
      {
        status: 'FAIL',
        detail: `sha256 ${'a'.repeat(64)} was never recorded as configured, deployed or rolled back to`,
      },
    );
    expect(gatesChecks.find((c) => c.check === 'ledger policy constitution 1.0.1 is live')?.status).toBe(
      'FAIL',
    );
    // Judged against the live set: the one gate the daemon serves passes, the rest fail.
    expect(gatesChecks.find((c) => c.check === 'gate tool.execute is served')?.status).toBe('PASS');
    expect(gatesChecks.find((c) => c.check === 'gate tool.sign is served')?.status).toBe('FAIL');
  });
});
