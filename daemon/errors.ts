// The daemon part's one error type. Codes are stable; `httpStatus` maps each to the HTTP status the
// server answers with (one place), and `exitCode` to the CLI's exit status.

export type DaemonErrorCode =
  | 'BAD_CONFIG'
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'UNKNOWN_GATE'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'LEDGER_UNAVAILABLE'
  | 'ENGINE_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'INSECURE_SECRET'
  | 'SOCKET_IN_USE'
  | 'DAEMON_UNREACHABLE'
  | 'DAEMON_ERROR'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL'
  | (string & {});

const STATUS: Record<string, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  UNKNOWN_GATE: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  // The chain part's input refusals are the client's fault.
  UNKNOWN_KIND: 400,
  BAD_PAYLOAD: 400,
  SECRET_DETECTED: 422,
  BAD_ENTRY: 400,
  BAD_PROOF: 400,
  BAD_POLICY: 400,
  BAD_SIGNATURE: 400,
  UNTRUSTED: 403,
  LEDGER_UNAVAILABLE: 503,
  ENGINE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  ANCHORING_UNAVAILABLE: 503,
  NOT_IMPLEMENTED: 501,
};

/** HTTP status for an error code (anything unknown is a server fault: 500). */
export function httpStatus(code: string): number {
  return STATUS[code] ?? 500;
}

export class DaemonError extends Error {
  readonly code: DaemonErrorCode;
  readonly exitCode: number | undefined;
  readonly status: number;
  constructor(
    code: DaemonErrorCode,
    message: string,
    options?: { exitCode?: number; status?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DaemonError';
    this.code = code;
    this.exitCode = options?.exitCode;
    this.status = options?.status ?? httpStatus(code);
  }
}
