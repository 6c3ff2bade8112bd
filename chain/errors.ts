// The chain part's one error type. Codes are stable: the CLI and the HTTP API map them to exit and
// status codes in one place, and tests match on them.

export type ChainErrorCode =
  | 'BAD_KEY'
  | 'BAD_NOTE'
  | 'BAD_PROOF'
  | 'BAD_ENTRY'
  | 'UNKNOWN_KIND'
  | 'BAD_PAYLOAD'
  | 'SECRET_DETECTED'
  | 'LOCKED'
  | 'CORRUPT'
  | 'IO'
  | (string & {});

export class ChainError extends Error {
  readonly code: ChainErrorCode;
  /** Exit status for the CLI when this error ends a command (1 unless a usage/I-O problem: 2). */
  readonly exitCode: number | undefined;
  constructor(code: ChainErrorCode, message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ChainError';
    this.code = code;
    this.exitCode = options?.exitCode;
  }
}
