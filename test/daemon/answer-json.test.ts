// The batch route writes its answer itself (daemon/answer-json.ts); it must be byte for byte what
// the route's response schema would have produced through fastify's own serializer.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { batchDecisionsJson } from '../../daemon/answer-json.js';
import * as S from '../../daemon/schemas.js';
import type { Answer } from '../../daemon/service.js';

const P1 = { name: 'constitution', version: '1.2.0', sha256: 'ab'.repeat(32) };
const P2 = { name: 'règles "locales"\\ 😀', version: '0.0.1-β', sha256: 'cd'.repeat(32) };

function answer(i: number, over: Partial<Answer> = {}): Answer {
  return {
    gate: i % 2 === 0 ? 'tool.execute' : 'agent.spawn',
    verdict: (['permit', 'permit-with-warning', 'escalate', 'deny'] as const)[i % 4] as Answer['verdict'],
    reason: `risk ${i / 7} over its threshold`,
    rule: `rule.${i}`,
    fuel: 1000 + i,
    policy: i % 3 === 0 ? P2 : P1,
    seq: 2 ** 40 + i,
    hash: (i % 16).toString(16).repeat(64),
    ...over,
  };
}

async function viaSchema(decisions: Answer[]): Promise<Buffer> {
  const app = Fastify();
  app.get('/', { schema: { response: { 200: S.BatchDecisionReply } } }, async () => ({ decisions }));
  const r = await app.inject({ method: 'GET', url: '/' });
  await app.close();
  return r.rawPayload;
}

describe('batchDecisionsJson', () => {
  it('writes what the response schema writes, for ordinary and awkward answers', async () => {
    const answers = [
      ...Array.from({ length: 50 }, (_, i) => answer(i)),
      answer(50, { reason: 'quote " backslash \\ newline \n tab \t nul \u0000 del \u007f' }),
      answer(51, { reason: 'naïve — 日本語 😀 \u2028 \u2029', rule: 'é' }),
      answer(52, { reason: '', rule: '', fuel: 0, seq: 0 }),
      answer(53, { fuel: 1.5e300, reason: 'x'.repeat(5000) }),
      answer(54, { policy: { ...P1 } }), // equal but not the same object
    ];
    const ours = batchDecisionsJson(answers);
    expect(ours.toString('utf8')).toBe((await viaSchema(answers)).toString('utf8'));
    expect(JSON.parse(ours.toString('utf8'))).toEqual({ decisions: answers });
  });

  it('writes an empty list and a single answer', async () => {
    expect(batchDecisionsJson([]).toString()).toBe((await viaSchema([])).toString());
    const one = [answer(3)];
    expect(batchDecisionsJson(one).toString()).toBe((await viaSchema(one)).toString());
  });
});
