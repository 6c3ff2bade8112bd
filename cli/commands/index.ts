// Every command group of the CLI. Each group file registers its flags and lazily imports its code.
import type { Command } from 'commander';
import { register as keys } from './keys.js';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [keys];
