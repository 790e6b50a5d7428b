// What a command returns to main: machine output for --json and text for people.

/** A command's result. Errors are thrown, not returned. */
export interface CommandResult {
  readonly json: unknown;
  readonly text: string;
}
