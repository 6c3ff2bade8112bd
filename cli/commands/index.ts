// Every command group of the CLI. Each group file registers its flags and lazily imports its code.
import type { Command } from 'commander';
import { register as config } from './config.js';
import { register as daemon } from './daemon.js';
import { register as keys } from './keys.js';
import { register as proofs } from './proofs.js';
import { register as status } from './status.js';

export type RegisterCommands = (program: Command) => void;

// `proofs` adds subcommands to the `audit` group: keep it after the group that registers `audit`.
export const commandGroups: RegisterCommands[] = [keys, proofs, daemon, config, status];
