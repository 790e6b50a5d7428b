// Which codec/differ combinations `compare` runs, and whether a target allows each one. Pure
// policy: names in, combinations and reasons out. How a combination is run lives in compare-codecs.ts.

import { CODEC_NAMES, encoderByName } from '../codecs/encoder-registry.js';
import { differByName, DIFFER_NAMES } from '../diff/differ-registry.js';
import { UsageError } from '../errors/ota-error.js';
import type { TargetProfile } from '../model/target-profile.js';
import { candidateLabel, type CandidateSpec } from '../planner/candidates.js';
import { DEFAULT_COMPARE_LEVELS, parseLevels } from './parse-levels.js';

/**
 * Differs compared by default, in the order they are run: every differ, in the built-in profiles'
 * order, so that `auto` is what `build` makes.
 */
export const DEFAULT_COMPARE_DIFFERS: readonly string[] = [
  'bsdiff-lzma',
  'zstd-dict',
  'bsdiff',
  'bsdf2',
  'deflate-aware',
  'exec-aware',
];

/** What the user asked to compare (comma lists and a `--levels` spec). */
export interface SelectionInput {
  /** Comma list of codecs; default every codec. */
  readonly codecs?: string;
  /** `--levels` spec; codecs it does not name keep DEFAULT_COMPARE_LEVELS. */
  readonly levels?: string;
  /** Comma list of differs, or `all` (the default: DEFAULT_COMPARE_DIFFERS) or `none`. */
  readonly differs?: string;
}

/** The resolved selection: codecs with their levels, and differs. */
export interface Selection {
  readonly codecs: readonly string[];
  readonly levels: ReadonlyMap<string, readonly number[]>;
  readonly differs: readonly string[];
}

/** One combination to compare. `replace`: one codec at one level; `diff`: one differ plus a replace fallback; `auto`: what `build` tries. */
export type Combination =
  | { readonly kind: 'replace'; readonly codec: string; readonly level: number }
  | { readonly kind: 'diff'; readonly differ: string }
  | { readonly kind: 'auto' };

function nameList(value: string, what: string, check: (name: string) => unknown): string[] {
  const names = [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
    ),
  ];
  if (names.length === 0) throw new UsageError('BAD_OPTION', `--${what} ${JSON.stringify(value)} names nothing`);
  names.forEach(check);
  return names;
}

/** --differs: names, or `all` (the default) or `none` alone. */
function differList(value: string | undefined): string[] {
  const whole = value?.trim().toLowerCase();
  if (whole === undefined || whole === 'all') return [...DEFAULT_COMPARE_DIFFERS];
  if (whole === 'none') return [];
  return nameList(value!, 'differs', (name) => {
    if (name === 'all' || name === 'none')
      throw new UsageError('BAD_OPTION', `--differs ${name} stands alone; it cannot be listed with differs (${value})`);
    differByName(name);
  });
}

/** Resolves and checks the user's lists. Throws UsageError (exit 2) on unknown names or bad levels. */
export function resolveSelection(input: SelectionInput): Selection {
  const codecs = input.codecs === undefined ? [...CODEC_NAMES] : nameList(input.codecs, 'codecs', encoderByName);
  const differs = differList(input.differs);
  const given = input.levels === undefined ? new Map<string, number[]>() : parseLevels(input.levels);
  for (const name of given.keys()) {
    if (!codecs.includes(name))
      throw new UsageError('BAD_LEVELS', `--levels names ${name}, which --codecs ${codecs.join(',')} leaves out`);
  }
  const levels = new Map(
    codecs.map((c) => [c, given.get(c) ?? [...(DEFAULT_COMPARE_LEVELS[c] ?? [encoderByName(c).defaultLevel])]]),
  );
  return { codecs, levels, differs };
}

/** Every combination, in run order: replace-only per codec and level, then each differ, then auto. */
export function listCombinations(s: Selection): Combination[] {
  const out: Combination[] = [];
  for (const codec of s.codecs)
    for (const level of s.levels.get(codec) ?? []) out.push({ kind: 'replace', codec, level });
  for (const differ of s.differs) out.push({ kind: 'diff', differ });
  out.push({ kind: 'auto' });
  return out;
}

/** `zstd-19`, `none`, `bsdiff+xz-9` (a differ with its fallback), `auto`. */
export function replaceLabel(codec: string, level: number): string {
  return codec === 'none' ? 'none' : `${codec}-${level}`;
}

/**
 * Whether `differ` has a combination of its own without an old image: only differs that work
 * without a source (traits.withoutSource) make a full package's DIFF ops, as `build` does.
 */
export function appliesWithoutOld(differ: string): boolean {
  return differByName(differ).traits.withoutSource === true;
}

/**
 * What `auto` tries for `profile`: like `build --codec auto --differ auto` — each compared codec
 * the profile allows at its default level (every allowed codec when none of the compared ones
 * is allowed), then each compared differ it allows (without an old image, those that work
 * without a source: appliesWithoutOld), in the profile's order, as build tries them (the order
 * breaks ties between candidates of the same size).
 */
export function autoSpecs(profile: TargetProfile, s: Selection, delta: boolean): CandidateSpec[] {
  const specs: CandidateSpec[] = autoCodecSpecs(profile, s);
  if (profile.allowedOperations.includes('diff')) {
    for (const differ of profile.allowedDiffers)
      if (s.differs.includes(differ) && (delta || appliesWithoutOld(differ))) specs.push({ kind: 'diff', differ });
  }
  return specs;
}

/**
 * auto's codecs: each compared codec the profile allows at its default level (every codec it
 * allows when none of the compared ones is allowed). A differ's fallback when no replace-only
 * combination is allowed (`bsdiff+auto`).
 */
export function autoCodecSpecs(profile: TargetProfile, s: Selection): CandidateSpec[] {
  const allowedCodecs = profile.allowedCodecs.filter((c) => s.codecs.includes(c));
  const codecs = allowedCodecs.length > 0 ? allowedCodecs : profile.allowedCodecs;
  return codecs.map((codec) => ({ kind: 'replace', codec, level: encoderByName(codec).defaultLevel }));
}

/** Why `profile` forbids any of `specs` (empty when it allows them all). */
export function forbiddenReasons(profile: TargetProfile, specs: readonly CandidateSpec[]): string[] {
  const reasons: string[] = [];
  for (const spec of specs) {
    const op = spec.kind;
    if (!profile.allowedOperations.includes(op))
      reasons.push(`${profile.id} does not allow ${op.toUpperCase()} operations`);
    else if (spec.kind === 'replace' && !profile.allowedCodecs.includes(spec.codec))
      reasons.push(`${profile.id} does not allow codec ${spec.codec} (allowed: ${profile.allowedCodecs.join(', ')})`);
    else if (spec.kind === 'diff' && !profile.allowedDiffers.includes(spec.differ))
      reasons.push(
        `${profile.id} does not allow differ ${spec.differ} (allowed: ${profile.allowedDiffers.join(', ')})`,
      );
  }
  return [...new Set(reasons)];
}

/** Largest decoder memory limit the unrestricted copy declares (the format's field is a u64). */
const UNRESTRICTED_DECODER_MEMORY_BYTES = 2 ** 40;

/**
 * A copy of `profile` that allows every op, codec and differ and any decoder memory, with the
 * same id, block size and op size (so the shared plan still fits). A forbidden combination is
 * run with it to show what it would give; its package is a measurement, never a deliverable.
 */
export function unrestrictedProfile(profile: TargetProfile): TargetProfile {
  return {
    ...profile,
    allowedOperations: ['zero', 'copy', 'replace', 'diff'],
    allowedCodecs: [...CODEC_NAMES],
    allowedDiffers: [...DIFFER_NAMES],
    decoderMemoryLimitBytes: Math.max(profile.decoderMemoryLimitBytes, UNRESTRICTED_DECODER_MEMORY_BYTES),
  };
}

/** Labels of the candidates a combination tries, e.g. `["diff/bsdiff", "replace/xz-9"]`. */
export function specLabels(specs: readonly CandidateSpec[]): string[] {
  return specs.map(candidateLabel);
}
