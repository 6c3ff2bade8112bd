// Helpers every command group uses: several groups add subcommands to the same parent command.
import type { Command } from 'commander';

/** The program's `name` command, created with `description` when no group registered it yet. */
export function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** Commander collector for repeatable options (`--vkey A --vkey B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
