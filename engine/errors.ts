// The engine's one error type. Codes are stable; the CLI and daemon map them to exit/status codes.
// Load-time refusals carry the same reason codes a policy decision would (policy_import,
// memory_limit, ...) plus the signature/trust codes (UNSIGNED, BAD_SIGNATURE, TAMPERED,
// UNTRUSTED_KEY, BELOW_THRESHOLD, BAD_PACKAGE, BAD_WORLD, BAD_TRUST).
export class EngineError extends Error {
  readonly code: string;
  readonly exitCode?: number;
  constructor(code: string, message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EngineError';
    this.code = code;
    if (opts.exitCode !== undefined) this.exitCode = opts.exitCode;
  }
}
