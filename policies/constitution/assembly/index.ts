// The default constitution (rules documented in policies/constitution/README.md; the gate table in
// gates.json, compiled into table.ts). Order of rules: unknown gate, posture, mode -> effect defaults
// and range -> SCOUT on mutating gates -> per-dimension thresholds, then the L2 norm -> DEFENSE on
// outbound/destructive/elevating gates -> OFFENSE permits with a warning.
import { cabi_realloc, Decision, decision, deny, handle, Name, name, Request, Text, text, Verdict } from '../../sdk/index';
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

// Every reason that does not depend on the request's numbers, built once at instantiation (the
// engine snapshots memory after start, so these cost nothing per evaluation).
function perGate(prefix: string, suffix: string): Text[] {
  const out = new Array<Text>(GATE_NAMES.length);
  for (let g = 0; g < GATE_NAMES.length; g++) unchecked((out[g] = text(prefix + unchecked(GATE_NAMES[g]) + suffix)));
  return out;
}
const GATE_PREFIX = perGate('', ': ');
const PERMIT_WHY = perGate('', ': every dimension within its threshold');
const OFFENSE_WHY = perGate('', ': within thresholds (OFFENSE posture: logged)');
const SCOUT_WHY = perGate('SCOUT posture is read-only: ', ' mutates state');
const OUTBOUND_WHY = perGate('DEFENSE posture: ', ' is outbound');
const DESTRUCTIVE_WHY = perGate('DEFENSE posture: ', ' is destructive');
const ELEVATING_WHY = perGate('DEFENSE posture: ', ' elevates authority');
const THRESHOLD_RULE: Text[] = [
  text('threshold.risk'),
  text('threshold.fairness'),
  text('threshold.privacy'),
  text('threshold.novelty'),
  text('threshold.security'),
];
const L2_RULE = text('threshold.l2');
const PERMIT_RULE = text('permit.within_thresholds');
const OFFENSE_RULE = text('posture.offense.logged');
const OVERRIDE_RULE = text('posture.offense.override');
const SCOUT_RULE = text('posture.scout.mutating');
const OUTBOUND_RULE = text('posture.defense.outbound');
const DESTRUCTIVE_RULE = text('posture.defense.destructive');
const ELEVATING_RULE = text('posture.defense.elevating');
// Pieces of the numbered reasons, as texts (appended eight bytes a store).
const DIMENSION_THEN: Text[] = DIMENSION_NAMES.map<Text>((d) => text(d + ' '));
const OVER_ITS = text(' over its threshold ');
const L2_SCORE = text('L2 score ');
const OFFENSE_LOGGED = text(' (OFFENSE posture: permitted, logged)');

// Names compared with request fields, as UTF-8 (eight bytes a step).
function names(xs: string[]): Name[] {
  return xs.map<Name>((x) => name(x));
}
const GATES = names(GATE_NAMES);
const MODES = names(MODE_NAMES);
const ENVIRONMENTS = names(ENV_NAMES);
const SCOUT = name('scout');
const DEFENSE = name('defense');
const OFFENSE = name('offense');
const HIGH_SECURITY = name('high-security');

function decide(req: Request): Decision {
  const g = req.indexOf(0, GATES);
  if (g < 0) return deny('unknown gate ' + req.gate + ': the constitution serves only its 21 gates', 'gate.unknown');
  // Postures compared as bytes: decoding the string on every call costs more than the decision.
  const scout = req.is(4, SCOUT);
  const defense = req.is(4, DEFENSE);
  const offense = req.is(4, OFFENSE);
  if (!scout && !defense && !offense)
    return deny('unknown posture ' + req.posture + ' (scout, defense or offense)', 'posture.unknown');
  const m = req.indexOf(3, MODES);
  if (m < 0) return deny('unknown mode ' + req.mode, 'mode.unknown');
  const e = req.indexOf(5, ENVIRONMENTS);
  const mul = (e < 0 ? UNKNOWN_ENV_MUL : unchecked(ENV_MUL[e])) * unchecked(MODE_MUL[m]);
  // One pass, no array: every dimension is range-checked (effect.invalid comes before SCOUT and the
  // thresholds), and the first over its threshold and the squares for the L2 score are kept.
  let over: i32 = -1;
  let value: f64 = 0;
  let limit: f64 = 0;
  let sq: f64 = 0;
  for (let i = 0; i < 5; i++) {
    const x = req.effectOr(i, unchecked(DEFAULTS[g * 5 + i]));
    if (!(x >= 0 && x <= 1)) return deny(unchecked(DIMENSION_NAMES[i]) + ' must be within 0..1', 'effect.invalid');
    sq += x * x;
    if (over < 0) {
      const t = unchecked(THRESHOLDS[g * 5 + i]) * mul;
      if (x > t) {
        over = i;
        value = x;
        limit = t;
      }
    }
  }
  const flags = unchecked(FLAGS[g]);
  if (scout && (flags & MUTATING) != 0) return decision(Verdict.Deny, unchecked(SCOUT_WHY[g]), SCOUT_RULE);

  // Over a threshold: "<gate>: <dimension> <value> over its threshold <limit>" (or the L2 score).
  let why: Text | null = null;
  let rule: Text = L2_RULE;
  if (over >= 0) {
    rule = unchecked(THRESHOLD_RULE[over]);
    why = new Text()
      .append(unchecked(GATE_PREFIX[g]))
      .append(unchecked(DIMENSION_THEN[over]))
      .num(value)
      .append(OVER_ITS)
      .num(limit);
  } else {
    const l2 = Math.sqrt(sq);
    const t = unchecked(L2[g]) * mul;
    if (l2 > t)
      why = new Text().append(unchecked(GATE_PREFIX[g])).append(L2_SCORE).num(l2).append(OVER_ITS).num(t);
  }
  if (why !== null) {
    if (req.is(3, HIGH_SECURITY) || unchecked(OVER_DENY[g]) == 1) return decision(Verdict.Deny, why, rule);
    if (offense)
      return decision(Verdict.PermitWithWarning, why.append(OFFENSE_LOGGED), OVERRIDE_RULE);
    return decision(Verdict.Escalate, why, rule);
  }
  if (defense) {
    if ((flags & OUTBOUND) != 0) return decision(Verdict.Escalate, unchecked(OUTBOUND_WHY[g]), OUTBOUND_RULE);
    if ((flags & DESTRUCTIVE) != 0) return decision(Verdict.Escalate, unchecked(DESTRUCTIVE_WHY[g]), DESTRUCTIVE_RULE);
    if ((flags & ELEVATING) != 0) return decision(Verdict.Escalate, unchecked(ELEVATING_WHY[g]), ELEVATING_RULE);
  }
  if (offense) return decision(Verdict.PermitWithWarning, unchecked(OFFENSE_WHY[g]), OFFENSE_RULE);
  return decision(Verdict.Permit, unchecked(PERMIT_WHY[g]), PERMIT_RULE);
}

export function evaluate(ptr: usize): usize {
  return handle(ptr, decide);
}
