// Every command group of the CLI. Each group file registers its flags and lazily imports its code.
import type { Command } from 'commander';
import { register as anchor } from './anchor.js';
import { register as audit } from './audit.js';
import { register as compliance } from './compliance.js';
import { register as config } from './config.js';
import { register as daemon } from './daemon.js';
import { register as daemonClient } from './daemon-client.js';
import { register as gate } from './gate.js';
import { register as keys } from './keys.js';
import { register as policy } from './policy.js';
import { register as policyBuild } from './policy-build.js';
import { register as proofs } from './proofs.js';
import { register as start } from './start.js';
import { register as status } from './status.js';

export type RegisterCommands = (program: Command) => void;

// `proofs` adds subcommands to the `audit` group (and stands in for it while it is absent): keep it
// LAST, after the group that registers `audit`, or commander sees `audit` twice. `daemonClient`
// (daemon engineer) only adds to `policy`, `gate` and `audit` whatever they lack: after proofs.
export const commandGroups: RegisterCommands[] = [
  audit,
  keys,
  policy,
  gate,
  daemon,
  config,
  status,
  proofs,
  daemonClient,
  policyBuild,
  start,
  anchor,
  compliance,
];
