// `gavel daemon install`: writes the systemd unit and a sample config under a prefix.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DaemonError } from './errors.js';

function asset(rel: string): string {
  // Works from TS sources (daemon/) and from dist/daemon/ (assets are read from the source tree).
  const here = dirname(fileURLToPath(import.meta.url));
  for (const base of [here, resolve(here, '../../daemon')]) {
    const p = join(base, rel);
    if (existsSync(p)) return readFileSync(p, 'utf8');
  }
  throw new DaemonError('INTERNAL', `installation asset ${rel} is missing`);
}

/**
 * Node flags the daemon runs with (the unit's ExecStart, `gavel start`'s daemon, the daemon benchmark): a 32 MB
 * young generation (16 MB by default). A batch of 1,000 decisions keeps its requests, entries and
 * answers alive across a few ms of build and fsync; with the default size they were copied out of
 * the young generation again and again: ~+10% batch decisions/s here. V8 reads it only at start.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

export function unitText(): string {
  return asset('systemd/gavel.service');
}
export function exampleConfigText(): string {
  return asset('gavel.example.toml');
}

export interface InstallPlan {
  files: { path: string; mode: number; bytes: number; skipped?: string }[];
}

/** Writes `<prefix>/etc/systemd/system/gavel.service` and `<prefix>/etc/gavel/gavel.toml` (never overwrites a config). */
export function install(opts: { prefix?: string; dryRun?: boolean; force?: boolean }): InstallPlan {
  const prefix = resolve(opts.prefix ?? '/');
  const items = [
    {
      path: join(prefix, 'etc/systemd/system/gavel.service'),
      text: unitText(),
      mode: 0o644,
      overwrite: true,
    },
    {
      path: join(prefix, 'etc/gavel/gavel.toml'),
      text: exampleConfigText(),
      mode: 0o640,
      overwrite: opts.force === true,
    },
  ];
  const plan: InstallPlan = { files: [] };
  for (const it of items) {
    const exists = existsSync(it.path);
    if (exists && !it.overwrite) {
      plan.files.push({
        path: it.path,
        mode: it.mode,
        bytes: it.text.length,
        skipped: 'exists (use --force)',
      });
      continue;
    }
    plan.files.push({ path: it.path, mode: it.mode, bytes: it.text.length });
    if (opts.dryRun) continue;
    mkdirSync(dirname(it.path), { recursive: true });
    writeFileSync(it.path, it.text, { mode: it.mode });
  }
  return plan;
}
