// The batch decision answer, written straight into one Buffer. Through the route's response schema
// (fast-json-stringify) a 1,000-decision answer was built as a string of thousands of pieces, then
// measured (Buffer.byteLength) and encoded again on the way out: with the ledger, the biggest cost
// of the batch endpoint after the ledger itself. Here the same JSON — the schema's members, in its
// order — is written once as UTF-8, and each policy's `{"name":…,"version":…,"sha256":…}` (the same
// for every decision it made) is written once an answer. test/daemon/answer-json.test.ts checks it
// against the schema's serializer.
import { type ByteSink, putAscii, putMember } from '../chain/index.js';
import type { Answer } from './service.js';
import type { PolicyRef } from './types.js';

/** Upper bound of one answer's bytes besides its policy (members, numbers, hash, escapes). */
function roomFor(a: Answer): number {
  // Member names and punctuation ~70 bytes, two numbers <= 48, the hash 64; a string's UTF-8 and
  // escapes take at most 6 bytes a UTF-16 unit (`\u001f`).
  return 200 + 6 * (a.gate.length + a.reason.length + a.rule.length + a.hash.length);
}

function policyBytes(p: PolicyRef): Buffer {
  // JSON.stringify, not the canonical writer: a manifest's text is whatever its JSON held.
  return Buffer.from(
    `{"name":${JSON.stringify(p.name)},"version":${JSON.stringify(p.version)},"sha256":${JSON.stringify(p.sha256)}}`,
    'utf8',
  );
}

/** A number as JSON.stringify writes it (null when not finite). */
function num(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

/** `{"decisions":[…]}` for `answers`, as the batch route's response schema would serialize it. */
export function batchDecisionsJson(answers: readonly Answer[]): Buffer {
  const policies = new Map<PolicyRef, Buffer>();
  let size = 32;
  for (const a of answers) {
    let bytes = policies.get(a.policy);
    if (bytes === undefined) {
      bytes = policyBytes(a.policy);
      policies.set(a.policy, bytes);
    }
    size += roomFor(a) + bytes.length;
  }
  const sk: ByteSink = { buf: Buffer.allocUnsafe(size), pos: 0 };
  putAscii(sk, '{"decisions":[');
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i] as Answer;
    putMember(sk, i === 0 ? '{"gate":' : ',{"gate":', a.gate);
    putMember(sk, ',"verdict":', a.verdict);
    putMember(sk, ',"reason":', a.reason);
    putMember(sk, ',"rule":', a.rule);
    putAscii(sk, ',"fuel":');
    putAscii(sk, num(a.fuel));
    putAscii(sk, ',"policy":');
    sk.pos += (policies.get(a.policy) as Buffer).copy(sk.buf, sk.pos);
    putAscii(sk, ',"seq":');
    putAscii(sk, num(a.seq));
    putMember(sk, ',"hash":', a.hash);
    putAscii(sk, '}');
  }
  putAscii(sk, ']}');
  return sk.buf.subarray(0, sk.pos);
}
