// Option value parsers shared by the commands: integers, key lists, SOURCE_DATE_EPOCH.

import { UsageError } from '../errors/ota-error.js';
import { builtinTargets } from '../targets/target-registry.js';

/** Parses a non-negative integer option. */
export function parseIntOption(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new UsageError('BAD_OPTION', `${name} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
    }
    return Number(value);
  };
}

/** Collects repeated `--key` values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Splits `--key` values into a default key and per-target keys (`<target>=<pem>`). */
export function splitKeys(values: readonly string[]): { keyPath?: string; keyPathByTarget: Record<string, string> } {
  const keyPathByTarget: Record<string, string> = {};
  let keyPath: string | undefined;
  for (const v of values) {
    const m = /^([a-z0-9._-]+)=(.+)$/i.exec(v);
    const target = m && builtinTargets().find((t) => t.id === m[1]!.toLowerCase() || t.aliases.includes(m[1]!.toLowerCase()));
    if (m && target) {
      keyPathByTarget[target.id] = m[2]!;
    } else {
      if (keyPath) throw new UsageError('BAD_OPTION', `--key given twice without a target (${keyPath}, ${v}); use --key <target>=<pem> for per-target keys`);
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
  if (!/^\d+$/.test(raw)) throw new UsageError('BAD_OPTION', `SOURCE_DATE_EPOCH must be whole seconds, got ${JSON.stringify(raw)}`);
  return Number(raw);
}
