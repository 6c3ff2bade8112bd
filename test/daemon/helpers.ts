// Test helpers for the daemon. The in-memory ledger and decision source here exist ONLY for unit
// tests of the HTTP layer; the product and the end-to-end tests use the real chain Ledger and engine.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { entryHash } from '../../chain/index.js';
import { hashToken } from '../../daemon/auth.js';
import type {
  Decision,
  DecisionSource,
  Entry,
  EntryInput,
  EventChecker,
  GateRequest,
  LedgerWriter,
} from '../../daemon/types.js';

export class MemoryLedger implements LedgerWriter {
  entries: Entry[] = [];
  failing = false;
  get size(): number {
    return this.entries.length;
  }
  get head(): Entry | undefined {
    return this.entries[this.entries.length - 1];
  }
  async append(input: EntryInput): Promise<Entry> {
    return (await this.appendBatch([input]))[0] as Entry;
  }
  async appendBatch(inputs: EntryInput[]): Promise<Entry[]> {
    if (this.failing) throw Object.assign(new Error('EIO: disk gone'), { code: 'EIO' });
    return inputs.map((i) => {
      const e = {
        seq: this.entries.length,
        timestamp: new Date().toISOString(),
        kind: i.kind,
        source: i.source ?? '',
        agent: i.agent ?? '',
        component: i.component ?? '',
        action: i.action ?? '',
        detail: i.detail ?? '',
        outcome: i.outcome ?? '',
        mode: i.mode ?? '',
        posture: i.posture ?? '',
        role: i.role ?? '',
        session_hash: i.session_hash ?? null,
        payload: i.payload ?? {},
        previous_hash: this.head?.hash ?? '0'.repeat(64),
      } as Omit<Entry, 'hash'> as Entry;
      e.hash = entryHash(e as unknown as Record<string, unknown>);
      this.entries.push(e);
      return e;
    });
  }
  async get(seq: number): Promise<Entry> {
    const e = this.entries[seq];
    if (e === undefined) throw new Error(`no entry ${seq}`);
    return e;
  }
  async *range(from: number, to: number): AsyncIterable<Entry> {
    for (const e of this.entries.slice(from, to)) yield e;
  }
  async close(): Promise<void> {}
}

/** Decides by a simple rule so tests can predict verdicts: risk > threshold denies. */
export class RuleDecisions implements DecisionSource {
  constructor(
    public gates: string[],
    public threshold = 0.5,
    public policy = { name: 'test-rules', version: '1.0.0', sha256: 'a'.repeat(64) },
  ) {}
  serves(gate: string): boolean {
    return this.gates.includes(gate);
  }
  async evaluate(req: GateRequest): Promise<Decision> {
    const risk = req.effect.risk ?? 0.1;
    const deny = risk > this.threshold;
    return {
      verdict: deny ? 'deny' : 'permit',
      reason: `risk ${risk}`,
      rule: deny ? 'risk-over' : 'default-permit',
      fuel: 42,
      policy: this.policy,
    };
  }
  async evaluateBatch(reqs: GateRequest[]): Promise<Decision[]> {
    return Promise.all(reqs.map((r) => this.evaluate(r)));
  }
  active() {
    return [{ ...this.policy, gates: this.gates }];
  }
  async close(): Promise<void> {}
}

/** Catalogue stand-in: kinds starting "agent." are known; "secret" text is refused. */
export const testChecker: EventChecker = {
  validate(kind) {
    if (!kind.startsWith('agent.'))
      throw Object.assign(new Error(`unknown event kind "${kind}"`), { code: 'UNKNOWN_KIND' });
  },
  scan(v) {
    if (JSON.stringify(v).includes('-----BEGIN PRIVATE KEY-----')) {
      throw Object.assign(new Error('detail looks like a private key'), { code: 'SECRET_DETECTED' });
    }
    return v;
  },
};

export interface TestTokens {
  agent: string;
  reader: string;
  admin: string;
}

export const TOKENS: TestTokens = {
  agent: 'gvl_agent_token_1234567890',
  reader: 'gvl_reader_token_1234567890',
  admin: 'gvl_admin_token_1234567890',
};

/** A temp dir with a config file; returns its path and dir. */
export function makeConfig(
  extra = '',
  opts: { tcp?: boolean } = {},
): { dir: string; file: string; socket: string; ledger: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gavel-daemon-'));
  const socket = join(dir, 'g.sock');
  const ledger = join(dir, 'ledger.jsonl');
  writeFileSync(join(dir, 'secret'), 'operator-secret-for-tests-0123456789', { mode: 0o600 });
  chmodSync(join(dir, 'secret'), 0o600);
  const text = `[ledger]
path = "ledger.jsonl"
secret_file = "secret"

[server]
socket = "g.sock"
body_limit = 65536
max_batch = 5000
${opts.tcp ? 'tcp = "127.0.0.1:0"\n' : ''}
[[auth.tokens]]
name = "agent-1"
sha256 = "${hashToken(TOKENS.agent)}"
scopes = ["evaluate", "append"]
role = "agent"

[[auth.tokens]]
name = "auditor"
sha256 = "${hashToken(TOKENS.reader)}"
scopes = ["read"]

[[auth.tokens]]
name = "operator"
sha256 = "${hashToken(TOKENS.admin)}"
scopes = ["admin"]
role = "operator"

[log]
level = "silent"
${extra}`;
  const file = join(dir, 'gavel.toml');
  writeFileSync(file, text);
  return { dir, file, socket, ledger };
}
