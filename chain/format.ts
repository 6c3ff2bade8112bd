// Which kind of ledger a file is: gavel's native entries carry `seq` and `kind`; MO§ES entries
// (audit_stub.py) carry neither. Decided by the first non-blank line.
import { open } from 'node:fs/promises';

export type LedgerFormat = 'native' | 'moses' | 'empty' | 'missing';

export async function detectLedgerFormat(path: string): Promise<LedgerFormat> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  try {
    const buf = Buffer.alloc(1 << 16);
    let pos = 0;
    let carry = '';
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return carry.trim() === '' ? 'empty' : classify(carry);
      pos += bytesRead;
      const text = carry + buf.toString('utf8', 0, bytesRead);
      const lines = text.split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') return classify(line);
    }
  } finally {
    await fh.close();
  }
}

function classify(line: string): LedgerFormat {
  try {
    const e = JSON.parse(line) as Record<string, unknown>;
    return typeof e.seq === 'number' && typeof e.kind === 'string' ? 'native' : 'moses';
  } catch {
    // An unreadable first line: let the MO§ES verifier report it the way the reference script would.
    return 'moses';
  }
}

/** The MO§ES `recent` line: `[ts] AGENT | action | mode/posture | first 12 hex...`. */
export function formatRecentLine(e: Record<string, unknown>): string {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const who = s(e.agent)?.toUpperCase() ?? s(e.component) ?? '';
  const hash = typeof e.hash === 'string' ? e.hash.slice(0, 12) : '';
  return `[${String(e.timestamp ?? '')}] ${who} | ${s(e.action) ?? '?'} | ${s(e.mode) ?? '?'}/${s(e.posture) ?? '?'} | ${hash}...`;
}
