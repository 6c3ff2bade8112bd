// Loading a policy package: verify -> check the world -> extract the core module -> check imports
// and memory -> inject fuel and reset hooks -> compile once (DESIGN "Policies and the engine").
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkWorld, coreModules, WORLD } from './component.js';
import { EngineError } from './errors.js';
import {
  type CoreFacts,
  FUEL_PASSES,
  type FuelPass,
  INSTRUMENTER,
  instrument,
  MEMORY_CAP_PAGES,
} from './instrument.js';
import type { PolicySpec } from './runtime.js';
import {
  checkEnvelope,
  type DsseEnvelope,
  type EnvelopeReport,
  requireTrusted,
  type TrustFile,
} from './trust.js';
import type { Manifest } from './types.js';

export interface LoadedPolicy {
  dir: string;
  manifest: Manifest;
  /** SHA-256 of component.wasm (hex), as the manifest states and as checked. */
  sha256: string;
  /** Valid signer verifier keys (operators and authors) of the envelope; empty when unsigned. */
  signers: string[];
  envelope?: EnvelopeReport;
  wit: string;
  core: CoreFacts;
  spec: PolicySpec;
}

export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Validate manifest.json's shape. */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new EngineError('BAD_PACKAGE', `${where}: not JSON: ${(err as Error).message}`);
  }
  const bad = (what: string) => new EngineError('BAD_PACKAGE', `${where}: ${what}`);
  if (m.schema !== 'gavel.policy/v1') throw bad('schema must be "gavel.policy/v1"');
  if (typeof m.name !== 'string' || m.name === '') throw bad('name missing');
  if (typeof m.version !== 'string' || m.version === '') throw bad('version missing');
  if (m.world !== WORLD)
    throw new EngineError('BAD_WORLD', `${where}: world must be ${WORLD}, got ${String(m.world)}`);
  if (!Array.isArray(m.gates) || m.gates.some((g) => typeof g !== 'string'))
    throw bad('gates must be strings');
  if (typeof m.fuel !== 'number' || !Number.isInteger(m.fuel) || m.fuel < 1 || m.fuel > 0x7fffffff)
    throw bad('fuel must be an integer in 1..2^31-1');
  if (typeof m.maxMemoryPages !== 'number' || !Number.isInteger(m.maxMemoryPages) || m.maxMemoryPages < 1)
    throw bad('maxMemoryPages must be a positive integer');
  if (m.maxMemoryPages > MEMORY_CAP_PAGES)
    throw new EngineError(
      'memory_limit',
      `${where}: maxMemoryPages ${m.maxMemoryPages} exceeds the cap of ${MEMORY_CAP_PAGES}`,
    );
  const ins = m.instrumenter as Record<string, unknown> | undefined;
  if (typeof ins !== 'object' || ins === null) throw bad('instrumenter missing');
  if (ins.name !== INSTRUMENTER.name || ins.version !== INSTRUMENTER.version)
    throw bad(
      `instrumenter ${String(ins.name)} ${String(ins.version)}: this engine instruments with ${INSTRUMENTER.name} ${INSTRUMENTER.version} only (fuel counts depend on it)`,
    );
  if (!FUEL_PASSES.includes(ins.pass as FuelPass))
    throw bad(
      `instrumenter.pass ${String(ins.pass)} is not one this engine implements (${FUEL_PASSES.join(', ')})`,
    );
  const c = m.component as Record<string, unknown> | undefined;
  if (typeof c?.file !== 'string' || typeof c.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(c.sha256))
    throw bad('component.file and component.sha256 (hex) required');
  if (c.file.includes('/') || c.file.includes('\\') || c.file.startsWith('.'))
    throw bad('component.file must be a plain file name');
  return m as unknown as Manifest;
}

export async function loadPolicy(
  pkgDir: string,
  opts: { trust?: TrustFile; allowUnsigned?: boolean } = {},
): Promise<LoadedPolicy> {
  const manifestPath = join(pkgDir, 'manifest.json');
  const envPath = join(pkgDir, 'manifest.dsse.json');
  if (!existsSync(manifestPath))
    throw new EngineError('BAD_PACKAGE', `${pkgDir}: no manifest.json (not a policy package)`, {
      exitCode: 2,
    });
  const manifestBytes = new Uint8Array(readFileSync(manifestPath));
  let envelope: EnvelopeReport | undefined;
  if (existsSync(envPath)) {
    let env: DsseEnvelope;
    try {
      env = JSON.parse(readFileSync(envPath, 'utf8')) as DsseEnvelope;
    } catch (err) {
      throw new EngineError('BAD_PACKAGE', `${envPath}: not JSON: ${(err as Error).message}`);
    }
    envelope = checkEnvelope(env, opts.trust);
    if (!Buffer.from(envelope.payload).equals(Buffer.from(manifestBytes)))
      throw new EngineError('TAMPERED', `${manifestPath} differs from the manifest its signatures cover`);
  }
  if (!opts.allowUnsigned) {
    if (envelope === undefined || envelope.checks.length === 0)
      throw new EngineError('UNSIGNED', `${pkgDir} is not signed (no manifest.dsse.json signatures)`);
    if (opts.trust === undefined)
      throw new EngineError('BAD_TRUST', 'a trust file is required to load signed policies');
    requireTrusted(envelope, opts.trust);
  }
  const manifest = parseManifest(manifestBytes, manifestPath);
  const component = new Uint8Array(readFileSync(join(pkgDir, manifest.component.file)));
  const sha256 = sha256Hex(component);
  if (sha256 !== manifest.component.sha256)
    throw new EngineError(
      'TAMPERED',
      `${manifest.component.file}: sha256 ${sha256} differs from the manifest's ${manifest.component.sha256}`,
    );
  const { wit } = await checkWorld(component);
  const cores = coreModules(component);
  if (cores.length !== 1)
    throw new EngineError(
      'policy_import',
      `the component holds ${cores.length} core modules; a policy is exactly one with no imports`,
    );
  const inst = instrument(cores[0] as Uint8Array, {
    fuel: manifest.fuel,
    maxMemoryPages: manifest.maxMemoryPages,
    pass: manifest.instrumenter.pass as FuelPass,
  });
  const module = await WebAssembly.compile(inst.wasm);
  return {
    dir: pkgDir,
    manifest,
    sha256,
    signers: envelope ? [...envelope.operators, ...envelope.authors] : [],
    envelope,
    wit,
    core: inst.facts,
    spec: { module, fuel: manifest.fuel, tracked: inst.tracked, maxMemoryPages: manifest.maxMemoryPages },
  };
}

export { INSTRUMENTER };
