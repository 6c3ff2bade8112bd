// Fuel metering and reset hooks injected with binaryen (exact pin 130.0.0: fuel counts depend on it).
//
// gavel-fuel/v1 (CONVENTIONS "binaryen.js"): the `log-execution` pass calls env.log_execution at
// every function entry, loop header and function exit; we replace that import with an internal
// function `fuel -= 1; if (fuel < 0) unreachable` and inline it. The fuel global starts at the
// budget so a start function is bounded too.
// Isolation (engine/README.md): every mutable global gets a shadow copy (`gavel$snap` saves,
// `gavel$reset` restores); when the module uses no bulk-memory ops, `instrument-memory` routes every
// store address through env.store_ptr, replaced by an inlined low/high-water-mark update, so the host
// restores only the dirty bytes [lo, hi) from its snapshot after each evaluation. Modules with
// bulk-memory ops get a full restore of their initial memory instead (correct, slower).
import binaryen from 'binaryen';
import { EngineError } from './errors.js';
import { fuelInLocals } from './fuel-local.js';

/** What `gavel policy build` writes into manifests: the newest pass. */
export const INSTRUMENTER = { name: 'binaryen', version: '130.0.0', pass: 'gavel-fuel/v2' } as const;
/** Every pass this engine implements; a manifest names the one its recorded fuel was counted with. */
export const FUEL_PASSES = ['gavel-fuel/v1', 'gavel-fuel/v2'] as const;
export type FuelPass = (typeof FUEL_PASSES)[number];
/** Engine-wide memory cap in 64 KiB pages (16 MiB) on top of the manifest's maxMemoryPages. */
export const MEMORY_CAP_PAGES = 256;
const INLINE_MAX_SIZE = 48;

export interface CoreFacts {
  imports: string[];
  exports: string[];
  memory: { initial: number; max: number | undefined };
}
export interface Instrumented {
  wasm: Uint8Array;
  tracked: boolean;
  facts: CoreFacts;
  /** gavel-fuel/v2 only: functions whose counter lives in a local, and those left as v1 had them. */
  fuelLocals?: { rewritten: number; skipped: number };
}

/** Imports, exports and memory of a core module, without changing it. */
export function inspectCore(core: Uint8Array): CoreFacts {
  const m = binaryen.readBinary(core);
  try {
    return facts(m);
  } finally {
    m.dispose();
  }
}

function facts(m: binaryen.Module): CoreFacts {
  const imports: string[] = [];
  for (let i = 0; i < m.getNumFunctions(); i++) {
    const f = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
    if (f.module) imports.push(`${f.module}.${f.base} (func)`);
  }
  for (let i = 0; i < m.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
    if (g.module) imports.push(`${g.module}.${g.base} (global)`);
  }
  for (let i = 0; i < m.getNumTables(); i++) {
    const t = binaryen.getTableInfo(m.getTableByIndex(i));
    if (t.module) imports.push(`${t.module}.${t.base} (table)`);
  }
  const exports: string[] = [];
  for (let i = 0; i < m.getNumExports(); i++)
    exports.push(binaryen.getExportInfo(m.getExportByIndex(i)).name);
  let memory: CoreFacts['memory'] = { initial: 0, max: undefined };
  if (m.hasMemory()) {
    const mi = m.getMemoryInfo() as {
      module: string | null;
      base: string | null;
      initial: number;
      max?: number;
      is64?: boolean;
    };
    if (mi.module) imports.push(`${mi.module}.${mi.base} (memory)`);
    if (mi.is64) throw new EngineError('memory_limit', 'memory64 is not supported');
    memory = {
      initial: mi.initial,
      max: mi.max === undefined || mi.max < 0 || mi.max >= 65536 ? undefined : mi.max,
    };
  }
  return { imports, exports, memory };
}

/** Check a core module against the ABI and the memory cap, then inject fuel and reset hooks. */
export function instrument(
  core: Uint8Array,
  opts: {
    fuel: number;
    maxMemoryPages: number;
    /**
     * Track written bytes so only those are restored (default true). Without it the runtime restores
     * the whole memory after each call: still isolated, slower. The benchmark turns it off to
     * measure fuel metering alone.
     */
    trackStores?: boolean;
    /** Default: the newest (INSTRUMENTER.pass). */
    pass?: FuelPass;
  },
): Instrumented {
  const pass = opts.pass ?? INSTRUMENTER.pass;
  if (!FUEL_PASSES.includes(pass))
    throw new EngineError(
      'BAD_PACKAGE',
      `unknown fuel pass ${String(pass)} (known: ${FUEL_PASSES.join(', ')})`,
    );
  const m = binaryen.readBinary(core);
  try {
    m.setFeatures(binaryen.Features.All);
    const f = facts(m);
    if (f.imports.length > 0)
      throw new EngineError(
        'policy_import',
        `the core module imports ${f.imports.join(', ')}: a policy may import nothing`,
      );
    for (const e of ['memory', 'cabi_realloc', 'evaluate'])
      if (!f.exports.includes(e)) throw new EngineError('BAD_WORLD', `the core module does not export ${e}`);
    if (f.memory.max === undefined)
      throw new EngineError(
        'memory_limit',
        'the module declares no maximum memory (AssemblyScript: --maximumMemory N)',
      );
    const cap = Math.min(opts.maxMemoryPages, MEMORY_CAP_PAGES);
    if (f.memory.max > cap)
      throw new EngineError(
        'memory_limit',
        `the module's maximum memory ${f.memory.max} pages exceeds the cap of ${cap} pages`,
      );

    // Bulk-memory writes (memory.copy/fill, AssemblyScript uses both) do not pass through store hooks:
    // lower them into plain load/store loops first (fuel-metered like any loop), then every write is
    // tracked. memory.init would still escape: such modules get a full-memory restore.
    // (the pass asserts on the "All" feature set; only the bulk-memory bits matter to it)
    m.setFeatures(binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt);
    m.runPasses(['llvm-memory-copy-fill-lowering']);
    m.setFeatures(binaryen.Features.All);
    const tracked = opts.trackStores !== false && !/\bmemory\.init\b/.test(m.emitText());
    const mutables: { name: string; type: number }[] = [];
    for (let i = 0; i < m.getNumGlobals(); i++) {
      const g = binaryen.getGlobalInfo(m.getGlobalByIndex(i));
      if (g.mutable) mutables.push({ name: g.name, type: g.type });
    }

    m.runPasses(tracked ? ['log-execution', 'instrument-memory'] : ['log-execution']);
    const i32 = binaryen.i32;
    const FUEL = 'gavel$fuel';
    const LO = 'gavel$lo';
    const HI = 'gavel$hi';
    const LLO = 'gavel$llo';
    const LHI = 'gavel$lhi';
    const SPLIT = 'gavel$split';
    const ALO = 'gavel$alo';
    const AHI = 'gavel$ahi';
    m.addGlobal(FUEL, i32, true, m.i32.const(Math.min(opts.fuel, 0x7fffffff)));
    m.addGlobal(LO, i32, true, m.i32.const(-1));
    m.addGlobal(HI, i32, true, m.i32.const(0));
    m.addGlobal(LLO, i32, true, m.i32.const(-1));
    m.addGlobal(LHI, i32, true, m.i32.const(0));
    m.addGlobal(SPLIT, i32, true, m.i32.const(0));
    m.addGlobal(ALO, i32, true, m.i32.const(-1));
    m.addGlobal(AHI, i32, true, m.i32.const(0));

    const replace = (
      name: string,
      params: number[],
      result: number,
      body: binaryen.ExpressionRef,
      vars: number[] = [],
    ) => {
      m.removeFunction(name);
      m.addFunction(name, binaryen.createType(params), result, vars, body);
    };
    replace(
      'log_execution',
      [i32],
      binaryen.none,
      m.block(null, [
        m.global.set(FUEL, m.i32.sub(m.global.get(FUEL, i32), m.i32.const(1))),
        m.if(m.i32.lt_s(m.global.get(FUEL, i32), m.i32.const(0)), m.unreachable()),
      ]),
    );
    if (tracked) {
      // store_ptr(id, bytes, offset, ptr) -> ptr; address = ptr + offset.
      const addr = () => m.i32.add(m.local.get(3, i32), m.local.get(2, i32));
      replace(
        'store_ptr',
        [i32, i32, i32, i32],
        i32,
        m.block(
          null,
          [
            // Two water marks, split at the heap start the host reports (gavel$split): static data
            // writes low in memory and the allocator's writes high up stay two small ranges.
            m.local.set(5, addr()),
            m.local.set(4, m.i32.add(m.local.get(5, i32), m.local.get(1, i32))),
            m.if(
              m.i32.lt_u(m.local.get(5, i32), m.global.get(SPLIT, i32)),
              m.block(null, [
                m.if(
                  m.i32.lt_u(m.local.get(5, i32), m.global.get(LLO, i32)),
                  m.global.set(LLO, m.local.get(5, i32)),
                ),
                m.if(
                  m.i32.gt_u(m.local.get(4, i32), m.global.get(LHI, i32)),
                  m.global.set(LHI, m.local.get(4, i32)),
                ),
              ]),
              m.block(null, [
                m.if(
                  m.i32.lt_u(m.local.get(5, i32), m.global.get(LO, i32)),
                  m.global.set(LO, m.local.get(5, i32)),
                ),
                m.if(
                  m.i32.gt_u(m.local.get(4, i32), m.global.get(HI, i32)),
                  m.global.set(HI, m.local.get(4, i32)),
                ),
              ]),
            ),
            m.local.get(3, i32),
          ],
          i32,
        ),
        [i32, i32],
      );
      replace('load_ptr', [i32, i32, i32, i32], i32, m.local.get(3, i32));
      for (const [t, ty] of [
        ['i32', i32],
        ['i64', binaryen.i64],
        ['f32', binaryen.f32],
        ['f64', binaryen.f64],
      ] as const) {
        replace(`load_val_${t}`, [i32, ty], ty, m.local.get(1, ty));
        replace(`store_val_${t}`, [i32, ty], ty, m.local.get(1, ty));
      }
      // Every other hook of the pass (memory.grow, GC field access) passes its last argument through.
      for (let i = m.getNumFunctions() - 1; i >= 0; i--) {
        const fi = binaryen.getFunctionInfo(m.getFunctionByIndex(i));
        if (fi.module !== 'env') continue;
        const params = binaryen.expandType(fi.params);
        const last = params.length - 1;
        if (last < 0 || params[last] !== fi.results)
          throw new EngineError('BAD_PACKAGE', `instrumentation left an unexpected hook env.${fi.base}`);
        replace(fi.name, params, fi.results, m.local.get(last, fi.results));
      }
    }
    // Shadows of the policy's mutable globals, and the host-facing helpers.
    const snap: binaryen.ExpressionRef[] = [];
    for (const g of mutables) {
      const shadow = `gavel$init$${g.name}`;
      m.addGlobal(shadow, g.type, true, zero(m, g.type));
      snap.push(m.global.set(shadow, m.global.get(g.name, g.type)));
    }
    const fn = (name: string, params: number[], result: number, body: binaryen.ExpressionRef) => {
      m.addFunction(name, binaryen.createType(params), result, [], body);
      m.addFunctionExport(name, name);
    };
    fn('gavel$snap', [], binaryen.none, snap.length ? m.block(null, snap) : m.nop());
    const mkReset = () => [
      ...mutables.map((g) => m.global.set(g.name, m.global.get(`gavel$init$${g.name}`, g.type))),
      m.global.set(LO, m.i32.const(-1)),
      m.global.set(HI, m.i32.const(0)),
      m.global.set(LLO, m.i32.const(-1)),
      m.global.set(LHI, m.i32.const(0)),
      m.global.set(ALO, m.i32.const(-1)),
      m.global.set(AHI, m.i32.const(0)),
    ];
    fn('gavel$reset', [], binaryen.none, m.block(null, mkReset()));
    fn('gavel$set_fuel', [i32], binaryen.none, m.global.set(FUEL, m.local.get(0, i32)));
    fn('gavel$get_fuel', [], i32, m.global.get(FUEL, i32));
    // Fewer host<->wasm crossings on the hot path: begin = set fuel + allocate the request;
    // end = the dirty range packed in an f64 (lo * 2^25 + hi, each clamped to 2^24) + reset globals.
    const realloc = exported(m, 'cabi_realloc');
    const f64 = binaryen.f64;
    const clamp = (v: binaryen.ExpressionRef) =>
      m.f64.convert_u.i32(m.select(m.i32.gt_u(v, m.i32.const(1 << 24)), m.i32.const(1 << 24), v));
    // begin also moves what the allocator wrote (e.g. a block header just below the request) into a
    // range of its own (gavel$alloc_range), so the host can tell the guest's writes around the
    // request from writes into it.
    fn(
      'gavel$begin',
      [i32, i32],
      i32,
      m.block(
        null,
        [
          m.global.set(FUEL, m.local.get(0, i32)),
          m.local.set(
            1,
            m.call(realloc, [m.i32.const(0), m.i32.const(0), m.i32.const(8), m.local.get(1, i32)], i32),
          ),
          m.global.set(ALO, m.global.get(LO, i32)),
          m.global.set(AHI, m.global.get(HI, i32)),
          m.global.set(LO, m.i32.const(-1)),
          m.global.set(HI, m.i32.const(0)),
          m.local.get(1, i32),
        ],
        i32,
      ),
    );
    const pack = (lo: string, hi: string) =>
      m.f64.add(m.f64.mul(clamp(m.global.get(lo, i32)), m.f64.const(2 ** 25)), clamp(m.global.get(hi, i32)));
    fn('gavel$low', [], f64, pack(LLO, LHI));
    fn('gavel$alloc_range', [], f64, pack(ALO, AHI));
    fn('gavel$set_split', [i32], binaryen.none, m.global.set(SPLIT, m.local.get(0, i32)));
    const endBody = [
      m.local.set(
        0,
        m.f64.add(
          m.f64.mul(clamp(m.global.get(LO, i32)), m.f64.const(2 ** 25)),
          clamp(m.global.get(HI, i32)),
        ),
      ),
      ...mkReset(),
      m.local.get(0, f64),
    ];
    m.addFunction('gavel$end', binaryen.none, f64, [f64], m.block(null, endBody, f64));
    m.addFunctionExport('gavel$end', 'gavel$end');
    if (tracked) {
      // finish(zeroFrom, hostLo, hostHi) -> 1: the allocator's range, the heap range and the host's
      // request bytes [hostLo, hostHi) (-1, 0 when none) all lie at or above zeroFrom (where the
      // post-start memory holds only zeros) and inside the memory: the smallest range holding the
      // three is zero-filled here in one native fill (bytes between them were not written this call,
      // so they are zeros already) and the globals reset, as gavel$end would. -> 0: nothing done; the
      // host restores as before (alloc range, end, its request bytes). The low range (static data) is
      // the host's to restore either way.
      const memName = exported(m, 'memory');
      const LOC_SIZE = 3;
      const LOC_LO = 4;
      const LOC_HI = 5;
      const loc = (index: number) => m.local.get(index, i32);
      const lower = (v: binaryen.ExpressionRef) =>
        m.if(m.i32.lt_u(v, loc(LOC_LO)), m.local.set(LOC_LO, m.copyExpression(v)));
      const raise = (v: binaryen.ExpressionRef) =>
        m.if(m.i32.gt_u(v, loc(LOC_HI)), m.local.set(LOC_HI, m.copyExpression(v)));
      m.addFunction(
        'gavel$finish',
        binaryen.createType([i32, i32, i32]),
        i32,
        [i32, i32, i32],
        m.block(
          null,
          [
            m.local.set(LOC_SIZE, m.i32.shl(m.memory.size(memName), m.i32.const(16))),
            m.local.set(LOC_LO, m.global.get(ALO, i32)),
            m.local.set(LOC_HI, m.global.get(AHI, i32)),
            lower(m.global.get(LO, i32)),
            raise(m.global.get(HI, i32)),
            lower(loc(1)),
            raise(loc(2)),
            m.if(
              m.i32.lt_u(loc(LOC_LO), loc(LOC_HI)),
              m.block(null, [
                m.if(
                  m.i32.or(m.i32.lt_u(loc(LOC_LO), loc(0)), m.i32.gt_u(loc(LOC_HI), loc(LOC_SIZE))),
                  m.return(m.i32.const(0)),
                ),
                m.memory.fill(loc(LOC_LO), m.i32.const(0), m.i32.sub(loc(LOC_HI), loc(LOC_LO)), memName),
              ]),
            ),
            ...mkReset(),
            m.i32.const(1),
          ],
          i32,
        ),
      );
      m.addFunctionExport('gavel$finish', 'gavel$finish');
    }

    // Inline the hooks (size-bounded inlining; fuel was already placed, so counts do not change).
    // 48 is the smallest bound that takes in the two-range store hook (~40 nodes): called, it cost
    // the constitution a third of its evaluation time (2.96 -> 1.94 us a decision, same fuel).
    binaryen.setAlwaysInlineMaxSize(INLINE_MAX_SIZE);
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(0);
    m.runPasses(['inlining-optimizing']);
    if (m.validate() !== 1) throw new EngineError('BAD_PACKAGE', 'the instrumented module does not validate');
    const wasm = m.emitBinary();
    if (pass === 'gavel-fuel/v2') {
      // The binary lists globals in the module's order and a policy imports none: the index is the
      // position among the module's globals.
      let index = -1;
      for (let i = 0; i < m.getNumGlobals() && index < 0; i++)
        if (binaryen.getGlobalInfo(m.getGlobalByIndex(i)).name === FUEL) index = i;
      const r = fuelInLocals(wasm, index);
      if (!WebAssembly.validate(r.wasm))
        throw new EngineError('BAD_PACKAGE', 'the gavel-fuel/v2 module does not validate');
      return { wasm: r.wasm, tracked, facts: f, fuelLocals: { rewritten: r.rewritten, skipped: r.skipped } };
    }
    return { wasm, tracked, facts: f };
  } finally {
    m.dispose();
  }
}

/** The internal name of what the module exports as `name` ('' when nothing is). */
function exported(m: binaryen.Module, name: string): string {
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = binaryen.getExportInfo(m.getExportByIndex(i));
    if (e.name === name) return e.value;
  }
  return '';
}

function zero(m: binaryen.Module, t: number): binaryen.ExpressionRef {
  if (t === binaryen.i32) return m.i32.const(0);
  if (t === binaryen.i64) return (m.i64.const as unknown as (v: bigint) => binaryen.ExpressionRef)(0n);
  if (t === binaryen.f32) return m.f32.const(0);
  if (t === binaryen.f64) return m.f64.const(0);
  throw new EngineError('BAD_PACKAGE', 'mutable globals of reference or vector type are not supported');
}

/** The same module uninstrumented but compiled with the same optimisation, for the overhead bench. */
export function optimizeOnly(core: Uint8Array): Uint8Array {
  const m = binaryen.readBinary(core);
  try {
    m.setFeatures(binaryen.Features.All);
    binaryen.setAlwaysInlineMaxSize(INLINE_MAX_SIZE);
    binaryen.setOptimizeLevel(2);
    m.runPasses(['inlining-optimizing']);
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}
