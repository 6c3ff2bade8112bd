import { describe, expect, it } from 'vitest';
import { EVENT_KINDS, isMutatingKind, listKinds, validateEvent } from '../../chain/index.js';

describe('EVENT_KIND catalogue', () => {
  it('covers the ExoChain families and gavel’s own kinds', () => {
    const families = [
      'boot',
      'agent',
      'tool',
      'wasm',
      'config',
      'auth',
      'cron',
      'mesh',
      'cluster',
      'skills',
      'assessment',
      'workspace',
      'governance',
      'eml',
      'hnsw',
      'causal',
      'graphify',
    ];
    for (const f of families)
      expect(
        Object.keys(EVENT_KINDS).some((k) => k.startsWith(`${f}.`)),
        f,
      ).toBe(true);
    for (const k of [
      'gate.decision',
      'policy.deployed',
      'policy.rolledback',
      'policy.vetoed',
      'anchor.scheduled',
      'anchor.submitted',
      'anchor.confirmed',
      'anchor.finalized',
      'anchor.failed',
      'seal.epoch',
      'chain.recovered',
      'emergency.invoked',
      'emergency.judged',
      'boot.init',
      'boot.ready',
    ]) {
      expect(EVENT_KINDS[k], k).toBeDefined();
    }
    expect(listKinds().length).toBe(Object.keys(EVENT_KINDS).length);
    expect(isMutatingKind('workspace.delete')).toBe(true);
    expect(isMutatingKind('gate.decision')).toBe(false);
  });

  it('refuses unknown kinds with suggestions, and accepts custom.<name>', () => {
    expect(() => validateEvent('agent.spwan', {})).toThrow(
      /unknown event kind "agent.spwan"; did you mean agent\.spawn/,
    );
    expect(() => validateEvent('nonsense', {})).toThrow(expect.objectContaining({ code: 'UNKNOWN_KIND' }));
    expect(() => validateEvent('custom.billing.run', { amount: 3 })).not.toThrow();
    expect(() => validateEvent('custom.billing.run', [1])).toThrow(
      expect.objectContaining({ code: 'BAD_PAYLOAD' }),
    );
  });

  it('checks payloads and names the path of what is wrong', () => {
    const good = {
      gate: 'tool.execute',
      request: {},
      verdict: 'permit',
      reason: 'ok',
      rule: 'r',
      fuel: 12,
      policy: { name: 'c', version: '1', sha256: 'a'.repeat(64) },
    };
    expect(() => validateEvent('gate.decision', good)).not.toThrow();
    expect(() => validateEvent('gate.decision', { ...good, verdict: 'maybe' })).toThrow(
      /gate.decision: payload\.verdict/,
    );
    expect(() => validateEvent('gate.decision', { ...good, fuel: -1 })).toThrow(/payload\.fuel/);
    expect(() =>
      validateEvent('gate.decision', { ...good, policy: { ...good.policy, sha256: 'xyz' } }),
    ).toThrow(/payload\.policy/);
    expect(() => validateEvent('seal.epoch', { epoch: 1 })).toThrow(
      expect.objectContaining({ code: 'BAD_PAYLOAD' }),
    );
    expect(() => validateEvent('agent.note', { anything: ['goes'] })).not.toThrow();
  });
});
