// Compact batch encoding between the engine and its workers: strings interned once per batch,
// numbers in typed arrays (moved, not cloned), so a batch of 1000 costs one small structured clone.
import type { EffectVector, GateRequest } from './types.js';

export const INTS = 9; // policy, gate, actor, role, mode, posture, environment, ctxOffset, ctxCount

export interface EncodedBatch {
  strings: string[];
  ints: Int32Array;
  effects: Float64Array;
  ctx: Int32Array;
}
export interface EncodedResults {
  strings: string[];
  verdicts: Uint8Array;
  fuel: Int32Array;
  reasons: Int32Array;
  rules: Int32Array;
}

/** The EffectVector as five f64 at `out[at..at+5]`, NaN for a member not given as a number. */
export function putEffect(e: EffectVector | undefined | null, out: Float64Array, at: number): void {
  // Named reads, not e[DIMENSIONS[d]]: five keys through one keyed access site go megamorphic.
  if (e === undefined || e === null) {
    out.fill(Number.NaN, at, at + 5);
    return;
  }
  const risk = e.risk;
  const fairness = e.fairness;
  const privacy = e.privacy;
  const novelty = e.novelty;
  const security = e.security;
  out[at] = typeof risk === 'number' ? risk : Number.NaN;
  out[at + 1] = typeof fairness === 'number' ? fairness : Number.NaN;
  out[at + 2] = typeof privacy === 'number' ? privacy : Number.NaN;
  out[at + 3] = typeof novelty === 'number' ? novelty : Number.NaN;
  out[at + 4] = typeof security === 'number' ? security : Number.NaN;
}

export function encodeBatch(reqs: readonly GateRequest[], policyOf: Int32Array): EncodedBatch {
  const table = new Map<string, number>();
  const strings: string[] = [];
  // Batches repeat values field by field (same gate, actor, ...): a per-slot last-value check skips
  // most map lookups.
  const lastS: unknown[] = new Array(16).fill(undefined);
  const lastI = new Int32Array(16);
  const id = (s: unknown, slot: number): number => {
    if (s === lastS[slot]) return lastI[slot] as number;
    const k = typeof s === 'string' ? s : String(s ?? '');
    let i = table.get(k);
    if (i === undefined) {
      i = strings.length;
      strings.push(k);
      table.set(k, i);
    }
    lastS[slot] = s;
    lastI[slot] = i;
    return i;
  };
  const n = reqs.length;
  const ints = new Int32Array(n * INTS);
  const effects = new Float64Array(n * 5);
  const ctxParts: number[] = [];
  for (let r = 0; r < n; r++) {
    const q = reqs[r] as GateRequest;
    const o = r * INTS;
    ints[o] = policyOf[r] as number;
    ints[o + 1] = id(q.gate, 0);
    ints[o + 2] = id(q.actor, 1);
    ints[o + 3] = id(q.role, 2);
    ints[o + 4] = id(q.mode, 3);
    ints[o + 5] = id(q.posture, 4);
    ints[o + 6] = id(q.environment, 5);
    putEffect(q.effect, effects, r * 5);
    ints[o + 7] = ctxParts.length;
    let count = 0;
    const ctx = q.context ?? {};
    for (const k in ctx) {
      // Own members only, as the request check and the in-process path read them.
      if (!Object.hasOwn(ctx, k)) continue;
      const slot = count < 4 ? 6 + 2 * count : 14;
      ctxParts.push(id(k, slot), id(ctx[k], slot + 1));
      count++;
    }
    ints[o + 8] = count;
  }
  return { strings, ints, effects, ctx: Int32Array.from(ctxParts) };
}

export function decodeRequest(b: EncodedBatch, r: number): GateRequest {
  const s = b.strings;
  const o = r * INTS;
  const ints = b.ints;
  const e = b.effects;
  const context: Record<string, string> = {};
  const off = ints[o + 7] as number;
  for (let i = 0; i < (ints[o + 8] as number); i++)
    context[s[b.ctx[off + 2 * i] as number] as string] = s[b.ctx[off + 2 * i + 1] as number] as string;
  const eff = (d: number) => {
    const v = e[r * 5 + d] as number;
    return Number.isNaN(v) ? undefined : v;
  };
  return {
    gate: s[ints[o + 1] as number] as string,
    actor: s[ints[o + 2] as number] as string,
    role: s[ints[o + 3] as number] as string,
    mode: s[ints[o + 4] as number] as string,
    posture: s[ints[o + 5] as number] as string,
    environment: s[ints[o + 6] as number] as string,
    effect: { risk: eff(0), fairness: eff(1), privacy: eff(2), novelty: eff(3), security: eff(4) },
    context,
  };
}
