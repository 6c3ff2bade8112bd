// `gavel policy build`: compiles every policy under policies/ (a folder with a policy.json) with
// AssemblyScript, makes it a component of gavel:policy/gate-policy with jco's programmatic API
// (componentEmbed + componentNew; the 1.35 CLI cannot read --wit paths), and writes component.wasm
// and a deterministic manifest.json to <out>/<name>/. Run by `npm install` (prepare).

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { INSTRUMENTER, inspectCore } from '../engine/index.js';
import { loadConstitution, tableSource } from './constitution.js';
import { POLICIES, REPO } from './paths.js';

const ASCONFIG = path.join(REPO, 'asconfig.json');

export const WORLD = 'gavel:policy/gate-policy@0.1.0';

interface PolicyJson {
  name: string;
  version: string;
  description?: string;
  entry: string;
  gates?: string[];
  gatesFrom?: string;
  fuel: number;
  maxMemoryPages: number;
}

export interface Built {
  name: string;
  dir: string;
  sha256: string;
  bytes: number;
}

export class BuildError extends Error {
  readonly code = 'POLICY_BUILD';
  readonly exitCode = 1;
}

function policyDirs(): string[] {
  const out: string[] = [];
  const walk = (d: string, depth: number) => {
    if (existsSync(path.join(d, 'policy.json'))) out.push(d);
    if (depth > 2) return;
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory() && !['build', 'sdk', 'wit', 'node_modules', 'assembly'].includes(e.name))
        walk(path.join(d, e.name), depth + 1);
  };
  walk(POLICIES, 0);
  return out.sort();
}

/** One AssemblyScript entry file compiled with the shared options (asconfig.json): the core module. */
export async function compileAssemblyScript(entry: string, maxPages: number): Promise<Uint8Array> {
  const asc = (await import('assemblyscript/asc')).default;
  let binary: Uint8Array | undefined;
  let errors = '';
  const { error } = await asc.main(
    [
      entry,
      // The compiler options every policy shares (runtime, no bulk memory, optimisation) live in
      // asconfig.json at the project root; the memory maximum comes from each policy.json.
      '--config',
      ASCONFIG,
      '--maximumMemory',
      String(maxPages),
      '--outFile',
      'out.wasm',
    ],
    {
      writeFile: (name: string, contents: Uint8Array | string) => {
        if (name.endsWith('.wasm')) binary = contents as Uint8Array;
      },
      stderr: {
        write: (s: string | Uint8Array) => {
          errors += String(s);
          return true;
        },
      } as unknown as NodeJS.WritableStream,
      stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    } as unknown as Parameters<typeof asc.main>[1],
  );
  if (error || binary === undefined)
    throw new BuildError(`asc failed for ${entry}:\n${errors || String(error)}`);
  return binary;
}

function checkCore(core: Uint8Array, where: string, maxPages: number): void {
  const facts = inspectCore(core);
  if (facts.imports.length > 0)
    throw new BuildError(
      `${where}: the core module imports ${facts.imports.join(', ')}; policies may import nothing`,
    );
  for (const need of ['memory', 'cabi_realloc', 'evaluate'])
    if (!facts.exports.includes(need))
      throw new BuildError(`${where}: the core module does not export ${need}`);
  if (facts.memory.max === undefined) throw new BuildError(`${where}: the memory has no maximum`);
  if (facts.memory.max > maxPages)
    throw new BuildError(
      `${where}: the memory maximum ${facts.memory.max} is over policy.json's ${maxPages} pages`,
    );
}

export async function buildPolicies(
  opts: { out?: string; only?: string; log?: (s: string) => void } = {},
): Promise<Built[]> {
  const { componentEmbed, componentNew } = await import('@bytecodealliance/jco');
  const wit = readFileSync(path.join(POLICIES, 'wit', 'gate.wit'), 'utf8');
  const out = opts.out ?? path.join(POLICIES, 'build');
  const built: Built[] = [];
  for (const dir of policyDirs()) {
    const p = JSON.parse(readFileSync(path.join(dir, 'policy.json'), 'utf8')) as PolicyJson;
    if (opts.only !== undefined && p.name !== opts.only) continue;
    let gates = p.gates ?? [];
    if (p.gatesFrom !== undefined) {
      const c = loadConstitution(path.join(dir, p.gatesFrom));
      writeFileSync(path.join(dir, 'assembly', 'table.ts'), tableSource(c));
      gates = c.gates.map((g) => g.gate);
    }
    const core = await compileAssemblyScript(path.join(dir, p.entry), p.maxMemoryPages);
    checkCore(core, p.name, p.maxMemoryPages);
    const component = await componentNew(
      await componentEmbed({ binary: core, witSource: wit, world: 'gate-policy' }),
    );
    const sha256 = createHash('sha256').update(component).digest('hex');
    const target = path.join(out, p.name);
    mkdirSync(target, { recursive: true });
    writeFileSync(path.join(target, 'component.wasm'), component);
    const manifest = {
      schema: 'gavel.policy/v1',
      name: p.name,
      version: p.version,
      world: WORLD,
      gates,
      fuel: p.fuel,
      maxMemoryPages: p.maxMemoryPages,
      component: { file: 'component.wasm', sha256 },
      instrumenter: { ...INSTRUMENTER },
      ...(p.description !== undefined ? { description: p.description } : {}),
    };
    writeFileSync(path.join(target, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    opts.log?.(
      `built ${p.name} ${p.version}: ${gates.length} gates, ${component.length} bytes, sha256 ${sha256.slice(0, 16)}... -> ${target}`,
    );
    built.push({ name: p.name, dir: target, sha256, bytes: component.length });
  }
  if (opts.only !== undefined && built.length === 0)
    throw new BuildError(`no policy named ${opts.only} under ${POLICIES}`);
  return built;
}

// `node dist/scripts/build-policies.js` (npm install's prepare step).
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const t0 = Date.now();
  const built = await buildPolicies({ log: (s) => process.stdout.write(`${s}\n`) });
  process.stdout.write(`gavel: ${built.length} policies built in ${Date.now() - t0} ms\n`);
}
