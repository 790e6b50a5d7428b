// Finds target profiles: the built-in data files in profiles/ (by id or alias) and custom
// profiles given as a JSON file path. The only place that reads profile files.

import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { UsageError } from '../errors/ota-error.js';
import { readBoundedFile } from '../image/read-bounded-file.js';
import type { TargetProfile } from '../model/target-profile.js';
import { parseTargetProfile } from './parse-target-profile.js';

const PROFILES_DIR = new URL('../../profiles/', import.meta.url);
/** Built-in profile ids, in the order `targets` lists them. */
export const BUILTIN_TARGET_IDS = ['qualcomm', 'mediatek', 'unisoc', 'generic'] as const;
/** Targets built when `--target` is not given. */
export const DEFAULT_TARGETS = 'qualcomm,mediatek,unisoc';
const MAX_PROFILE_FILE_BYTES = 64 * 1024;

let builtins: TargetProfile[] | undefined;

/** The built-in profiles (parsed once). */
export function builtinTargets(): readonly TargetProfile[] {
  builtins ??= BUILTIN_TARGET_IDS.map((id) => {
    const url = new URL(`${id}.json`, PROFILES_DIR);
    return parseTargetProfile(JSON.parse(readFileSync(url, 'utf8')), `${id}.json`);
  });
  return builtins;
}

/** Loads a custom profile from a JSON file. */
export async function loadTargetFile(path: string): Promise<TargetProfile> {
  const bytes = await readBoundedFile(path, {
    maxBytes: MAX_PROFILE_FILE_BYTES,
    action: 'read target profile',
    notFile: () => new UsageError('PROFILE_INVALID', `target profile ${path} is not a regular file`),
    tooLarge: (sizeBytes) =>
      new UsageError(
        'PROFILE_INVALID',
        `target profile ${path} is ${sizeBytes} bytes; profiles are at most ${MAX_PROFILE_FILE_BYTES}`,
      ),
  });
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    // A byte-order mark (Windows editors write one) is no part of the JSON.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new UsageError('PROFILE_INVALID', `target profile ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return refuseBuiltinNames(parseTargetProfile(json, path), path);
}

/**
 * A custom profile may not take a built-in target's alias as its id (a device reads `qcom` as
 * qualcomm: a package for it would be refused as another target's), nor a built-in's id or alias
 * as its own alias unless it is that built-in's profile (`--key qualcomm=…` would sign the custom
 * package instead). A profile with a built-in's id is that target, edited (DUPLICATE_TARGET
 * keeps it from meeting the built-in one in a build).
 */
function refuseBuiltinNames(profile: TargetProfile, path: string): TargetProfile {
  const idOwner = builtinTargetNamed(profile.id);
  if (idOwner !== undefined && idOwner.id !== profile.id)
    throw new UsageError(
      'PROFILE_INVALID',
      `target profile ${path}: id ${JSON.stringify(profile.id)} is an alias of the built-in target ${idOwner.id}; choose another id`,
    );
  for (const alias of profile.aliases) {
    const taken = builtinTargetNamed(alias);
    if (taken !== undefined && taken.id !== profile.id)
      throw new UsageError(
        'PROFILE_INVALID',
        `target profile ${path}: alias ${JSON.stringify(alias)} names the built-in target ${taken.id}; choose another alias`,
      );
  }
  return profile;
}

/** The built-in profile with this id or alias (any case, spaces around ignored), if any. */
export function builtinTargetNamed(idOrAlias: string): TargetProfile | undefined {
  const key = idOrAlias.trim().toLowerCase();
  return builtinTargets().find((t) => t.id === key || t.aliases.includes(key));
}

/** Resolves one id, alias or profile path. */
export async function resolveTarget(spec: string): Promise<TargetProfile> {
  const trimmed = spec.trim();
  if (trimmed.includes('/') || trimmed.endsWith('.json')) return loadTargetFile(trimmed);
  const found = builtinTargetNamed(trimmed);
  if (!found) {
    const names = builtinTargets()
      .map((t) => [t.id, ...t.aliases].join('|'))
      .join(', ');
    throw new UsageError(
      'UNKNOWN_TARGET',
      `unknown target ${JSON.stringify(spec)}; expected one of ${names}, or a path to a profile .json`,
    );
  }
  return found;
}

/**
 * Resolves a comma list (`qualcomm,mtk,./my-soc.json`), dropping duplicates (the same profile
 * named twice, e.g. by id and alias), keeping order. Two different profiles with one id are
 * refused (`DUPLICATE_TARGET`): both would write `update-<id>.otapkg`, and which limits won would
 * depend on the order given.
 */
export async function resolveTargets(list: string): Promise<TargetProfile[]> {
  const out: TargetProfile[] = [];
  for (const spec of list.split(',').filter((s) => s.trim() !== '')) {
    const t = await resolveTarget(spec);
    const same = out.find((o) => o.id === t.id);
    if (same === undefined) out.push(t);
    else if (!isDeepStrictEqual(same, t))
      throw new UsageError(
        'DUPLICATE_TARGET',
        `--target names two different profiles with id ${JSON.stringify(t.id)} (${spec.trim()} differs from the one given before): give each target once`,
      );
  }
  if (out.length === 0) throw new UsageError('UNKNOWN_TARGET', `--target ${JSON.stringify(list)} names no target`);
  return out;
}
