// Hand-written WAT policies made into components of gavel:policy/gate-policy (no AssemblyScript):
// the "component from another language" path, plus hostile modules.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentEmbed, componentNew } from '@bytecodealliance/jco';
import binaryen from 'binaryen';
import { formatVerifierKey, generateSigner, type SignerKey, sign } from '../../chain/index.js';
import { type FuelPass, INSTRUMENTER, sha256Hex } from '../../engine/index.js';
import { MANIFEST_PAYLOAD_TYPE, pae } from '../../engine/trust.js';

const WIT = readFileSync(new URL('../../policies/wit/gate.wit', import.meta.url), 'utf8');

/** Bump allocator + a decision record at 512; strings in a data segment at 16. */
export function policyWat(body: string, extra = '', memory = '(memory (export "memory") 1 4)'): string {
  return `(module
  ${memory}
  (global $hp (mut i32) (i32.const 4096))
  (global $count (mut i32) (i32.const 0))
  (data (i32.const 16) "permitdenylow-riskhigh-riskcount")
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $hp) (i32.const 7)) (i32.const -8)))
    (global.set $hp (i32.add (local.get $p) (local.get 3)))
    (local.get $p))
  (func $out (param $v i32) (param $rp i32) (param $rl i32) (param $lp i32) (param $ll i32) (result i32)
    (i32.store8 (i32.const 512) (local.get $v))
    (i32.store (i32.const 516) (local.get $rp)) (i32.store (i32.const 520) (local.get $rl))
    (i32.store (i32.const 524) (local.get $lp)) (i32.store (i32.const 528) (local.get $ll))
    (i32.const 512))
  ${extra}
  (func (export "evaluate") (param $req i32) (result i32)
    ${body}))`;
}

/** risk > 0.5 (or missing: default 0.3) -> deny high-risk, else permit low-risk. */
export const THRESHOLD_BODY = `(local $r f64)
    (local.set $r (f64.load offset=48 (local.get $req)))
    (if (f64.ne (local.get $r) (local.get $r)) (then (local.set $r (f64.const 0.3))))
    (if (result i32) (f64.gt (local.get $r) (f64.const 0.5))
      (then (call $out (i32.const 3) (i32.const 34) (i32.const 9) (i32.const 22) (i32.const 4)))
      (else (call $out (i32.const 0) (i32.const 26) (i32.const 8) (i32.const 16) (i32.const 6))))`;

export async function componentFromWat(wat: string): Promise<Uint8Array> {
  const m = binaryen.parseText(wat);
  m.setFeatures(binaryen.Features.All);
  const core = m.emitBinary();
  m.dispose();
  return componentNew(await componentEmbed({ binary: core, witSource: WIT, world: 'gate-policy' }));
}

export interface PkgOpts {
  name?: string;
  fuel?: number;
  maxMemoryPages?: number;
  gates?: string[];
  /** Default: the pass `gavel policy build` writes (INSTRUMENTER.pass). */
  pass?: FuelPass;
}

export async function writePackage(dir: string, wat: string, o: PkgOpts = {}): Promise<string> {
  return writeComponentPackage(dir, await componentFromWat(wat), o);
}

export function writeComponentPackage(dir: string, component: Uint8Array, o: PkgOpts = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'component.wasm'), component);
  const manifest = {
    schema: 'gavel.policy/v1',
    name: o.name ?? 'wat-threshold',
    version: '1.0.0',
    world: 'gavel:policy/gate-policy@0.1.0',
    gates: o.gates ?? ['*'],
    fuel: o.fuel ?? 100000,
    maxMemoryPages: o.maxMemoryPages ?? 4,
    component: { file: 'component.wasm', sha256: sha256Hex(component) },
    instrumenter: { ...INSTRUMENTER, pass: o.pass ?? INSTRUMENTER.pass },
  };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return dir;
}

/** Sign manifest.json the way `gavel policy sign` does (appending to an existing envelope). */
export function signPackage(dir: string, key: SignerKey): void {
  const manifest = readFileSync(join(dir, 'manifest.json'));
  let sigs: { keyid: string; sig: string }[] = [];
  try {
    sigs = JSON.parse(readFileSync(join(dir, 'manifest.dsse.json'), 'utf8')).signatures;
  } catch {}
  const sig = sign(key, pae(MANIFEST_PAYLOAD_TYPE, manifest));
  sigs.push({ keyid: formatVerifierKey(key), sig: Buffer.from(sig).toString('base64') });
  writeFileSync(
    join(dir, 'manifest.dsse.json'),
    JSON.stringify({
      payloadType: MANIFEST_PAYLOAD_TYPE,
      payload: manifest.toString('base64'),
      signatures: sigs,
    }),
  );
}

export function newKey(name = 'test.local/op'): SignerKey {
  return generateSigner(name);
}

export const baseRequest = {
  gate: 'tool.execute',
  actor: 'agent-1',
  role: 'operator',
  mode: 'standard',
  posture: 'SCOUT',
  environment: 'dev',
  effect: {},
  context: {},
};
