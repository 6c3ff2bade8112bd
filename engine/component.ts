// Reading a policy component: the world it implements (jco's componentWit) and its one core module
// (component binary format, component-model Binary.md: preamble `\0asm` 0d 00 01 00, then
// sections `id:u8 size:u32-leb128 bytes`; id 1 = a core module, embedded whole).
import { componentWit } from '@bytecodealliance/jco';
import { EngineError } from './errors.js';

function leb(buf: Uint8Array, at: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (let i = at; i < buf.length && i < at + 5; i++) {
    const b = buf[i] as number;
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [v, i + 1];
  }
  throw new EngineError('BAD_PACKAGE', 'component.wasm: truncated section header');
}

/** The core modules embedded in a component, in order. */
export function coreModules(component: Uint8Array): Uint8Array[] {
  const magic = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
  if (component.length < 8 || magic.some((b, i) => component[i] !== b))
    throw new EngineError('BAD_PACKAGE', 'component.wasm is not a WebAssembly component (bad preamble)');
  const out: Uint8Array[] = [];
  let at = 8;
  while (at < component.length) {
    const id = component[at] as number;
    const [size, body] = leb(component, at + 1);
    if (body + size > component.length)
      throw new EngineError('BAD_PACKAGE', 'component.wasm: truncated section');
    if (id === 1) out.push(component.subarray(body, body + size));
    at = body + size;
  }
  return out;
}

export const WORLD = 'gavel:policy/gate-policy@0.1.0';
const EXPORT_LINE = 'export evaluate: func(request: gate-request) -> decision;';

/** The component's WIT, checked to be exactly the gate-policy world: imports only the types, exports evaluate. */
export async function checkWorld(
  component: Uint8Array,
): Promise<{ wit: string; imports: string[]; exports: string[] }> {
  let wit: string;
  try {
    wit = await componentWit(component);
  } catch (err) {
    throw new EngineError('BAD_WORLD', `component.wasm: cannot read its WIT: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const lines = wit.split('\n').map((l) => l.trim());
  const imports = lines.filter((l) => l.startsWith('import ')).map((l) => l.slice(7).replace(/;$/, ''));
  const exports = lines.filter((l) => l.startsWith('export ')).map((l) => l.slice(7).replace(/;$/, ''));
  const badImports = imports.filter((i) => i !== 'gavel:policy/types@0.1.0');
  if (badImports.length > 0)
    throw new EngineError(
      'policy_import',
      `the component imports ${badImports.join(', ')}: a policy may import nothing`,
    );
  if (!lines.includes(EXPORT_LINE) || exports.length !== 1)
    throw new EngineError(
      'BAD_WORLD',
      `the component does not implement ${WORLD} (exports: ${exports.join(', ') || 'none'})`,
    );
  return { wit, imports, exports };
}
