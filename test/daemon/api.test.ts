// The HTTP layer over a real Unix socket: hostile input, auth, actor binding, fail-closed, emergency.
// Ledger and decisions are the in-memory stand-ins of helpers.ts (unit level); the e2e tests in
// daemon-process.test.ts run the real ledger in a real process.
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonClient, loadConfig, type RunningDaemon, startDaemon } from '../../daemon/index.js';
import { MemoryLedger, makeConfig, RuleDecisions, TOKENS, testChecker } from './helpers.js';

let d: RunningDaemon;
let ledger: MemoryLedger;
let socket: string;
const agent = () => new DaemonClient({ socket, token: TOKENS.agent });

function raw(
  method: string,
  path: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  json: { error?: { code: string; message: string } } & Record<string, unknown>;
}> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method,
        path,
        headers: {
          authorization: `Bearer ${TOKENS.agent}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const t = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, json: t ? JSON.parse(t) : {} });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

beforeAll(async () => {
  const c = makeConfig();
  socket = c.socket;
  ledger = new MemoryLedger();
  d = await startDaemon(loadConfig(c.file), {
    parts: { ledger, decisions: new RuleDecisions(['tool.invoke', 'chain.emergency']), checker: testChecker },
  });
});
afterAll(async () => {
  await d?.stop();
});

describe('daemon API over a Unix socket', () => {
  it('boots with boot.* entries and a 0660 socket', () => {
    expect(ledger.entries.map((e) => e.kind)).toEqual([
      'boot.init',
      'boot.config',
      'boot.services',
      'boot.ready',
    ]);
    expect(statSync(socket).mode & 0o777).toBe(0o660);
    expect(JSON.stringify(ledger.entries)).not.toContain(TOKENS.agent);
  });

  it('decides, records gate.decision with the policy, and answers seq/hash of that entry', async () => {
    const r = await agent().evaluate('tool.invoke', { effect: { risk: 0.9 }, mode: 'DEFENSE' });
    expect(r.verdict).toBe('deny');
    expect(r.policy.name).toBe('test-rules');
    const e = ledger.entries[r.seq];
    expect(e?.hash).toBe(r.hash);
    expect(e?.kind).toBe('gate.decision');
    expect(e?.agent).toBe('agent-1');
    expect((e?.payload as { policy?: { name: string } } | undefined)?.policy?.name).toBe('test-rules');
    expect((e?.payload as { verdict?: string } | undefined)?.verdict).toBe('deny');
  });

  it('batch: one answer per request, each in the ledger', async () => {
    const r = await agent().evaluateBatch([
      { gate: 'tool.invoke', effect: { risk: 0.1 } },
      { gate: 'tool.invoke', effect: { risk: 0.8 } },
    ]);
    expect(r.decisions.map((x) => x.verdict)).toEqual(['permit', 'deny']);
    for (const x of r.decisions) expect(ledger.entries[x.seq]?.hash).toBe(x.hash);
  });

  const hostile: [string, string, string, string | Buffer, number][] = [
    ['malformed JSON', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {', 400],
    ['wrong type', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"risk": "high"}}', 400],
    ['string number', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"risk": "0.5"}}', 400],
    ['NaN (not JSON)', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"risk": NaN}}', 400],
    ['1e308', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"risk": 1e308}}', 400],
    ['1e999 (Infinity)', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"risk": 1e999}}', 400],
    ['negative dimension', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"privacy": -0.1}}', 400],
    ['unknown dimension', 'POST', '/v1/gates/tool.invoke/evaluate', '{"effect": {"karma": 0.1}}', 400],
    ['unknown gate', 'POST', '/v1/gates/no.such.gate/evaluate', '{}', 404],
    ['bad gate name', 'POST', '/v1/gates/..%2Fetc/evaluate', '{}', 400],
    [
      'oversized body',
      'POST',
      '/v1/gates/tool.invoke/evaluate',
      `{"context":{"a":"${'x'.repeat(70000)}"}}`,
      413,
    ],
    ['array body', 'POST', '/v1/events', '[]', 400],
    ['unknown event kind', 'POST', '/v1/events', '{"kind":"nope.kind"}', 400],
    [
      'secret in detail',
      'POST',
      '/v1/events',
      '{"kind":"agent.note","detail":"-----BEGIN PRIVATE KEY----- MIIE"}',
      422,
    ],
    ['reserved kind', 'POST', '/v1/events', '{"kind":"gate.decision"}', 403],
    ['empty batch', 'POST', '/v1/gates/batch', '{"requests":[]}', 400],
    [
      'batch with unknown gate',
      'POST',
      '/v1/gates/batch',
      '{"requests":[{"gate":"tool.invoke"},{"gate":"x.y"}]}',
      404,
    ],
  ];
  for (const [name, method, path, body, status] of hostile) {
    it(`refuses ${name} with ${status} and a message, writing nothing`, async () => {
      const before = ledger.size;
      const r = await raw(method, path, body);
      expect(r.status).toBe(status);
      expect(r.json.error?.code).toMatch(/^[A-Z_]+$/);
      expect(r.json.error?.message.length).toBeGreaterThan(5);
      expect(ledger.size).toBe(before);
      // still serving
      expect((await agent().evaluate('tool.invoke', {})).verdict).toBe('permit');
    });
  }

  it('auth: no token 401, wrong token 401, wrong scope 403, nothing written', async () => {
    const before = ledger.size;
    // authentication comes before the body is even parsed
    expect((await raw('POST', '/v1/gates/tool.invoke/evaluate', '{bad', { authorization: '' })).status).toBe(
      401,
    );
    expect((await raw('POST', '/v1/gates/tool.invoke/evaluate', '{}', { authorization: '' })).status).toBe(
      401,
    );
    expect(
      (await raw('POST', '/v1/gates/tool.invoke/evaluate', '{}', { authorization: 'Bearer gvl_wrong' }))
        .status,
    ).toBe(401);
    expect(
      (
        await raw('POST', '/v1/gates/tool.invoke/evaluate', '{}', {
          authorization: `Bearer ${TOKENS.reader}`,
        })
      ).status,
    ).toBe(403);
    expect(
      (await raw('GET', '/v1/entries/0', undefined, { authorization: `Bearer ${TOKENS.agent}` })).status,
    ).toBe(403);
    expect(ledger.size).toBe(before);
    const r = await raw('GET', '/v1/entries/0', undefined, { authorization: `Bearer ${TOKENS.reader}` });
    expect(r.status).toBe(200);
    expect(r.json.kind).toBe('boot.init');
  });

  it('a token cannot record another actor', async () => {
    const before = ledger.size;
    const r1 = await raw('POST', '/v1/gates/tool.invoke/evaluate', '{"actor":"operator"}');
    expect(r1.status).toBe(403);
    const r2 = await raw('POST', '/v1/events', '{"kind":"agent.note","agent":"operator"}');
    expect(r2.status).toBe(403);
    expect(ledger.size).toBe(before);
    const ok = await agent().appendEvent({ kind: 'agent.note', detail: 'hello' });
    expect(ledger.entries[ok.seq]?.agent).toBe('agent-1');
  });

  it('fails closed: no verdict when the ledger cannot be written', async () => {
    ledger.failing = true;
    try {
      const r = await raw('POST', '/v1/gates/tool.invoke/evaluate', '{}');
      expect(r.status).toBe(503);
      expect(r.json.error?.code).toBe('LEDGER_UNAVAILABLE');
      expect(r.json.verdict).toBeUndefined();
    } finally {
      ledger.failing = false;
    }
  });

  it('emergency: recorded first, judged post hoc, flagged when it would have been denied', async () => {
    const r = (await agent().emergency({
      action: 'shutdown-db',
      justification: 'data leak in progress',
      effect: { risk: 0.95 },
    })) as {
      invoked: { seq: number };
      judged: { seq: number };
      verdict: string;
      review: boolean;
    };
    expect(ledger.entries[r.invoked.seq]?.kind).toBe('emergency.invoked');
    expect(ledger.entries[r.judged.seq]?.kind).toBe('emergency.judged');
    expect(r.judged.seq).toBeGreaterThan(r.invoked.seq);
    expect(r.verdict).toBe('deny');
    expect(r.review).toBe(true);
    const ok = (await agent().emergency({
      action: 'restart',
      justification: 'hung',
      effect: { risk: 0.1 },
    })) as { review: boolean };
    expect(ok.review).toBe(false);
  });

  it('serves OpenAPI, health, readiness and metrics', async () => {
    const o = await raw('GET', '/v1/openapi.json', undefined);
    expect(o.status).toBe(200);
    expect(Object.keys(o.json.paths as object)).toContain('/v1/gates/{gate}/evaluate');
    expect((await raw('GET', '/readyz', undefined)).status).toBe(200);
    const m = await new DaemonClient({ socket }).call<string>('GET', '/metrics');
    expect(m).toMatch(/gavel_decisions_total\{gate="tool.invoke",verdict="deny"\} \d+/);
    expect(m).toMatch(/gavel_ledger_append_seconds_bucket/);
  });

  it('counts a batch per gate and verdict, and its fuel per gate, exactly', async () => {
    const metrics = new DaemonClient({ socket });
    const read = async () => {
      const text = await metrics.call<string>('GET', '/metrics');
      const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
      return {
        invokePermit: num(/gavel_decisions_total\{gate="tool\.invoke",verdict="permit"\} (\d+)/),
        invokeDeny: num(/gavel_decisions_total\{gate="tool\.invoke",verdict="deny"\} (\d+)/),
        emergencyDeny: num(/gavel_decisions_total\{gate="chain\.emergency",verdict="deny"\} (\d+)/),
        invokeFuel: num(/gavel_fuel_used_total\{gate="tool\.invoke"\} (\d+)/),
        emergencyFuel: num(/gavel_fuel_used_total\{gate="chain\.emergency"\} (\d+)/),
      };
    };
    const before = await read();
    const r = await agent().evaluateBatch([
      { gate: 'tool.invoke', effect: { risk: 0.1 } },
      { gate: 'tool.invoke', effect: { risk: 0.9 } },
      { gate: 'chain.emergency', effect: { risk: 0.7 } },
      { gate: 'tool.invoke', effect: { risk: 0.2 } },
      { gate: 'tool.invoke', effect: { risk: 0.8 } },
      { gate: 'tool.invoke', effect: { risk: 0.3 } },
    ]);
    expect(r.decisions.map((x) => x.verdict)).toEqual(['permit', 'deny', 'deny', 'permit', 'deny', 'permit']);
    const after = await read();
    expect(after.invokePermit - before.invokePermit).toBe(3);
    expect(after.invokeDeny - before.invokeDeny).toBe(2);
    expect(after.emergencyDeny - before.emergencyDeny).toBe(1);
    expect(after.invokeFuel - before.invokeFuel).toBe(5 * 42);
    expect(after.emergencyFuel - before.emergencyFuel).toBe(42);
  });
});
