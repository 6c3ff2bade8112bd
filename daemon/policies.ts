// Governed policy deployment. A deployment is a signed package (DSSE envelope over manifest.json +
// component.wasm) sent as base64 in JSON. Steps, each a ledger entry:
//   policy.proposed  the package is staged, its DSSE signatures verified by the engine's loader
//                    against the trust file, and the `governance.amend` gate of the ACTIVE
//                    constitution decides whether the change may proceed;
//   policy.rejected  the gate denied it, or the package does not verify;
//   policy.held      fewer valid operator signatures than the trust file's threshold: more can be
//                    added later (POST .../signatures), each recorded as policy.signed;
//   policy.deployed  threshold reached: a new engine is built with the new set and swapped in
//                    atomically (requests in flight finish on the old one);
//   policy.vetoed    a judicial key signed a veto of a pending deployment and `governance.veto`
//                    permitted it: the deployment is cancelled;
//   policy.rolledback the previous version of a policy is made active again.
// Trust file (JSON, the engine's format, engine/trust.ts): { "operators": [vkey...],
// "operatorThreshold": n (alias "threshold"), "judicial": [vkey...], "authors": [vkey...] }, each vkey a
// C2SP signed-note verifier key. The engine loads a package only at the threshold, so a held
// deployment is verified here (operator signatures over DSSE PAE) and by the engine at activation.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { formatVerifierKey, parseVerifierKey, type VerifierKey, verifySignature } from '../chain/index.js';
import type { Identity } from './auth.js';
import type { Scope } from './config.js';
import { DaemonError } from './errors.js';
import type { PolicyApi } from './server.js';
import { type GateService, SOURCE } from './service.js';
import type { Decision, EntryInput, LedgerWriter } from './types.js';
import { EngineDecisions, type EngineRuntime, policyRef } from './wire.js';

export const MANIFEST_TYPE = 'application/vnd.gavel.policy-manifest+json';
export const VETO_TYPE = 'application/vnd.gavel.policy-veto+json';

export interface DsseSignature {
  keyid: string;
  sig: string;
}
export interface DsseEnvelope {
  payloadType: string;
  payload: string;
  signatures: DsseSignature[];
}

/** DSSE v1 pre-authentication encoding. */
export function pae(type: string, body: Uint8Array): Uint8Array {
  const t = Buffer.from(type, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${t.length} `),
    t,
    Buffer.from(` ${body.length} `),
    Buffer.from(body),
  ]);
}

export interface TrustView {
  threshold: number;
  operators: VerifierKey[];
  judicial: VerifierKey[];
}

export function readTrustView(path: string | undefined): TrustView {
  if (path === undefined) return { threshold: 1, operators: [], judicial: [] };
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new DaemonError('BAD_CONFIG', `trust file ${path}: ${(err as Error).message}`, { exitCode: 2 });
  }
  const keys = (v: unknown): VerifierKey[] =>
    Array.isArray(v) ? v.map((k) => parseVerifierKey(String(k))) : [];
  const threshold = Number(j.operatorThreshold ?? j.threshold ?? j.operator_threshold ?? 1);
  if (!Number.isInteger(threshold) || threshold < 1)
    throw new DaemonError('BAD_CONFIG', `trust file ${path}: threshold must be an integer >= 1`);
  return {
    threshold,
    operators: keys(j.operators ?? j.operator_keys),
    judicial: keys(j.judicial ?? j.judicial_keys),
  };
}

/** Distinct keys of `allowed` that validly signed `message`. */
export function validSigners(sigs: DsseSignature[], allowed: VerifierKey[], message: Uint8Array): string[] {
  const byText = new Map(allowed.map((k) => [formatVerifierKey(k), k]));
  const out = new Set<string>();
  for (const s of sigs) {
    let k: VerifierKey | undefined;
    try {
      k = byText.get(formatVerifierKey(parseVerifierKey(s.keyid)));
    } catch {
      continue;
    }
    if (k === undefined) continue;
    if (verifySignature(k.publicKey, message, Buffer.from(s.sig, 'base64'))) out.add(formatVerifierKey(k));
  }
  return [...out];
}

type State = 'held' | 'deployed' | 'rejected' | 'vetoed';
interface Deployment {
  id: string;
  name: string;
  version: string;
  sha256: string;
  dir: string;
  staging: string;
  state: State;
  signers: string[];
  threshold: number;
  envelope: DsseEnvelope;
  seqs: number[];
}

interface ActiveFile {
  active: string[]; // package dirs, relative to the policies dir
  history: {
    action: string;
    name: string;
    version: string;
    sha256: string;
    dir: string;
    seq: number;
    at: string;
  }[];
}

const Envelope = Type.Object({
  payloadType: Type.String(),
  payload: Type.String({ maxLength: 1_000_000 }),
  signatures: Type.Array(
    Type.Object(
      { keyid: Type.String({ maxLength: 512 }), sig: Type.String({ maxLength: 256 }) },
      { additionalProperties: false },
    ),
    { maxItems: 64 },
  ),
});
const DeployBody = Type.Object(
  { envelope: Envelope, component: Type.String({ description: 'base64 of component.wasm' }) },
  { additionalProperties: false },
);
const SigBody = Type.Object(
  {
    signatures: Type.Array(Type.Object({ keyid: Type.String(), sig: Type.String() }), {
      minItems: 1,
      maxItems: 64,
    }),
  },
  { additionalProperties: false },
);
const VetoBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 4096 }),
    signatures: Type.Array(Type.Object({ keyid: Type.String(), sig: Type.String() }), {
      minItems: 1,
      maxItems: 16,
    }),
  },
  { additionalProperties: false },
);
const RollbackBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);
const IdParams = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'deployment id' }),
});
const ActiveReply = Type.Object({
  active: Type.Array(
    Type.Object({
      name: Type.String(),
      version: Type.String(),
      sha256: Type.String(),
      gates: Type.Array(Type.String()),
    }),
  ),
  pending: Type.Array(Type.Object({}, { additionalProperties: true })),
});
const HistoryReply = Type.Object({
  history: Type.Array(
    Type.Object({
      action: Type.String(),
      name: Type.String(),
      version: Type.String(),
      sha256: Type.String(),
      dir: Type.String(),
      seq: Type.Integer(),
      at: Type.String(),
    }),
  ),
});
const DeploymentReply = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  sha256: Type.String(),
  state: Type.String(),
  signers: Type.Integer(),
  threshold: Type.Integer(),
  reason: Type.String(),
  seqs: Type.Array(Type.Integer()),
});

/** The veto message a judicial key signs: DSSE PAE over `{"deployment": id, "sha256": manifest sha}`. */
export function vetoMessage(id: string, sha256: string): Uint8Array {
  return pae(VETO_TYPE, Buffer.from(JSON.stringify({ deployment: id, sha256 })));
}

export class PolicyManager implements PolicyApi {
  private pending = new Map<string, Deployment>();
  private file: ActiveFile;
  private activeDirs: string[];

  constructor(
    private rtm: EngineRuntime,
    private ledger: LedgerWriter,
    private service: GateService,
    private dir: string,
    /** Read at every step, so a SIGHUP reload of the config (and edits of the file) take effect. */
    private trustFile: () => string | undefined,
    private opts: { threads: number; allowUnsigned: boolean },
  ) {
    mkdirSync(join(dir, '.staging'), { recursive: true });
    const f = join(dir, 'active.json');
    this.file = existsSync(f)
      ? (JSON.parse(readFileSync(f, 'utf8')) as ActiveFile)
      : { active: PolicyManager.bootDirs(dir).map((d) => basename(d)), history: [] };
    this.activeDirs = [...this.file.active];
  }

  /** Loads the active set and swaps it in (boot). */
  async start(): Promise<void> {
    await this.swap(this.activeDirs);
  }

  /** Package dirs active at boot: active.json when present, else every package folder. */
  static bootDirs(dir: string): string[] {
    const f = join(dir, 'active.json');
    if (existsSync(f))
      return (JSON.parse(readFileSync(f, 'utf8')) as ActiveFile).active.map((d) => join(dir, d));
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => join(dir, e.name))
      .sort();
  }

  private persist(): void {
    const f = join(this.dir, 'active.json');
    writeFileSync(`${f}.tmp`, JSON.stringify(this.file, null, 2), { mode: 0o640 });
    renameSync(`${f}.tmp`, f);
  }

  private trust(): TrustView {
    return readTrustView(this.trustFile());
  }

  private async record(
    id: Identity,
    kind: string,
    d: Pick<Deployment, 'name' | 'version' | 'sha256' | 'id'>,
    outcome: string,
    extra: Record<string, unknown>,
  ): Promise<number> {
    const e: EntryInput = {
      kind,
      source: SOURCE,
      agent: id.name,
      role: id.role,
      component: 'governance',
      action: kind.slice('policy.'.length),
      detail: `${d.name}@${d.version}: ${outcome}`,
      outcome,
      payload: { deployment: d.id, name: d.name, version: d.version, sha256: d.sha256, ...extra },
    };
    const [w] = await this.ledger.appendBatch([e]);
    return (w as { seq: number }).seq;
  }

  private async gate(
    id: Identity,
    gate: string,
    context: Record<string, string>,
  ): Promise<Decision | undefined> {
    if (!this.service.decisions.serves(gate)) return undefined;
    const ans = await this.service.evaluate(id, gate, { context });
    return { verdict: ans.verdict, reason: ans.reason, rule: ans.rule, fuel: ans.fuel, policy: ans.policy };
  }

  private async activate(id: Identity, dep: Deployment): Promise<void> {
    // The full check by the engine's loader, on the package with every signature gathered so far.
    writeFileSync(join(dep.staging, 'manifest.dsse.json'), JSON.stringify(dep.envelope));
    try {
      await this.rtm.loadPolicy(dep.staging, { trust: this.engineTrust(), allowUnsigned: false });
    } catch (err) {
      rmSync(dep.staging, { recursive: true, force: true });
      dep.state = 'rejected';
      dep.seqs.push(
        await this.record(id, 'policy.rejected', dep, 'rejected', { reason: (err as Error).message }),
      );
      throw new DaemonError('BAD_POLICY', `the package does not verify: ${(err as Error).message}`);
    }
    if (!existsSync(dep.dir)) renameSync(dep.staging, dep.dir);
    else rmSync(dep.staging, { recursive: true, force: true });
    const rel = dep.dir.slice(this.dir.length + 1);
    const next = this.activeDirs.filter((d) => policyRef(this.loadedFor(d)).name !== dep.name);
    next.push(rel);
    await this.swap(next);
    dep.state = 'deployed';
    const seq = await this.record(id, 'policy.deployed', dep, 'deployed', {
      signers: dep.signers,
      threshold: dep.threshold,
    });
    dep.seqs.push(seq);
    this.file.history.push({
      action: 'deployed',
      name: dep.name,
      version: dep.version,
      sha256: dep.sha256,
      dir: rel,
      seq,
      at: new Date().toISOString(),
    });
    this.persist();
  }

  private loaded = new Map<string, unknown>();
  private loadedFor(rel: string): unknown {
    const l = this.loaded.get(rel);
    if (l === undefined) throw new DaemonError('INTERNAL', `policy ${rel} is not loaded`);
    return l;
  }

  private async load(rel: string): Promise<unknown> {
    const have = this.loaded.get(rel);
    if (have !== undefined) return have;
    const l = await this.rtm.loadPolicy(join(this.dir, rel), {
      trust: this.engineTrust(),
      allowUnsigned: this.opts.allowUnsigned,
    });
    this.loaded.set(rel, l);
    return l;
  }

  private engineTrust(): unknown {
    const file = this.trustFile();
    return file === undefined ? undefined : (this.rtm.loadTrustFile ?? this.rtm.readTrustFile)?.(file);
  }

  /** Builds an engine for `dirs` and swaps it in; the old engine closes once requests in flight are done. */
  private async swap(dirs: string[]): Promise<void> {
    const policies = [];
    for (const d of dirs) policies.push(await this.load(d));
    const next = await EngineDecisions.create(this.rtm, policies, this.opts.threads);
    const old = this.service.decisions;
    this.service.decisions = next;
    this.activeDirs = dirs;
    this.file.active = dirs;
    setTimeout(() => void old.close().catch(() => {}), 2000).unref();
  }

  private reply(d: Deployment, reason: string) {
    return {
      id: d.id,
      name: d.name,
      version: d.version,
      sha256: d.sha256,
      state: d.state,
      signers: d.signers.length,
      threshold: d.threshold,
      reason,
      seqs: d.seqs,
    };
  }

  async deploy(id: Identity, body: { envelope: DsseEnvelope; component: string }) {
    if (body.envelope.payloadType !== MANIFEST_TYPE)
      throw new DaemonError('BAD_POLICY', `payloadType must be ${MANIFEST_TYPE}`);
    const manifestBytes = Buffer.from(body.envelope.payload, 'base64');
    let manifest: { name?: unknown; version?: unknown; component?: { sha256?: unknown } };
    try {
      manifest = JSON.parse(manifestBytes.toString('utf8'));
    } catch {
      throw new DaemonError('BAD_POLICY', 'the envelope payload is not a JSON manifest');
    }
    const component = Buffer.from(body.component, 'base64');
    const compSha = createHash('sha256').update(component).digest('hex');
    if (
      typeof manifest.name !== 'string' ||
      typeof manifest.version !== 'string' ||
      manifest.component?.sha256 !== compSha
    ) {
      throw new DaemonError(
        'BAD_POLICY',
        'the manifest lacks name/version or its component.sha256 does not match the component sent',
      );
    }
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(manifest.name) || !/^[A-Za-z0-9._+-]{1,64}$/.test(manifest.version)) {
      throw new DaemonError('BAD_POLICY', 'policy name/version may hold only letters, digits, ".", "_", "-"');
    }
    const sha256 = createHash('sha256').update(manifestBytes).digest('hex');
    const depId = randomUUID();
    const rel = `${manifest.name}@${manifest.version}-${sha256.slice(0, 12)}`;
    const dir = join(this.dir, rel);
    const staging = join(this.dir, '.staging', depId);
    mkdirSync(staging, { recursive: true });
    writeFileSync(join(staging, 'component.wasm'), component);
    writeFileSync(join(staging, 'manifest.json'), manifestBytes);
    writeFileSync(join(staging, 'manifest.dsse.json'), JSON.stringify(body.envelope));
    const dep: Deployment = {
      id: depId,
      name: manifest.name,
      version: manifest.version,
      sha256,
      dir,
      staging,
      state: 'held',
      signers: [],
      threshold: 1,
      envelope: body.envelope,
      seqs: [],
    };
    const trust = this.trust();
    dep.threshold = trust.threshold;
    dep.signers = validSigners(body.envelope.signatures, trust.operators, pae(MANIFEST_TYPE, manifestBytes));
    // Signatures by keys the trust file does not name (or that do not verify) are refused outright;
    // the engine's loader checks the whole package (signatures, world, fuel, memory) at activation.
    if (dep.signers.length === 0) {
      rmSync(staging, { recursive: true, force: true });
      dep.state = 'rejected';
      dep.seqs.push(
        await this.record(id, 'policy.rejected', dep, 'rejected', { reason: 'no valid operator signature' }),
      );
      throw new DaemonError(
        'BAD_SIGNATURE',
        'the envelope carries no valid signature by an operator key of the trust file',
      );
    }
    const amend = await this.gate(id, 'governance.amend', {
      policy: dep.name,
      version: dep.version,
      sha256,
      signers: String(dep.signers.length),
      threshold: String(trust.threshold),
    });
    dep.seqs.push(
      await this.record(id, 'policy.proposed', dep, amend?.verdict ?? 'ungated', {
        signers: dep.signers,
        threshold: trust.threshold,
        amend: amend ?? null,
      }),
    );
    if (amend !== undefined && amend.verdict === 'deny') {
      dep.state = 'rejected';
      rmSync(staging, { recursive: true, force: true });
      dep.seqs.push(
        await this.record(id, 'policy.rejected', dep, 'rejected', {
          reason: `governance.amend: ${amend.reason}`,
        }),
      );
      return this.reply(dep, `governance.amend denied: ${amend.reason}`);
    }
    this.pending.set(depId, dep);
    return this.progress(id, dep);
  }

  private async progress(id: Identity, dep: Deployment) {
    if (dep.signers.length >= dep.threshold) {
      await this.activate(id, dep);
      this.pending.delete(dep.id);
      return this.reply(dep, `activated with ${dep.signers.length} of ${dep.threshold} operator signatures`);
    }
    dep.seqs.push(
      await this.record(id, 'policy.held', dep, 'held', { signers: dep.signers, threshold: dep.threshold }),
    );
    return this.reply(
      dep,
      `held: ${dep.signers.length} of ${dep.threshold} operator signatures; add more with POST /v1/policies/deployments/${dep.id}/signatures`,
    );
  }

  private pendingOr404(depId: string): Deployment {
    const d = this.pending.get(depId);
    if (d === undefined) throw new DaemonError('NOT_FOUND', `no pending deployment ${depId}`);
    return d;
  }

  async addSignatures(id: Identity, depId: string, sigs: DsseSignature[]) {
    const dep = this.pendingOr404(depId);
    const trust = this.trust();
    dep.envelope.signatures.push(...sigs);
    const before = dep.signers.length;
    dep.signers = validSigners(
      dep.envelope.signatures,
      trust.operators,
      pae(MANIFEST_TYPE, Buffer.from(dep.envelope.payload, 'base64')),
    );
    dep.threshold = trust.threshold;
    if (dep.signers.length === before)
      throw new DaemonError(
        'BAD_SIGNATURE',
        'none of the signatures is a new valid operator signature over this manifest',
      );
    dep.seqs.push(
      await this.record(id, 'policy.signed', dep, 'signed', {
        signers: dep.signers,
        threshold: dep.threshold,
      }),
    );
    return this.progress(id, dep);
  }

  async veto(id: Identity, depId: string, body: { reason: string; signatures: DsseSignature[] }) {
    const dep = this.pendingOr404(depId);
    const judges = validSigners(body.signatures, this.trust().judicial, vetoMessage(dep.id, dep.sha256));
    if (judges.length === 0)
      throw new DaemonError(
        'FORBIDDEN',
        'a veto needs a valid signature by a judicial key of the trust file',
      );
    const d = await this.gate(id, 'governance.veto', {
      policy: dep.name,
      version: dep.version,
      deployment: dep.id,
    });
    if (d !== undefined && d.verdict === 'deny') {
      throw new DaemonError('FORBIDDEN', `governance.veto denied the veto: ${d.reason}`);
    }
    dep.state = 'vetoed';
    this.pending.delete(dep.id);
    rmSync(dep.staging, { recursive: true, force: true });
    dep.seqs.push(
      await this.record(id, 'policy.vetoed', dep, 'vetoed', { judges, reason: body.reason, veto: d ?? null }),
    );
    return this.reply(dep, `vetoed: ${body.reason}`);
  }

  async rollback(id: Identity, name: string) {
    const deployed = this.file.history.filter(
      (h) => h.name === name && (h.action === 'deployed' || h.action === 'rolledback'),
    );
    const current = deployed[deployed.length - 1];
    const previous = [...deployed].reverse().find((h) => h.dir !== current?.dir);
    if (current === undefined || previous === undefined)
      throw new DaemonError('CONFLICT', `policy ${name} has no previous version to roll back to`);
    const d = await this.gate(id, 'governance.amend', {
      policy: name,
      version: previous.version,
      rollback: 'true',
    });
    if (d !== undefined && d.verdict === 'deny')
      throw new DaemonError('FORBIDDEN', `governance.amend denied the rollback: ${d.reason}`);
    const next = this.activeDirs.filter((x) => x !== current.dir);
    next.push(previous.dir);
    await this.swap(next);
    const ref = { id: '', name, version: previous.version, sha256: previous.sha256 };
    const seq = await this.record(id, 'policy.rolledback', ref, 'rolledback', {
      from: { version: current.version, sha256: current.sha256 },
      amend: d ?? null,
    });
    this.file.history.push({
      action: 'rolledback',
      name,
      version: previous.version,
      sha256: previous.sha256,
      dir: previous.dir,
      seq,
      at: new Date().toISOString(),
    });
    this.persist();
    return {
      id: '',
      name,
      version: previous.version,
      sha256: previous.sha256,
      state: 'deployed',
      signers: 0,
      threshold: 0,
      reason: `rolled back from ${current.version}`,
      seqs: [seq],
    };
  }

  register(app: FastifyInstance, guard: (scope: Scope) => (req: FastifyRequest) => Promise<void>): void {
    const who = (r: FastifyRequest) => r.identity as Identity;
    app.get(
      '/v1/policies',
      {
        onRequest: guard('read'),
        schema: { summary: 'Active policies and pending deployments', response: { 200: ActiveReply } },
      },
      async () => ({
        active: this.service.decisions.active(),
        pending: [...this.pending.values()].map((d) => this.reply(d, 'pending')),
      }),
    );
    app.get(
      '/v1/policies/history',
      {
        onRequest: guard('read'),
        schema: { summary: 'Deployments and rollbacks, oldest first', response: { 200: HistoryReply } },
      },
      async () => ({
        history: this.file.history,
      }),
    );
    app.post<{ Body: { envelope: DsseEnvelope; component: string } }>(
      '/v1/policies/deployments',
      {
        onRequest: guard('deploy'),
        schema: {
          summary: 'Deploy a signed policy package (governed)',
          body: DeployBody,
          response: { 200: DeploymentReply },
        },
      },
      async (req) => this.deploy(who(req), req.body),
    );
    app.post<{ Params: { id: string }; Body: { signatures: DsseSignature[] } }>(
      '/v1/policies/deployments/:id/signatures',
      {
        onRequest: guard('deploy'),
        schema: {
          summary: 'Add operator signatures to a held deployment',
          params: IdParams,
          body: SigBody,
          response: { 200: DeploymentReply },
        },
      },
      async (req) => this.addSignatures(who(req), req.params.id, req.body.signatures),
    );
    app.post<{ Params: { id: string }; Body: { reason: string; signatures: DsseSignature[] } }>(
      '/v1/policies/deployments/:id/veto',
      {
        onRequest: guard('deploy'),
        schema: {
          summary: 'Veto a pending deployment with a judicial signature',
          params: IdParams,
          body: VetoBody,
          response: { 200: DeploymentReply },
        },
      },
      async (req) => this.veto(who(req), req.params.id, req.body),
    );
    app.post<{ Body: { name: string } }>(
      '/v1/policies/rollback',
      {
        onRequest: guard('deploy'),
        schema: {
          summary: 'Make the previous version of a policy active again',
          body: RollbackBody,
          response: { 200: DeploymentReply },
        },
      },
      async (req) => this.rollback(who(req), req.body.name),
    );
  }
}
