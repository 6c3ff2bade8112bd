// Every request and response shape of the HTTP API, declared once with TypeBox: fastify validates
// with them, serialises with them, and @fastify/swagger turns them into /v1/openapi.json.
import { type Static, Type } from '@sinclair/typebox';

const Name = (description: string) =>
  Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._:@/-]+$', description });
/** One EffectVector dimension: 0..1; absent means "the gate's default". NaN/Infinity cannot be sent in JSON. */
const Dim = Type.Number({ minimum: 0, maximum: 1 });

export const GateName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[a-z][a-z0-9_-]*(\\.[a-z0-9_-]+)*$',
});
export const Effect = Type.Object(
  {
    risk: Type.Optional(Dim),
    fairness: Type.Optional(Dim),
    privacy: Type.Optional(Dim),
    novelty: Type.Optional(Dim),
    security: Type.Optional(Dim),
  },
  { additionalProperties: false, description: 'EffectVector; each dimension 0..1, absent = gate default' },
);
const Context = Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: 4096 }), {
  maxProperties: 64,
});

const GateFields = {
  actor: Type.Optional(
    Name("must equal the token identity if given: the actor recorded is always the token's"),
  ),
  mode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  posture: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  environment: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  effect: Type.Optional(Effect),
  context: Type.Optional(Context),
  session_hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
};
export const EvaluateBody = Type.Object(GateFields, { additionalProperties: false });
export type EvaluateBody = Static<typeof EvaluateBody>;
export const BatchEvaluateBody = Type.Object(
  {
    requests: Type.Array(Type.Object({ gate: GateName, ...GateFields }, { additionalProperties: false }), {
      minItems: 1,
    }),
  },
  { additionalProperties: false },
);
export type BatchEvaluateBody = Static<typeof BatchEvaluateBody>;
export const GateParams = Type.Object({ gate: GateName });

const Verdict = Type.Union([
  Type.Literal('permit'),
  Type.Literal('permit-with-warning'),
  Type.Literal('escalate'),
  Type.Literal('deny'),
]);
const PolicyRef = Type.Object({ name: Type.String(), version: Type.String(), sha256: Type.String() });
export const DecisionReply = Type.Object({
  gate: Type.String(),
  verdict: Verdict,
  reason: Type.String(),
  rule: Type.String(),
  fuel: Type.Number(),
  policy: PolicyRef,
  seq: Type.Integer(),
  hash: Type.String(),
});
export const BatchDecisionReply = Type.Object({ decisions: Type.Array(DecisionReply) });

const Text = (max: number) => Type.String({ maxLength: max });
export const EventBody = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 128 }),
    agent: Type.Optional(Name('must equal the token identity if given')),
    component: Type.Optional(Text(256)),
    action: Type.Optional(Text(256)),
    detail: Type.Optional(Text(8192)),
    outcome: Type.Optional(Text(256)),
    mode: Type.Optional(Text(64)),
    posture: Type.Optional(Text(64)),
    session_hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type EventBody = Static<typeof EventBody>;
export const BatchEventBody = Type.Object(
  { events: Type.Array(EventBody, { minItems: 1 }) },
  { additionalProperties: false },
);
export const Appended = Type.Object({ seq: Type.Integer(), hash: Type.String() });
export const BatchAppended = Type.Object({ entries: Type.Array(Appended) });

export const EmergencyBody = Type.Object(
  {
    action: Type.String({ minLength: 1, maxLength: 256 }),
    justification: Type.String({ minLength: 1, maxLength: 4096 }),
    detail: Type.Optional(Text(8192)),
    mode: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    posture: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    environment: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    effect: Type.Optional(Effect),
    context: Type.Optional(Context),
  },
  { additionalProperties: false },
);
export type EmergencyBody = Static<typeof EmergencyBody>;
export const EmergencyReply = Type.Object({
  invoked: Appended,
  judged: Appended,
  verdict: Type.Union([Verdict, Type.Null()]),
  reason: Type.String(),
  review: Type.Boolean({ description: 'true when the post-hoc verdict would not have permitted the action' }),
  policy: Type.Union([PolicyRef, Type.Null()]),
});

export const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const EntryReply = Type.Object(
  {
    seq: Type.Integer(),
    timestamp: Type.String(),
    kind: Type.String(),
    hash: Type.String(),
    previous_hash: Type.String(),
  },
  { additionalProperties: true, description: 'a ledger entry exactly as written' },
);
export const EntriesReply = Type.Object({ entries: Type.Array(EntryReply), size: Type.Integer() });
// Path and query values arrive as text; body types are never coerced, so these are digit strings.
const Count = Type.String({ pattern: '^[0-9]{1,15}$', description: 'a non-negative integer' });
export const SeqParams = Type.Object({ seq: Count });
export const RangeQuery = Type.Object({ from: Count, to: Count }, { additionalProperties: false });
export const RecentQuery = Type.Object(
  { n: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1..1000' })) },
  { additionalProperties: false },
);

export const StatusReply = Type.Object({
  ready: Type.Boolean(),
  version: Type.String(),
  pid: Type.Integer(),
  uptime_s: Type.Number(),
  ledger: Type.Object({
    path: Type.String(),
    size: Type.Integer(),
    head: Type.Union([Type.String(), Type.Null()]),
  }),
  policies: Type.Array(
    Type.Object({
      name: Type.String(),
      version: Type.String(),
      sha256: Type.String(),
      gates: Type.Array(Type.String()),
    }),
  ),
  identity: Type.String(),
});
export const CheckpointReply = Type.Object({
  origin: Type.String(),
  size: Type.Integer(),
  root: Type.String(),
  note: Type.String(),
});
export const ProofReply = Type.Object({
  proof: Type.String({ description: 'gavel.proof/v1 JSON (chain/proof-file.ts), checkable offline' }),
});
export const VerifyReply = Type.Object(
  {
    ok: Type.Boolean(),
    entries: Type.Integer(),
    message: Type.String(),
    failed_entry: Type.Union([Type.Integer(), Type.Null()]),
    keyed_checks: Type.Integer({ description: 'seal MACs recomputed with the operator secret' }),
  },
  { additionalProperties: true },
);
