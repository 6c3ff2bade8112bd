// The default constitution (rules documented in policies/constitution/README.md; the gate table in
// gates.json, compiled into table.ts). Order of rules: unknown gate, posture, mode -> effect defaults
// and range -> SCOUT on mutating gates -> per-dimension thresholds, then the L2 norm -> DEFENSE on
// outbound/destructive/elevating gates -> OFFENSE permits with a warning.
import { cabi_realloc, Decision, deny, escalate, handle, num, permit, Request, warn } from '../../sdk/index';
import {
  DEFAULTS,
  DIMENSION_NAMES,
  ENV_MUL,
  ENV_NAMES,
  FLAGS,
  GATE_NAMES,
  L2,
  MODE_MUL,
  MODE_NAMES,
  OVER_DENY,
  THRESHOLDS,
  UNKNOWN_ENV_MUL,
} from './table';

export { cabi_realloc };

const MUTATING: u8 = 1;
const OUTBOUND: u8 = 2;
const DESTRUCTIVE: u8 = 4;
const ELEVATING: u8 = 8;

function indexOf(req: Request, field: i32, names: string[]): i32 {
  for (let i = 0; i < names.length; i++) if (req.fieldIs(field, unchecked(names[i]))) return i;
  return -1;
}

function decide(req: Request): Decision {
  const g = indexOf(req, 0, GATE_NAMES);
  if (g < 0) return deny('unknown gate ' + req.gate + ': the constitution serves only its 21 gates', 'gate.unknown');
  // Postures compared as bytes: decoding the string on every call costs more than the decision.
  const scout = req.fieldIs(4, 'scout');
  const defense = req.fieldIs(4, 'defense');
  const offense = req.fieldIs(4, 'offense');
  if (!scout && !defense && !offense)
    return deny('unknown posture ' + req.posture + ' (scout, defense or offense)', 'posture.unknown');
  const m = indexOf(req, 3, MODE_NAMES);
  if (m < 0) return deny('unknown mode ' + req.mode, 'mode.unknown');
  const e = indexOf(req, 5, ENV_NAMES);
  const mul = (e < 0 ? UNKNOWN_ENV_MUL : unchecked(ENV_MUL[e])) * unchecked(MODE_MUL[m]);
  const v = new StaticArray<f64>(5);
  for (let i = 0; i < 5; i++) {
    const x = req.effectOr(i, unchecked(DEFAULTS[g * 5 + i]));
    if (!(x >= 0 && x <= 1)) return deny(unchecked(DIMENSION_NAMES[i]) + ' must be within 0..1', 'effect.invalid');
    unchecked((v[i] = x));
  }
  const flags = unchecked(FLAGS[g]);
  const gate = unchecked(GATE_NAMES[g]);
  if (scout && (flags & MUTATING) != 0)
    return deny('SCOUT posture is read-only: ' + gate + ' mutates state', 'posture.scout.mutating');

  let over: i32 = -1;
  let limit: f64 = 0;
  for (let i = 0; i < 5 && over < 0; i++) {
    const t = unchecked(THRESHOLDS[g * 5 + i]) * mul;
    if (unchecked(v[i]) > t) {
      over = i;
      limit = t;
    }
  }
  let rule = '';
  let why = '';
  if (over >= 0) {
    rule = 'threshold.' + unchecked(DIMENSION_NAMES[over]);
    why = unchecked(DIMENSION_NAMES[over]) + ' ' + num(unchecked(v[over])) + ' over its threshold ' + num(limit);
  } else {
    let sq: f64 = 0;
    for (let i = 0; i < 5; i++) sq += unchecked(v[i]) * unchecked(v[i]);
    const l2 = Math.sqrt(sq);
    const t = unchecked(L2[g]) * mul;
    if (l2 > t) {
      rule = 'threshold.l2';
      why = 'L2 score ' + num(l2) + ' over its threshold ' + num(t);
    }
  }
  if (rule.length > 0) {
    if (req.fieldIs(3, 'high-security') || unchecked(OVER_DENY[g]) == 1) return deny(gate + ': ' + why, rule);
    if (offense) return warn(gate + ': ' + why + ' (OFFENSE posture: permitted, logged)', 'posture.offense.override');
    return escalate(gate + ': ' + why, rule);
  }
  if (defense) {
    if ((flags & OUTBOUND) != 0) return escalate('DEFENSE posture: ' + gate + ' is outbound', 'posture.defense.outbound');
    if ((flags & DESTRUCTIVE) != 0) return escalate('DEFENSE posture: ' + gate + ' is destructive', 'posture.defense.destructive');
    if ((flags & ELEVATING) != 0) return escalate('DEFENSE posture: ' + gate + ' elevates authority', 'posture.defense.elevating');
  }
  if (offense) return warn(gate + ': within thresholds (OFFENSE posture: logged)', 'posture.offense.logged');
  return permit(gate + ': every dimension within its threshold', 'permit.within_thresholds');
}

export function evaluate(ptr: usize): usize {
  return handle(ptr, decide);
}
