// Reading a ledger file in tests.
import { readFileSync } from 'node:fs';

/**
 * The ledger's complete lines, parsed. Read straight after a SIGKILL, the file may end in a torn line
 * (a write the kill cut short, never acknowledged; the next open truncates it): that tail is left
 * out, and every newline-terminated line must parse.
 */
export function ledgerLines<T = Record<string, unknown>>(path: string): T[] {
  const parts = readFileSync(path, 'utf8').split('\n');
  parts.pop(); // '' after the final newline, or the torn tail
  return parts.map((l) => JSON.parse(l) as T);
}
