// Refuses an empty option value or argument (`--old ""`, `verify ""`) before any work: in a script
// an unset variable gives one, and read as "not given" it would quietly change the command (a full
// package instead of a delta, a verify without its trial apply, a build into the current folder).

import type { Command } from 'commander';
import { UsageError } from '../errors/ota-error.js';

/** Makes `command` refuse, with UsageError `BAD_OPTION`, any option value or argument that is empty or blank. */
export function refuseEmptyValues(command: Command): Command {
  for (const option of command.options) {
    if (option.isBoolean() || option.negate) continue;
    const name = option.long ?? option.short ?? option.name();
    command.on(`option:${option.name()}`, (raw: unknown) => {
      if (isBlank(raw))
        throw new UsageError(
          'BAD_OPTION',
          `${name} is given an empty value; give one or leave the option out (an unset variable in a script?)`,
        );
    });
  }
  command.hook('preAction', (_this, action) => {
    action.registeredArguments.forEach((argument, i) => {
      const values: unknown[] = argument.variadic
        ? ((action.processedArgs[i] as unknown[]) ?? [])
        : [action.processedArgs[i]];
      if (values.some(isBlank))
        throw new UsageError(
          'BAD_OPTION',
          `the ${argument.name()} argument is empty; give one (an unset variable in a script?)`,
        );
    });
  });
  return command;
}

const isBlank = (value: unknown): boolean => typeof value === 'string' && value.trim() === '';
