// One line per entry for `audit log --daemon` (the chain part's MO§ES `formatRecentLine` is used when
// it exists, so daemon and file output match).
import * as chain from '../../chain/index.js';

export function formatRecentLine(e: Record<string, unknown>): string {
  const f = (chain as unknown as { formatRecentLine?: (e: Record<string, unknown>) => string })
    .formatRecentLine;
  if (f !== undefined) return f(e);
  return `[${e.seq}] ${e.timestamp} ${e.kind} ${e.agent}: ${e.detail} -> ${e.outcome} (${String(e.hash).slice(0, 12)})`;
}
