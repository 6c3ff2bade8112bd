// The anchor part's one error type, with stable codes (mapped to exit/status codes at the edges).
export type AnchorErrorCode =
  | 'BAD_MEMO'
  | 'BAD_KEY'
  | 'RPC'
  | 'NOT_FOUND'
  | 'MISMATCH'
  | 'VALIDATOR'
  | (string & {});

export class AnchorError extends Error {
  readonly code: AnchorErrorCode;
  readonly exitCode: number | undefined;
  constructor(code: AnchorErrorCode, message: string, options?: { exitCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AnchorError';
    this.code = code;
    this.exitCode = options?.exitCode;
  }
}
