// Validates a target profile given as parsed JSON, field by field, with one-line errors that
// name the source and the field. Pure: the registry does the file reading.

import { PARTITION_NAME } from '../model/partition-name.js';
import { UsageError } from '../errors/ota-error.js';
import { MAX_BLOCK_SIZE_BYTES, MAX_OPERATION_BYTES, MAX_STASH_BYTES, MIN_BLOCK_SIZE_BYTES } from '../format/limits.js';
import { FORMAT_MINOR, MINOR_IN_PLACE } from '../format/package-header.js';
import { SIGNATURE_ALGORITHMS } from '../model/signature-algorithm.js';
import type { TargetProfile } from '../model/target-profile.js';
import { CodecWireId, DifferWireId } from '../model/wire-ids.js';

const OPERATIONS = ['zero', 'copy', 'replace', 'diff'] as const;
const STORAGE = ['ufs', 'emmc', 'nand', 'generic'] as const;
const MODES = ['ab', 'in-place'] as const;

/** Parses and validates one profile. Throws UsageError (`PROFILE_INVALID`, exit 2). */
export function parseTargetProfile(json: unknown, source: string): TargetProfile {
  const bad = (field: string, detail: string): never => {
    throw new UsageError('PROFILE_INVALID', `target profile ${source}: ${field} ${detail}`);
  };
  if (Array.isArray(json))
    throw new UsageError(
      'PROFILE_INVALID',
      `target profile ${source} is a JSON array, not one profile object (\`ota-build targets <id> --json\` prints one)`,
    );
  if (!json || typeof json !== 'object')
    throw new UsageError('PROFILE_INVALID', `target profile ${source} is not a JSON object`);
  const o = json as Record<string, unknown>;
  const known = new Set<string>([...PROFILE_FIELDS, ...OPTIONAL_PROFILE_FIELDS]);
  for (const k of Object.keys(o)) if (!known.has(k)) bad(k, 'is not a profile field');
  for (const k of PROFILE_FIELDS)
    if (!(k in o)) bad(k, `is missing (every field but ${OPTIONAL_PROFILE_FIELDS.join(', ')} is required)`);

  const str = (k: string, pattern = /^.{0,200}$/): string => {
    const v = o[k];
    if (typeof v !== 'string' || !pattern.test(v)) bad(k, `must be a string matching ${pattern}`);
    return v as string;
  };
  const int = (k: string, min: number, max: number): number => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      bad(k, `must be an integer in ${min}..${max}`);
    return v as number;
  };
  const oneOf = <T extends string>(k: string, values: readonly T[]): T => {
    const v = o[k];
    if (!values.includes(v as T)) bad(k, `must be one of ${values.join(', ')}`);
    return v as T;
  };
  const listOf = <T extends string>(k: string, values: readonly T[] | RegExp, nonEmpty: boolean): T[] => {
    const v = o[k];
    if (!Array.isArray(v) || (nonEmpty && v.length === 0))
      bad(k, nonEmpty ? 'must be a non-empty array' : 'must be an array');
    for (const item of v as unknown[]) {
      const ok = Array.isArray(values)
        ? values.includes(item as T)
        : typeof item === 'string' && (values as RegExp).test(item);
      if (!ok)
        bad(k, `has ${JSON.stringify(item)}; allowed: ${Array.isArray(values) ? values.join(', ') : String(values)}`);
    }
    return [...new Set(v as T[])];
  };

  const idPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
  const blockSizeBytes = int('blockSizeBytes', MIN_BLOCK_SIZE_BYTES, MAX_BLOCK_SIZE_BYTES);
  if ((blockSizeBytes & (blockSizeBytes - 1)) !== 0) bad('blockSizeBytes', 'must be a power of two');
  const profile: TargetProfile = {
    id: str('id', idPattern),
    aliases: listOf('aliases', idPattern, false),
    vendor: str('vendor', /^.{1,64}$/),
    description: str('description'),
    defaultPlatform: str('defaultPlatform', /^[A-Za-z0-9._-]{1,64}$/),
    storage: oneOf('storage', STORAGE),
    blockSizeBytes,
    updateMode: oneOf('updateMode', MODES),
    defaultSignatureAlgorithm: oneOf(
      'defaultSignatureAlgorithm',
      SIGNATURE_ALGORITHMS.map((a) => a.name),
    ),
    signatureRationale: str('signatureRationale'),
    allowedOperations: listOf('allowedOperations', OPERATIONS, true),
    allowedCodecs: listOf('allowedCodecs', Object.keys(CodecWireId), true),
    allowedDiffers: listOf('allowedDiffers', Object.keys(DifferWireId), false),
    decoderMemoryLimitBytes: int('decoderMemoryLimitBytes', 1024 * 1024, 2 ** 40),
    maxOperationBytes: int('maxOperationBytes', blockSizeBytes, MAX_OPERATION_BYTES),
    maxStashBytes: int('maxStashBytes', 0, MAX_STASH_BYTES),
    partitionLayout: str('partitionLayout', /^[A-Za-z0-9._-]{1,64}$/),
    slotSuffixes: listOf('slotSuffixes', /^[A-Za-z0-9_]{1,8}$/, false),
    defaultPartitionName: str('defaultPartitionName', PARTITION_NAME),
    ...(o.maxFormatMinor === undefined ? {} : { maxFormatMinor: int('maxFormatMinor', 0, FORMAT_MINOR) }),
  };
  if (profile.maxOperationBytes % blockSizeBytes !== 0)
    bad('maxOperationBytes', 'must be a multiple of blockSizeBytes');
  for (const op of ['zero', 'copy', 'replace'] as const) {
    if (!profile.allowedOperations.includes(op))
      bad('allowedOperations', `must include ${op} (every package may need it; only diff is optional)`);
  }
  if (profile.allowedOperations.includes('diff') && profile.allowedDiffers.length === 0)
    bad('allowedDiffers', 'must not be empty when diff is allowed');
  if (profile.updateMode === 'in-place' && (profile.maxFormatMinor ?? FORMAT_MINOR) < MINOR_IN_PLACE)
    bad(
      'maxFormatMinor',
      `must be at least ${MINOR_IN_PLACE} for an in-place profile (in-place packages are format 1.3)`,
    );
  return profile;
}

/** Fields a profile file may leave out (see TargetProfile). */
export const OPTIONAL_PROFILE_FIELDS = ['maxFormatMinor'] as const;

/** Every field a profile file must have. */
export const PROFILE_FIELDS = [
  'id',
  'aliases',
  'vendor',
  'description',
  'defaultPlatform',
  'storage',
  'blockSizeBytes',
  'updateMode',
  'defaultSignatureAlgorithm',
  'signatureRationale',
  'allowedOperations',
  'allowedCodecs',
  'allowedDiffers',
  'decoderMemoryLimitBytes',
  'maxOperationBytes',
  'maxStashBytes',
  'partitionLayout',
  'slotSuffixes',
  'defaultPartitionName',
] as const;
