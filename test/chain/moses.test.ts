// MO§ES ledgers: gavel must read, verify, list and extend them exactly as the reference script does.
// The reference here is test/fixtures/moses_ref.py (written from shared/MOSES-FORMAT.md), run with
// python3's own json module.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gavel, mosesRef, python, tempDir } from '../helpers/run.js';

const SECRET = { MOSES_OPERATOR_SECRET: 'op-secret-ü' };
let t: ReturnType<typeof tempDir>;
let fixture: string;
let state: string;

function lines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

function same(file: string, args: string[] = [], env: Record<string, string> = {}) {
  const ours = gavel(['audit', 'verify', '--ledger', file, ...args], env);
  const ref = mosesRef(['verify', file], env);
  expect(ours.stdout).toBe(ref.stdout);
  expect(ours.status).toBe(ref.status);
  return ours;
}

beforeAll(() => {
  t = tempDir('moses');
  fixture = path.join(t.dir, 'audit_ledger.jsonl');
  state = path.join(t.dir, 'state.json');
  writeFileSync(
    state,
    JSON.stringify({ mode: 'research', posture: 'offense', role: 'secondary', session_hash: 'abc123' }),
  );
  const log = (args: string[], env: Record<string, string> = {}) => {
    const r = mosesRef(['log', fixture, '--state', state, ...args], env);
    expect(r.status, r.stderr).toBe(0);
  };
  log(['--action', 'read_file', '--detail', 'plain']);
  log(
    ['--action', 'transfer', '--detail', 'naïve café — 日本 😀 "quoted" \t tab \\ back', '--outcome', 'held'],
    SECRET,
  );
  log(['--action', 'fetch', '--input-hash', 'a'.repeat(64), '--source-id', 'web:example'], SECRET);
  log(['--action', 'summarize', '--agent', 'scribe', '--input-hash', 'b'.repeat(64)]);
  for (let i = 0; i < 11; i++) log(['--action', `step-${i}`], SECRET);
});

afterAll(() => t.cleanup());

describe('MO§ES ledgers written by the reference', () => {
  it('verify as the script does, with and without the operator secret', () => {
    expect(same(fixture).stdout).toBe('[VERIFY OK] Chain intact. 15 entries verified.\n');
    expect(same(fixture, [], SECRET).stdout).toBe(
      '[VERIFY OK] Chain intact. 15 entries verified | 13 attestations verified.\n',
    );
    // --format moses forced, and the secret through GAVEL_OPERATOR_SECRET's MO§ES twin only.
    expect(gavel(['audit', 'verify', '--ledger', fixture, '--format', 'moses'], SECRET).stdout).toContain(
      '13 attestations',
    );
  });

  it('list as the script does', () => {
    for (const n of ['3', '10', '100']) {
      const ours = gavel(['audit', 'recent', '--ledger', fixture, '--n', n]);
      expect(ours.stdout).toBe(mosesRef(['recent', fixture, '--n', n]).stdout);
      expect(ours.stdout.trim().split('\n')).toHaveLength(Math.min(Number(n), 15));
    }
    expect(gavel(['audit', 'recent', '--ledger', path.join(t.dir, 'none.jsonl')]).stdout).toBe(
      '[RECENT] No ledger found.\n',
    );
  });

  it('fail as the script does, entry by entry', () => {
    const original = lines(fixture);
    const tampered = path.join(t.dir, 'tampered.jsonl');
    const cases: [string, (ls: string[]) => string[], string][] = [
      [
        'edit detail',
        (ls) => ls.map((l, i) => (i === 4 ? l.replace('"step-0"', '"step-X"') : l)),
        'Entry 5: hash mismatch',
      ],
      [
        'wrong attestation',
        (ls) => ls.map((l, i) => (i === 6 ? rehash(l, (e) => (e.attestation = '0'.repeat(64))) : l)),
        'Entry 7: attestation invalid',
      ],
      [
        'state changed, re-hashed',
        (ls) => ls.map((l, i) => (i === 8 ? rehash(l, (e) => (e.posture = 'scout')) : l)),
        'Entry 9: attestation invalid',
      ],
      ['deleted entry', (ls) => ls.filter((_, i) => i !== 3), 'Entry 4: previous_hash broken'],
      [
        'swapped entries',
        (ls) => ls.map((l, i) => (i === 5 ? (ls[6] as string) : i === 6 ? (ls[5] as string) : l)),
        'Entry 6: previous_hash broken',
      ],
      [
        're-hashed without re-link',
        (ls) => ls.map((l, i) => (i === 2 ? rehash(l, (e) => (e.detail = 'forged')) : l)),
        'Entry 4: previous_hash broken',
      ],
    ];
    for (const [name, change, message] of cases) {
      writeFileSync(tampered, `${change([...original]).join('\n')}\n`);
      const r = same(tampered, [], SECRET);
      expect(r.status, name).toBe(1);
      expect(r.stdout, name).toContain(`[VERIFY FAILED] ${message}`);
    }
  });

  it('accept prev_hash when previous_hash is empty, and a first entry rooted elsewhere, as the script does', () => {
    const ls = lines(fixture);
    const alt = path.join(t.dir, 'alt.jsonl');
    const out = ls.slice(3, 8).map((l, i) =>
      i === 4
        ? rehash(l, (e) => {
            e.prev_hash = e.previous_hash;
            e.previous_hash = '';
          })
        : l,
    );
    writeFileSync(alt, `${out.join('\n')}\n\n`);
    const r = same(alt);
    expect(r.stdout).toBe('[VERIFY OK] Chain intact. 5 entries verified.\n');
  });

  it('report missing and empty ledgers with the script messages, exit 0', () => {
    same(path.join(t.dir, 'missing.jsonl'));
    const empty = path.join(t.dir, 'empty.jsonl');
    writeFileSync(empty, '\n\n');
    expect(same(empty).stdout).toBe('[VERIFY] Ledger is empty.\n');
  });
});

describe('gavel extending a MO§ES ledger', () => {
  it('writes lines byte-identical to Python json.dumps and entries the reference verifies', () => {
    const file = path.join(t.dir, 'extended.jsonl');
    writeFileSync(file, readFileSync(fixture));
    for (const args of [
      ['--action', 'gavel-1', '--detail', 'ü and 😀 and "q" and \\ and \t'],
      ['--action', 'gavel-2', '--input-hash', 'c'.repeat(64), '--source-id', 'gavel:test'],
      ['--action', 'gavel-3', '--agent', 'auditor', '--outcome', 'flagged'],
    ]) {
      const r = gavel(['audit', 'log', '--ledger', file, '--state', state, ...args], SECRET);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\[AUDIT\] Entry logged\. Hash: [0-9a-f]{16}\.\.\.\n$/);
    }
    const ref = mosesRef(['verify', file], SECRET);
    expect(ref.stdout).toBe('[VERIFY OK] Chain intact. 18 entries verified | 16 attestations verified.\n');
    // Every line gavel wrote is what Python's json.dumps writes for the same object.
    const check = python([
      '-c',
      'import json,sys\nfor l in open(sys.argv[1],encoding="utf-8"):\n  l=l.rstrip("\\n")\n  assert json.dumps(json.loads(l))==l, l\nprint("same")',
      file,
    ]);
    expect(check.stdout.trim()).toBe('same');
    // The isnad chain continues from the reference's last isnad, and its hash is Python's.
    const isnad = python([
      '-c',
      [
        'import json,sys,hashlib',
        'es=[json.loads(l) for l in open(sys.argv[1],encoding="utf-8") if l.strip()]',
        'withi=[e for e in es if "isnad" in e]',
        'a,b=withi[-2],withi[-1]',
        'i={k:v for k,v in b["isnad"].items() if k!="isnad_hash"}',
        'h=hashlib.sha256(json.dumps(i,sort_keys=True,separators=(",",":")).encode()).hexdigest()',
        'print(b["isnad"]["prev_isnad_hash"]==a["isnad"]["isnad_hash"], h==b["isnad"]["isnad_hash"], b["isnad"]["transmitter"])',
      ].join('\n'),
      file,
    ]);
    expect(isnad.stdout.trim()).toBe('True True secondary');
  });

  it('refuses to mix formats, with exit 2', () => {
    const native = path.join(t.dir, 'native.jsonl');
    expect(gavel(['audit', 'log', '--ledger', native, '--action', 'x']).status).toBe(0);
    const r = gavel(['audit', 'log', '--ledger', native, '--action', 'x', '--format', 'moses']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('native gavel ledger');
    const r2 = gavel(['audit', 'log', '--ledger', fixture, '--action', 'x', '--format', 'native']);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain('MO§ES ledger');
  });
});

/** Re-serializes a MO§ES line after a change, recomputing its hash with the reference's rule. */
function rehash(line: string, change: (e: Record<string, unknown>) => void): string {
  const e = JSON.parse(line) as Record<string, unknown>;
  change(e);
  const r = python([
    '-c',
    'import json,sys,hashlib\ne=json.loads(sys.argv[1])\nr={k:v for k,v in e.items() if k!="hash"}\ne["hash"]=hashlib.sha256(json.dumps(r,sort_keys=True,separators=(",",":"),ensure_ascii=False).encode()).hexdigest()\nprint(json.dumps(e))',
    JSON.stringify(e),
  ]);
  return r.stdout.trim();
}
