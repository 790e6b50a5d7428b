// Option value parsers shared by the commands: integers, key lists, SOURCE_DATE_EPOCH.

import { existsSync } from 'node:fs';
import { UsageError } from '../errors/ota-error.js';

/** Largest accepted timestamp (year ~36812): keeps every value exact in a double. */
export const MAX_TIMESTAMP_SECONDS = 2 ** 40;

/**
 * Parses a decimal integer option in min..max (no max: any integer from min up, the range left
 * to a later check that knows it, such as a codec's levels).
 */
export function parseIntOption(name: string, min: number, max?: number) {
  return (value: string): number => {
    const digits = /^\d+$/.test(value);
    const n = Number(value);
    if (!digits || n < min || (max !== undefined && n > max) || !Number.isSafeInteger(n)) {
      const range = max !== undefined ? `in ${min}..${max}` : digits ? `up to 2^53-1` : `of at least ${min}`;
      throw new UsageError('BAD_OPTION', `${name} must be an integer ${range}, got ${JSON.stringify(value)}`);
    }
    return n;
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
 * Splits `--key` values into keys for every target and per-target keys (`<target>=<key>`); a key
 * is a PEM path or a `pkcs11:` URI, and repeating it signs with each (key rotation). A prefix
 * counts as a target when it names one of `targets` (ids or aliases, custom profiles included).
 */
export function splitKeys(
  values: readonly string[],
  targets: readonly { id: string; aliases: readonly string[] }[],
  knownTargets: readonly { id: string; aliases: readonly string[] }[] = targets,
): { keyPaths: string[]; keyPathsByTarget: Record<string, string[]> } {
  const keyPathsByTarget: Record<string, string[]> = {};
  const keyPaths: string[] = [];
  const named = (list: typeof targets, name: string) => list.find((t) => t.id === name || t.aliases.includes(name));
  for (const v of values) {
    const bare = /^([a-z0-9._-]+)=$/i.exec(v);
    if (bare && named(knownTargets, bare[1]!.toLowerCase()))
      throw new UsageError('BAD_OPTION', `--key ${v} names target ${bare[1]} but no key after "="`);
    const m = /^([a-z0-9._-]+)=(.+)$/i.exec(v);
    const name = m?.[1]!.toLowerCase();
    const target = m && named(targets, name!);
    if (m && target) {
      (keyPathsByTarget[target.id] ??= []).push(m[2]!);
    } else if (m && named(knownTargets, name!)) {
      throw new UsageError(
        'BAD_OPTION',
        `--key ${v} names target ${name}, which this build does not make (--target ${targets.map((t) => t.id).join(',')})`,
      );
    } else if (m && !v.startsWith('pkcs11:') && !existsSync(v)) {
      // Neither a target prefix nor a file: a mistyped target, said as such (not a missing key file).
      throw new UsageError(
        'BAD_OPTION',
        `--key ${v}: ${m[1]} is no target (${[...new Set(knownTargets.map((t) => t.id))].join(', ')}) and no file is named ${v}`,
      );
    } else {
      keyPaths.push(v);
    }
  }
  return { keyPaths, keyPathsByTarget };
}

/** Signing options from the command line and the environment (the PIN only ever from there). */
export function signingOptionsFrom(
  o: { pkcs11Module?: string; signCommand?: string; signPubkey?: string; signTimeout?: number },
  env: NodeJS.ProcessEnv,
) {
  return {
    pkcs11ModulePath: o.pkcs11Module ?? (env.OTA_PKCS11_MODULE || undefined),
    pkcs11Pin: env.OTA_PKCS11_PIN,
    signCommand: o.signCommand,
    signPubkeyPath: o.signPubkey,
    signTimeoutSeconds: o.signTimeout,
  };
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
