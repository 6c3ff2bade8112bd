// `gavel policy inspect`: what a package is, before anyone trusts it.
import { loadPolicy } from '../../engine/index.js';
import { readTrust, requirePackage } from './package.js';

export async function policyInspect(pkg: string, o: { trust?: string; json?: boolean }): Promise<void> {
  requirePackage(pkg);
  const p = await loadPolicy(pkg, { trust: readTrust(o.trust), allowUnsigned: true });
  const info = {
    name: p.manifest.name,
    version: p.manifest.version,
    world: p.manifest.world,
    wit: p.wit,
    gates: p.manifest.gates,
    fuel: p.manifest.fuel,
    maxMemoryPages: p.manifest.maxMemoryPages,
    sha256: p.sha256,
    core: { exports: p.core.exports, imports: p.core.imports, memory: p.core.memory },
    resetMode: p.spec.tracked ? 'dirty-range' : 'full-memory',
    signers: (p.envelope?.checks ?? []).map((c) => ({ keyid: c.keyid, valid: c.valid, role: c.role })),
    manifest: p.manifest,
  };
  if (o.json) {
    console.log(JSON.stringify(info, null, 2));
    return;
  }
  const lines = [
    `${info.name}@${info.version}  (${info.world})`,
    `  component sha256  ${info.sha256}`,
    `  gates             ${info.gates.join(', ')}`,
    `  fuel budget       ${info.fuel}`,
    `  memory            ${info.core.memory.initial}..${info.core.memory.max} pages (manifest cap ${info.maxMemoryPages})`,
    `  core exports      ${info.core.exports.join(', ')}`,
    `  core imports      ${info.core.imports.length === 0 ? '(none)' : info.core.imports.join(', ')}`,
    `  isolation reset   ${info.resetMode}`,
    `  signers           ${info.signers.length === 0 ? '(unsigned)' : ''}`,
    ...info.signers.map((s) => `    ${s.valid ? 'valid  ' : 'INVALID'} ${s.role.padEnd(8)} ${s.keyid}`),
    '  world',
    ...info.wit.split('\n').map((l) => `    ${l}`),
  ];
  console.log(lines.join('\n'));
}
