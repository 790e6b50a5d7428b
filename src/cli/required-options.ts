// Required options checked after commander's unknown-option check: commander reports a missing
// required option first, so `build --bogus` said "--new not specified" and never named --bogus.
// The options stay required; they are checked just before the action, reported as commander
// reports them (the same words, code and exit).

import type { Command } from 'commander';

/** Makes `command` check its required options after unknown options and arguments. */
export function requireOptionsAfterParse(command: Command): Command {
  const required = command.options.filter((o) => o.mandatory);
  for (const option of required) option.mandatory = false;
  command.hook('preAction', (_this, action) => {
    const missing = required.find((o) => action.getOptionValue(o.attributeName()) === undefined);
    if (missing)
      action.error(`error: required option '${missing.flags}' not specified`, {
        code: 'commander.missingMandatoryOptionValue',
      });
  });
  return command;
}
