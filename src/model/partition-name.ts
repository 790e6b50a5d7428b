// What a partition name may be, everywhere it appears (manifest, target header, profiles,
// releases): 1-64 of A-Z a-z 0-9 _ . - — safe as a file name (`<partition>.img`) on any system.

/** The partition-name pattern (FORMAT.md §4). */
export const PARTITION_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The rule in words, for messages. */
export const PARTITION_NAME_RULE = '1-64 of A-Z a-z 0-9 _ . - (not . or ..)';

/** True when `name` is a valid partition name. */
export function isPartitionName(name: string): boolean {
  return PARTITION_NAME.test(name) && name !== '.' && name !== '..';
}
