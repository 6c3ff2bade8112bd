// What the daemon does, without HTTP: decide -> append -> answer, in that order; typed events;
// the emergency path. The ledger write is the commit point: an answer (and above all a permit) is
// given only for a decision whose entry is fsynced. When the ledger cannot be written the caller
// gets LEDGER_UNAVAILABLE and no verdict at all (fail closed).
import type { Identity } from './auth.js';
import { DaemonError } from './errors.js';
import type { DaemonMetrics } from './metrics.js';
import type { EmergencyBody, EvaluateBody, EventBody } from './schemas.js';
import type {
  Decision,
  DecisionSource,
  Entry,
  EntryInput,
  EventChecker,
  GateRequest,
  LedgerWriter,
} from './types.js';

export const SOURCE = 'gavel.daemon';
/** Kinds only the daemon itself writes: a client cannot forge boot, policy, decision or anchor entries. */
export const RESERVED_PREFIXES = ['boot.', 'gate.', 'policy.', 'emergency.', 'chain.', 'seal.', 'anchor.'];

export interface Answer {
  gate: string;
  verdict: Decision['verdict'];
  reason: string;
  rule: string;
  fuel: number;
  policy: Decision['policy'];
  seq: number;
  hash: string;
}

function sameActor(id: Identity, claimed: string | undefined, field: string): void {
  if (claimed !== undefined && claimed !== id.name) {
    throw new DaemonError(
      'FORBIDDEN',
      `token "${id.name}" cannot record ${field} "${claimed}": the recorded ${field} is always the token's identity`,
    );
  }
}

export class GateService {
  private intake = true;
  private inflight = 0;
  private drained: (() => void)[] = [];

  constructor(
    readonly ledger: LedgerWriter,
    public decisions: DecisionSource,
    readonly checker: EventChecker,
    readonly metrics: DaemonMetrics,
    // MO§ES defaults (its state file's defaults): high-integrity mode, defense posture.
    readonly defaults: { mode: string; posture: string; environment: string } = {
      mode: 'high-integrity',
      posture: 'defense',
      environment: 'production',
    },
  ) {}

  get accepting(): boolean {
    return this.intake;
  }

  /** Stop intake and wait for every request already admitted to finish (SIGTERM). */
  async drain(): Promise<void> {
    this.intake = false;
    if (this.inflight === 0) return;
    await new Promise<void>((r) => this.drained.push(r));
  }

  private async admitted<T>(fn: () => Promise<T>, always = false): Promise<T> {
    if (!this.intake && !always)
      throw new DaemonError(
        'SHUTTING_DOWN',
        'the daemon is shutting down; retry against the restarted service',
      );
    this.inflight++;
    try {
      return await fn();
    } finally {
      this.inflight--;
      if (this.inflight === 0 && !this.intake) for (const r of this.drained.splice(0)) r();
    }
  }

  private async write(inputs: EntryInput[]): Promise<Entry[]> {
    const t = performance.now();
    try {
      const out =
        inputs.length === 1
          ? [await this.ledger.append(inputs[0] as EntryInput)]
          : await this.ledger.appendBatch(inputs);
      this.metrics.appendLatency.observe((performance.now() - t) / 1000);
      this.metrics.ledgerSize.set(this.ledger.size);
      return out;
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Input refusals from the chain part (catalogue, scanner) are the client's; anything else is
      // the ledger failing, and then nothing is permitted.
      if (
        code === 'UNKNOWN_KIND' ||
        code === 'BAD_PAYLOAD' ||
        code === 'SECRET_DETECTED' ||
        code === 'BAD_ENTRY'
      )
        throw err;
      throw new DaemonError(
        'LEDGER_UNAVAILABLE',
        `the ledger could not be written (${(err as Error).message}); nothing was decided`,
        { cause: err },
      );
    }
  }

  request(id: Identity, gate: string, body: EvaluateBody): GateRequest {
    sameActor(id, body.actor, 'actor');
    if (!this.decisions.serves(gate)) {
      throw new DaemonError(
        'UNKNOWN_GATE',
        `no active policy serves gate "${gate}" (GET /v1/policies lists the gates served)`,
      );
    }
    return {
      gate,
      actor: id.name,
      role: id.role,
      mode: body.mode ?? this.defaults.mode,
      posture: body.posture ?? this.defaults.posture,
      environment: body.environment ?? this.defaults.environment,
      effect: body.effect ?? {},
      context: body.context ?? {},
    };
  }

  private decisionEntry(req: GateRequest, d: Decision, session: string | undefined): EntryInput {
    return {
      kind: 'gate.decision',
      source: SOURCE,
      agent: req.actor,
      component: req.gate,
      action: 'evaluate',
      detail: `${req.gate}: ${d.verdict} by ${d.rule}`,
      outcome: d.verdict,
      mode: req.mode,
      posture: req.posture,
      role: req.role,
      session_hash: session ?? null,
      payload: {
        gate: req.gate,
        request: {
          actor: req.actor,
          role: req.role,
          mode: req.mode,
          posture: req.posture,
          environment: req.environment,
          effect: req.effect,
          context: req.context,
        },
        verdict: d.verdict,
        reason: d.reason,
        rule: d.rule,
        fuel: d.fuel,
        policy: d.policy,
      },
    };
  }

  private answer(req: GateRequest, d: Decision, e: Entry, count = true): Answer {
    if (count) {
      this.metrics.decisions.inc({ gate: req.gate, verdict: d.verdict });
      this.metrics.fuel.inc({ gate: req.gate }, d.fuel);
    }
    return {
      gate: req.gate,
      verdict: d.verdict,
      reason: d.reason,
      rule: d.rule,
      fuel: d.fuel,
      policy: d.policy,
      seq: e.seq,
      hash: e.hash,
    };
  }

  evaluate(id: Identity, gate: string, body: EvaluateBody): Promise<Answer> {
    return this.admitted(async () => {
      const req = this.request(id, gate, body);
      const d = await this.decisions.evaluate(req);
      const [e] = await this.write([this.decisionEntry(req, d, body.session_hash)]);
      return this.answer(req, d, e as Entry);
    });
  }

  evaluateBatch(id: Identity, items: (EvaluateBody & { gate: string })[]): Promise<Answer[]> {
    return this.admitted(async () => {
      const reqs = items.map((b) => this.request(id, b.gate, b));
      const ds = await this.decisions.evaluateBatch(reqs);
      const es = await this.write(
        reqs.map((r, i) => this.decisionEntry(r, ds[i] as Decision, items[i]?.session_hash)),
      );
      this.countBatch(reqs, ds);
      return reqs.map((r, i) => this.answer(r, ds[i] as Decision, es[i] as Entry, false));
    });
  }

  /** Metrics of a batch, one counter update per gate and verdict (a label lookup per decision cost
   *  more than the rest of the answer). */
  private countBatch(reqs: GateRequest[], ds: Decision[]): void {
    // Keyed by the strings themselves (gate, then verdict), not a joined key built per decision.
    const byGate = new Map<string, { fuel: number; verdicts: Map<string, number> }>();
    for (let i = 0; i < reqs.length; i++) {
      const gate = (reqs[i] as GateRequest).gate;
      const d = ds[i] as Decision;
      let g = byGate.get(gate);
      if (g === undefined) {
        g = { fuel: 0, verdicts: new Map() };
        byGate.set(gate, g);
      }
      g.fuel += d.fuel;
      g.verdicts.set(d.verdict, (g.verdicts.get(d.verdict) ?? 0) + 1);
    }
    for (const [gate, g] of byGate) {
      for (const [verdict, n] of g.verdicts) this.metrics.decisions.inc({ gate, verdict }, n);
      this.metrics.fuel.inc({ gate }, g.fuel);
    }
  }

  private eventEntry(id: Identity, b: EventBody): EntryInput {
    sameActor(id, b.agent, 'agent');
    if (RESERVED_PREFIXES.some((p) => b.kind.startsWith(p))) {
      throw new DaemonError('FORBIDDEN', `event kind "${b.kind}" is written only by the daemon itself`);
    }
    const payload = b.payload ?? {};
    this.checker.validate(b.kind, payload);
    const input: EntryInput = {
      kind: b.kind,
      source: SOURCE,
      agent: id.name,
      role: id.role,
      component: b.component ?? '',
      action: b.action ?? '',
      detail: b.detail ?? '',
      outcome: b.outcome ?? '',
      mode: b.mode ?? '',
      posture: b.posture ?? '',
      session_hash: b.session_hash ?? null,
      payload,
    };
    // Refuse (or redact, by configuration) secrets before anything reaches the ledger.
    return this.checker.scan(input);
  }

  appendEvents(id: Identity, bodies: EventBody[]): Promise<{ seq: number; hash: string }[]> {
    return this.admitted(async () => {
      const inputs = bodies.map((b) => this.eventEntry(id, b));
      const es = await this.write(inputs);
      for (const b of bodies) this.metrics.events.inc({ kind: b.kind });
      return es.map((e) => ({ seq: e.seq, hash: e.hash }));
    });
  }

  /**
   * The emergency path: the invocation is written first, before any policy runs (it must be on
   * record even if evaluation hangs or the daemon dies next), and is not refused while draining.
   * Then the `chain.emergency` gate judges it post hoc; the verdict is recorded and returned, and
   * flagged for review when the gate would not have permitted it.
   */
  /** Emergencies are admitted even while draining (stop waits for them before closing the ledger). */
  emergency(id: Identity, b: EmergencyBody): ReturnType<GateService['emergencyNow']> {
    return this.admitted(() => this.emergencyNow(id, b), true);
  }

  private async emergencyNow(
    id: Identity,
    b: EmergencyBody,
  ): Promise<{
    invoked: { seq: number; hash: string };
    judged: { seq: number; hash: string };
    verdict: Decision['verdict'] | null;
    reason: string;
    review: boolean;
    policy: Decision['policy'] | null;
  }> {
    const base = {
      source: SOURCE,
      agent: id.name,
      role: id.role,
      component: 'chain.emergency',
      mode: b.mode ?? this.defaults.mode,
      posture: b.posture ?? this.defaults.posture,
    };
    const invokedInput = this.checker.scan({
      ...base,
      kind: 'emergency.invoked',
      action: b.action,
      detail: b.detail ?? b.justification,
      outcome: 'executed',
      payload: {
        action: b.action,
        justification: b.justification,
        effect: b.effect ?? {},
        context: b.context ?? {},
        priority: 'elevated',
      },
    });
    const [inv] = await this.write([invokedInput]);
    const invoked = { seq: (inv as Entry).seq, hash: (inv as Entry).hash };
    let d: Decision | undefined;
    let reason: string;
    if (this.decisions.serves('chain.emergency')) {
      try {
        d = await this.decisions.evaluate({
          gate: 'chain.emergency',
          actor: id.name,
          role: id.role,
          mode: base.mode,
          posture: base.posture,
          environment: b.environment ?? this.defaults.environment,
          effect: b.effect ?? {},
          context: { ...(b.context ?? {}), action: b.action },
        });
        reason = d.reason;
      } catch (err) {
        reason = `post-hoc evaluation failed: ${(err as Error).message}`;
      }
    } else {
      reason = 'no active policy serves chain.emergency: flagged for human review';
    }
    const review = d === undefined || (d.verdict !== 'permit' && d.verdict !== 'permit-with-warning');
    const [jud] = await this.write([
      {
        ...base,
        kind: 'emergency.judged',
        action: b.action,
        detail: `post-hoc: ${d?.verdict ?? 'unjudged'}${review ? ' (flagged for review)' : ''}`,
        outcome: d?.verdict ?? 'unjudged',
        payload: {
          invoked_seq: invoked.seq,
          invoked_hash: invoked.hash,
          verdict: d?.verdict ?? null,
          reason,
          rule: d?.rule ?? '',
          fuel: d?.fuel ?? 0,
          policy: d?.policy ?? null,
          review,
        },
      },
    ]);
    return {
      invoked,
      judged: { seq: (jud as Entry).seq, hash: (jud as Entry).hash },
      verdict: d?.verdict ?? null,
      reason,
      review,
      policy: d?.policy ?? null,
    };
  }
}
