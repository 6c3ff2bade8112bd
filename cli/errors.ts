// One place maps every part's error codes to exit codes (CONVENTIONS: one error type a part,
// stable codes, mapped at the edge).

/** A CLI usage problem (bad flag combination, unreadable argument): exit 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** An error whose `code` names what went wrong, as every part's error type has. */
interface CodedError {
  code: string;
  message: string;
  exitCode?: number;
}

function isCoded(err: unknown): err is CodedError {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string';
}

/** Exit status: an error may carry its own (`exitCode`), usage and I/O problems are 2, the rest 1. */
export function exitCodeFor(err: unknown): number {
  if (isCoded(err)) {
    if (typeof err.exitCode === 'number') return err.exitCode;
    if (err.code === 'USAGE') return 2;
    // Node's system errors (ENOENT, EACCES, ...) are I/O problems.
    if (/^E[A-Z]+$/.test(err.code)) return 2;
  }
  return 1;
}

export function formatError(err: unknown): string {
  if (err instanceof Error) {
    const code = isCoded(err) && err.code !== 'USAGE' ? ` [${err.code}]` : '';
    // The daemon is the ledger's only writer while it runs: point at the client path.
    const hint =
      isCoded(err) && err.code === 'LOCKED'
        ? '\n  a gavel daemon (or another writer) holds this ledger: ask it instead with --daemon (e.g. gavel audit log --daemon, gavel gate eval GATE --daemon)'
        : '';
    return `gavel: ${err.message}${code}${hint}`;
  }
  return `gavel: ${String(err)}`;
}
