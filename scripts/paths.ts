// The repository root, from a source file (scripts/) or its compiled twin (dist/scripts/).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let d = from;
  while (!existsSync(path.join(d, 'package.json')) || path.basename(d) === 'dist') {
    const up = path.dirname(d);
    if (up === d) throw new Error(`no package.json above ${from}`);
    d = up;
  }
  return d;
}

export const REPO = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const POLICIES = path.join(REPO, 'policies');
