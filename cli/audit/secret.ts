// Where the operator secret may come from: a file (--secret-file, refused when group/others can read
// it) or the environment (GAVEL_OPERATOR_SECRET; for MO§ES ledgers also MOSES_OPERATOR_SECRET, as the
// reference script reads it). Never a flag value: process arguments are visible to every local user.
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';

export function readSecretFile(file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new UsageError(`cannot read secret file ${file}: ${(err as Error).message}`);
  }
  if ((mode & 0o077) !== 0) {
    throw new UsageError(
      `secret file ${file} is readable by group or others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}`,
    );
  }
  const text = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (text === '') throw new UsageError(`secret file ${file} is empty`);
  return text;
}

export function operatorSecret(
  opts: { secretFile?: string },
  format: 'native' | 'moses',
): string | undefined {
  if (opts.secretFile !== undefined) return readSecretFile(opts.secretFile);
  const env = process.env.GAVEL_OPERATOR_SECRET;
  if (env !== undefined && env !== '') return env;
  if (format === 'moses') {
    const m = process.env.MOSES_OPERATOR_SECRET;
    if (m !== undefined && m !== '') return m;
  }
  return undefined;
}
