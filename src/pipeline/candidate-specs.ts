// Which candidates `build` encodes every changed chunk with: the union over the targets of the
// allowed codecs (each at its level) and differs, narrowed by --codec/--level/--differ.

import { encoderByName } from '../codecs/encoder-registry.js';
import { differByName } from '../diff/differ-registry.js';
import { UsageError } from '../errors/ota-error.js';
import type { TargetProfile } from '../model/target-profile.js';
import type { CandidateSpec } from '../planner/candidates.js';

/** The user's encoding choices. */
export interface EncodingChoice {
  /** `auto` or one codec name. */
  readonly codec?: string;
  readonly level?: number;
  /** `auto` or one differ name. */
  readonly differ?: string;
}

/** Candidate specs for `targets`; throws UsageError when a choice is unknown or not allowed. */
export function candidateSpecs(choice: EncodingChoice, targets: readonly TargetProfile[]): CandidateSpec[] {
  const codecChoice = choice.codec ?? 'auto';
  const differChoice = choice.differ ?? 'auto';
  if (codecChoice !== 'auto') encoderByName(codecChoice);
  if (differChoice !== 'auto') differByName(differChoice);
  if (choice.level !== undefined && codecChoice === 'auto')
    throw new UsageError(
      'LEVEL_NEEDS_CODEC',
      '--level applies to one codec: name it with --codec (with --codec auto each codec uses its own level)',
    );
  for (const p of targets) {
    if (codecChoice !== 'auto' && !p.allowedCodecs.includes(codecChoice))
      throw new UsageError(
        'CODEC_NOT_ALLOWED',
        `target ${p.id} does not allow codec ${codecChoice} (allowed: ${p.allowedCodecs.join(', ')})`,
      );
    if (differChoice !== 'auto' && !p.allowedDiffers.includes(differChoice))
      throw new UsageError(
        'DIFFER_NOT_ALLOWED',
        p.allowedOperations.includes('diff') && p.allowedDiffers.length > 0
          ? `target ${p.id} does not allow differ ${differChoice} (allowed: ${p.allowedDiffers.join(', ')})`
          : `target ${p.id} allows no differ (its profile allows no diff operation): drop --differ`,
      );
  }
  const union = (pick: (p: TargetProfile) => readonly string[]) => [...new Set(targets.flatMap(pick))];
  const codecs = codecChoice === 'auto' ? union((p) => p.allowedCodecs) : [codecChoice];
  const specs: CandidateSpec[] = codecs.map((name) => {
    const codec = encoderByName(name);
    const level = choice.level ?? codec.defaultLevel;
    if (level < codec.minLevel || level > codec.maxLevel)
      throw new UsageError('BAD_LEVEL', `--level ${level} is outside ${name}'s ${codec.minLevel}..${codec.maxLevel}`);
    return { kind: 'replace', codec: name, level };
  });
  const diffAllowed = targets.some((p) => p.allowedOperations.includes('diff'));
  const differs = !diffAllowed ? [] : differChoice === 'auto' ? union((p) => p.allowedDiffers) : [differChoice];
  for (const differ of differs) specs.push({ kind: 'diff', differ });
  return specs;
}

/**
 * How the planner treats zip members for `specs` on `targets`, as `build` and `compare` plan:
 * kept whole when every target may DIFF and a differ of `specs` needs them whole
 * (traits.keepWhole), in chunks of at most the smallest wholeChunkBytes such differs declare.
 */
export function keepWholeOptions(
  specs: readonly CandidateSpec[],
  targets: readonly TargetProfile[],
): { keepZipMembersWhole: boolean; wholeChunkBytes: number } {
  const traits = specs
    .flatMap((c) => (c.kind === 'diff' ? [differByName(c.differ).traits] : []))
    .filter((t) => t.keepWhole === 'zip-members');
  return {
    keepZipMembersWhole: targets.every((p) => p.allowedOperations.includes('diff')) && traits.length > 0,
    wholeChunkBytes: Math.min(Infinity, ...traits.map((t) => t.wholeChunkBytes ?? Infinity)),
  };
}
