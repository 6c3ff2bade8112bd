// `gavel policy sign` and `gavel policy verify`: DSSE envelopes over manifest.json (BRIEF "Policy
// contract"), Ed25519 keys in signed-note encodings (chain/keys.ts).
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatVerifierKey, parseSignerKey, sign } from '../../chain/index.js';
import {
  type DsseEnvelope,
  EngineError,
  loadPolicy,
  MANIFEST_PAYLOAD_TYPE,
  pae,
} from '../../engine/index.js';
import { UsageError } from '../errors.js';
import { readTrust, requirePackage } from './package.js';

export async function policySign(pkg: string, o: { key: string; json?: boolean }): Promise<void> {
  requirePackage(pkg);
  const key = parseSignerKey(readFileSync(o.key, 'utf8').trim());
  const manifest = readFileSync(join(pkg, 'manifest.json'));
  const envPath = join(pkg, 'manifest.dsse.json');
  let env: DsseEnvelope = {
    payloadType: MANIFEST_PAYLOAD_TYPE,
    payload: manifest.toString('base64'),
    signatures: [],
  };
  if (existsSync(envPath)) {
    const old = JSON.parse(readFileSync(envPath, 'utf8')) as DsseEnvelope;
    if (old.payload !== env.payload)
      throw new EngineError(
        'TAMPERED',
        `${envPath} signs a different manifest.json: remove it to start a new envelope`,
      );
    env = old;
  }
  const vkey = formatVerifierKey(key);
  const sig = Buffer.from(sign(key, pae(MANIFEST_PAYLOAD_TYPE, manifest))).toString('base64');
  env.signatures = env.signatures.filter((s) => s.keyid !== vkey);
  env.signatures.push({ keyid: vkey, sig });
  const tmp = `${envPath}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(env, null, 2)}\n`);
  renameSync(tmp, envPath);
  if (o.json) console.log(JSON.stringify({ package: pkg, signer: vkey, signatures: env.signatures.length }));
  else console.log(`signed ${pkg} as ${vkey} (${env.signatures.length} signature(s))`);
}

export async function policyVerify(pkg: string, o: { trust?: string; json?: boolean }): Promise<void> {
  requirePackage(pkg);
  if (o.trust === undefined) throw new UsageError('--trust FILE is required');
  const trust = readTrust(o.trust);
  try {
    const p = await loadPolicy(pkg, { trust });
    const out = {
      ok: true,
      name: p.manifest.name,
      version: p.manifest.version,
      sha256: p.sha256,
      operators: p.envelope?.operators ?? [],
      authors: p.envelope?.authors ?? [],
      threshold: trust?.operatorThreshold,
    };
    if (o.json) console.log(JSON.stringify(out));
    else
      console.log(
        `OK ${out.name}@${out.version}: ${out.operators.length}/${out.threshold} operator signature(s), component sha256 ${out.sha256}`,
      );
  } catch (err) {
    const e = err as EngineError;
    if (o.json) console.log(JSON.stringify({ ok: false, code: e.code, message: e.message }));
    else console.error(`REFUSED ${pkg}: ${e.message} [${e.code}]`);
    process.exitCode = 1;
  }
}
