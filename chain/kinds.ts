// The EVENT_KIND catalogue: every kind an entry may have, with its payload schema. It covers the
// ExoChain kinds (boot phases, agent, tool, wasm, config, auth, cron, mesh, cluster, skills,
// assessment, workspace, governance, eml, hnsw, causal, graphify) and gavel's own (gate.decision,
// policy.*, anchor.*, seal.epoch, chain.recovered, emergency.*, moses.log). `custom.<name>` is the
// escape hatch for an operator's own kinds: any object payload, never confused with a known kind.
// `mutating` marks kinds that record a change of state (compliance reports check they are recorded).
import { type TObject, type TProperties, type TSchema, Type } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ChainError } from './errors.js';

export interface KindSpec {
  description: string;
  mutating: boolean;
  schema: TSchema;
}

const Str = Type.String();
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Int = Type.Integer({ minimum: 0 });
const Verdict = Type.Union(['permit', 'permit-with-warning', 'escalate', 'deny'].map((v) => Type.Literal(v)));

/** An object payload: the listed fields typed (required unless Optional), further fields allowed. */
function payload(props: TProperties = {}): TObject {
  return Type.Object(props, { additionalProperties: true });
}
const Opt = Type.Optional;

const PolicyRef = payload({ name: Str, version: Str, sha256: Hex64 });
const Checkpoint = payload({ origin: Str, size: Int, root: Str });
const AnchorBase = {
  target: Str,
  network: Str,
  checkpoint: Opt(Checkpoint),
  head: Opt(Hex64),
  tx: Opt(Str),
};
const PolicyStep = payload({ name: Str, version: Opt(Str), sha256: Opt(Hex64), deployment: Opt(Str) });

function kinds(
  mutating: boolean,
  list: Record<string, string>,
  schema: TSchema = payload(),
): Record<string, KindSpec> {
  const out: Record<string, KindSpec> = {};
  for (const [k, description] of Object.entries(list)) out[k] = { description, mutating, schema };
  return out;
}

export const EVENT_KINDS: Readonly<Record<string, KindSpec>> = Object.freeze({
  // Boot phases (ExoChain kernel boot; gavel's daemon boot).
  ...kinds(false, {
    'boot.init': 'process started; versions and the ledger size it found',
    'boot.config': 'configuration loaded (file digest, checks active, policies)',
    'boot.services': 'services started (listeners, pools, schedulers)',
    'boot.ready': 'ready to serve',
    'boot.shutdown': 'orderly stop: intake closed, drained, fsynced',
  }),
  // Agents.
  ...kinds(true, {
    'agent.spawn': 'an agent was started',
    'agent.kill': 'an agent was stopped',
    'agent.elevate': 'an agent was given more authority',
    'agent.restart': 'an agent was restarted',
  }),
  ...kinds(false, {
    'agent.action': 'something an agent did, as it reports it',
    'agent.note': 'a free-form note from an agent',
    'agent.message': 'a message between agents',
  }),
  // Tools.
  ...kinds(true, {
    'tool.execute': 'a tool ran',
    'tool.sign': 'a tool signed something',
    'tool.register': 'a tool was registered',
  }),
  ...kinds(false, { 'tool.result': 'what a tool returned' }),
  // WebAssembly modules.
  ...kinds(true, {
    'wasm.load': 'a module was loaded',
    'wasm.unload': 'a module was unloaded',
    'wasm.fuel': 'a fuel budget changed',
  }),
  ...kinds(false, { 'wasm.trap': 'a module trapped' }),
  // Configuration and authority.
  ...kinds(true, {
    'config.mutate': 'configuration changed',
    'config.reload': 'configuration and trust were reloaded',
    'auth.grant': 'a permission was granted',
    'auth.revoke': 'a permission was revoked',
  }),
  ...kinds(false, { 'auth.login': 'an identity authenticated', 'auth.denied': 'an identity was refused' }),
  // Scheduling.
  ...kinds(true, { 'cron.create': 'a job was scheduled', 'cron.delete': 'a job was unscheduled' }),
  ...kinds(false, { 'cron.execute': 'a scheduled job ran' }),
  // Mesh and cluster.
  ...kinds(true, {
    'mesh.connect': 'a peer connected',
    'mesh.disconnect': 'a peer disconnected',
    'cluster.join': 'a node joined',
    'cluster.leave': 'a node left',
    'cluster.leader': 'leadership changed',
  }),
  ...kinds(false, { 'mesh.message': 'a message crossed the mesh' }),
  // Skills, assessment, workspaces.
  ...kinds(true, {
    'skills.install': 'a skill was installed',
    'skills.remove': 'a skill was removed',
    'workspace.create': 'a workspace was created',
    'workspace.delete': 'a workspace was deleted',
  }),
  ...kinds(false, {
    'skills.invoke': 'a skill was used',
    'assessment.run': 'an assessment ran',
    'assessment.result': 'an assessment finished',
  }),
  // Governance of the governance.
  ...kinds(true, {
    'governance.amend': 'the constitution was amended',
    'governance.veto': 'a change was vetoed',
    'governance.ratify': 'a change was ratified',
  }),
  ...kinds(false, { 'governance.vote': 'a vote was cast' }),
  // Learning, indexes, causal and graph stores.
  ...kinds(true, {
    'eml.train': 'a model was trained',
    'eml.load': 'a model was loaded',
    'hnsw.insert': 'vectors were inserted',
    'hnsw.delete': 'vectors were deleted',
    'hnsw.rebuild': 'an index was rebuilt',
    'causal.link': 'a causal link was recorded',
    'graphify.build': 'a graph was built',
    'graphify.update': 'a graph was updated',
  }),
  ...kinds(false, { 'eml.evaluate': 'a model was evaluated', 'causal.infer': 'a causal inference ran' }),
  // gavel's own.
  'gate.decision': {
    description: 'a gate was evaluated: request, verdict, reason, rule, fuel and the policy that decided',
    mutating: false,
    schema: payload({
      gate: Str,
      request: payload(),
      verdict: Verdict,
      reason: Str,
      rule: Str,
      fuel: Int,
      policy: Type.Union([PolicyRef, Type.Null()]),
    }),
  },
  ...kinds(
    true,
    {
      'policy.proposed': 'a signed policy package was submitted for deployment',
      'policy.signed': 'a deployment gained operator signatures',
      'policy.held': 'a deployment waits for more operator signatures',
      'policy.deployed': 'a policy version became active',
      'policy.rolledback': 'the previous policy version became active again',
      'policy.vetoed': 'a pending deployment was vetoed',
      'policy.rejected': 'a deployment was refused (signature, trust or governance.amend)',
    },
    PolicyStep,
  ),
  ...kinds(
    false,
    {
      'anchor.scheduled': 'a checkpoint is due to be anchored on a chain',
      'anchor.submitted': 'the anchor transaction was sent',
      'anchor.confirmed': 'the anchor transaction is included (not yet final)',
      'anchor.finalized': 'the anchor transaction is final: the anchor is complete',
      'anchor.failed': 'the anchor could not be completed, with the reason',
    },
    payload(AnchorBase),
  ),
  'seal.epoch': {
    description: 'the seal key stepped forward; the old key is gone',
    mutating: false,
    schema: payload({ epoch: Int, previous_epoch: Int }),
  },
  'chain.recovered': {
    description: 'a torn tail left by a crash was cut on open (what was cut, never its bytes)',
    mutating: false,
    schema: payload({ offset: Int, cut_bytes: Int, cut_sha256: Hex64, reason: Str }),
  },
  'emergency.invoked': {
    description: 'an emergency action executed at once, with elevated priority',
    mutating: true,
    schema: payload({ action: Str, justification: Str, priority: Str }),
  },
  'emergency.judged': {
    description: 'the post-hoc verdict of chain.emergency on an emergency action',
    mutating: false,
    schema: payload({
      invoked_seq: Int,
      invoked_hash: Hex64,
      verdict: Type.Union([Verdict, Type.Null()]),
      reason: Str,
      review: Type.Boolean(),
    }),
  },
  'moses.log': {
    description: 'a MO§ES-style audit log entry (gavel audit log); optional isnad provenance',
    mutating: false,
    schema: payload({ isnad: Opt(payload({ input_hash: Str, source_id: Str })) }),
  },
});

const compiled = new Map<string, TypeCheck<TSchema>>();
function checker(kind: string, spec: KindSpec): TypeCheck<TSchema> {
  let c = compiled.get(kind);
  if (c === undefined) {
    c = TypeCompiler.Compile(spec.schema);
    compiled.set(kind, c);
  }
  return c;
}

const CUSTOM = /^custom\.[a-z0-9][a-z0-9_.-]{0,63}$/;

export function listKinds(): { kind: string; description: string; mutating: boolean }[] {
  return Object.entries(EVENT_KINDS).map(([kind, s]) => ({
    kind,
    description: s.description,
    mutating: s.mutating,
  }));
}

function suggest(kind: string): string[] {
  const [ns] = kind.split('.');
  const same = Object.keys(EVENT_KINDS).filter((k) => k.startsWith(`${ns}.`));
  return same.length > 0
    ? same.slice(0, 6)
    : Object.keys(EVENT_KINDS)
        .filter((k) => k.includes(kind))
        .slice(0, 6);
}

/** Throws ChainError UNKNOWN_KIND or BAD_PAYLOAD (naming the JSON path and what was expected). */
export function validateEvent(kind: string, payload: unknown): void {
  const spec = EVENT_KINDS[kind];
  if (spec === undefined) {
    if (CUSTOM.test(kind)) {
      if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
        throw new ChainError('BAD_PAYLOAD', `payload of ${kind} must be a JSON object`);
      return;
    }
    const near = suggest(kind);
    throw new ChainError(
      'UNKNOWN_KIND',
      `unknown event kind ${JSON.stringify(kind)}${near.length > 0 ? `; did you mean ${near.join(', ')}?` : ''} ` +
        '(gavel kinds lists them; custom.<name> records your own)',
    );
  }
  const c = checker(kind, spec);
  if (c.Check(payload)) return;
  const first = c.Errors(payload).First();
  const where =
    first?.path === '' || first?.path === undefined ? 'payload' : `payload${first.path.replace(/\//g, '.')}`;
  throw new ChainError('BAD_PAYLOAD', `${kind}: ${where}: ${first?.message ?? 'does not match the schema'}`);
}

export function isMutatingKind(kind: string): boolean {
  return EVENT_KINDS[kind]?.mutating === true;
}
