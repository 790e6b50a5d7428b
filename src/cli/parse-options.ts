// Option value parsers shared by the commands: integers, key lists, SOURCE_DATE_EPOCH.

import { UsageError } from '../errors/ota-error.js';

/** Largest accepted timestamp (year ~36812): keeps every value exact in a double. */
export const MAX_TIMESTAMP_SECONDS = 2 ** 40;

/** Parses a non-negative integer option. */
export function parseIntOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError('BAD_OPTION', `${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  };
}

/** Parses a comma list option such as `--partitions boot,system`. */
export function splitList(value: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0)
    throw new UsageError('BAD_OPTION', `expected a comma list of names, got ${JSON.stringify(value)}`);
  return items;
}

/** Collects repeated `--key` values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Splits `--key` values into a default key and per-target keys (`<target>=<pem>`). A prefix
 * counts as a target when it names one of `targets` (ids or aliases, custom profiles included).
 */
export function splitKeys(
  values: readonly string[],
  targets: readonly { id: string; aliases: readonly string[] }[],
  knownTargets: readonly { id: string; aliases: readonly string[] }[] = targets,
): { keyPath?: string; keyPathByTarget: Record<string, string> } {
  const keyPathByTarget: Record<string, string> = {};
  let keyPath: string | undefined;
  const named = (list: typeof targets, name: string) => list.find((t) => t.id === name || t.aliases.includes(name));
  for (const v of values) {
    const m = /^([a-z0-9._-]+)=(.+)$/i.exec(v);
    const name = m?.[1]!.toLowerCase();
    const target = m && named(targets, name!);
    if (m && target) {
      keyPathByTarget[target.id] = m[2]!;
    } else if (m && named(knownTargets, name!)) {
      throw new UsageError(
        'BAD_OPTION',
        `--key ${v} names target ${name}, which this build does not make (--target ${targets.map((t) => t.id).join(',')})`,
      );
    } else {
      if (keyPath)
        throw new UsageError(
          'BAD_OPTION',
          `--key given twice without a target (${keyPath}, ${v}); use --key <target>=<pem> for per-target keys`,
        );
      keyPath = v;
    }
  }
  return { keyPath, keyPathByTarget };
}

/** The package timestamp: --timestamp, else SOURCE_DATE_EPOCH, else undefined. */
export function timestampFrom(option: number | undefined, env: NodeJS.ProcessEnv): number | undefined {
  if (option !== undefined) return option;
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_TIMESTAMP_SECONDS) {
    throw new UsageError(
      'BAD_OPTION',
      `SOURCE_DATE_EPOCH must be whole seconds in 0..${MAX_TIMESTAMP_SECONDS}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}
