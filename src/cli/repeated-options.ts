// Refuses a single-valued option given twice (`--old a --old=b` would otherwise silently keep the
// last): one listener per value option of a command, declared once for every command. Options
// documented as repeatable or as a comma list accumulate instead; variadic and `collect` options
// are left to commander.

import type { Command, Option } from 'commander';
import { UsageError } from '../errors/ota-error.js';
import { collect } from './parse-options.js';

/** Help text that marks an option as accumulating: "(repeatable)" or "comma list". */
const REPEATABLE_HELP = /\brepeatable\b|\bcomma list\b/i;

/** How a repeated occurrence of `option` is handled. */
export function repeatMode(option: Option): 'commander' | 'join' | 'refuse' | 'ignore' {
  if (option.isBoolean() || option.negate) return 'ignore';
  if (option.variadic || option.parseArg === collect) return 'commander';
  return REPEATABLE_HELP.test(option.description) ? 'join' : 'refuse';
}

/**
 * Makes `command` refuse a repeated single-valued option with UsageError `REPEATED_OPTION`, and
 * join repeated comma-list options (`--partitions a --partitions b` is `--partitions a,b`).
 */
export function guardRepeatedOptions(command: Command): Command {
  for (const option of command.options) {
    const mode = repeatMode(option);
    if (mode === 'ignore' || mode === 'commander') continue;
    const name = option.name();
    const key = option.attributeName();
    let first: { raw: unknown; stored: unknown } | undefined;
    // Commander's own listener (added with the option) has stored the new value when this runs.
    command.on(`option:${name}`, (raw: unknown) => {
      const stored: unknown = command.getOptionValue(key);
      if (!first) {
        first = { raw, stored };
        return;
      }
      if (mode === 'refuse') {
        throw new UsageError(
          'REPEATED_OPTION',
          `--${name} given more than once (${JSON.stringify(first.raw)}, then ${JSON.stringify(raw)}); it takes one value`,
        );
      }
      first = { raw: first.raw, stored: joinValues(first.stored, stored) };
      command.setOptionValueWithSource(key, first.stored, 'cli');
    });
  }
  return command;
}

function joinValues(previous: unknown, next: unknown): unknown {
  if (Array.isArray(previous) && Array.isArray(next)) return [...(previous as unknown[]), ...(next as unknown[])];
  return `${String(previous)},${String(next)}`;
}
