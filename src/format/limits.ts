// Hard limits of format v1. Every length read from a package is checked against these
// before anything is allocated from it (docs/FORMAT.md §2).

/** Size of the fixed header. */
export const HEADER_SIZE_BYTES = 64;
/** Largest target header. */
export const MAX_TARGET_HEADER_BYTES = 64 * 1024;
/** Largest manifest (its item counts are checked on the wire before decoding). */
export const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;
/** Largest blob section (2^50 bytes, one PiB): above any real partition set, below 2^53. */
export const MAX_BLOB_SECTION_BYTES = 2 ** 50;
/** Largest image an identity may describe. */
export const MAX_IMAGE_BYTES = 2 ** 50;
/** Largest destination size of one op (and of a profile's maxOperationBytes). */
export const MAX_OPERATION_BYTES = 1024 * 1024 * 1024;
/** Largest decoder memory a target may allow. */
export const MAX_DECODER_MEMORY_BYTES = 2 ** 40;
/** Block sizes a package may use. */
export const MIN_BLOCK_SIZE_BYTES = 512;
export const MAX_BLOCK_SIZE_BYTES = 1024 * 1024;
/** Counts a manifest may hold. */
export const MAX_PARTITIONS = 256;
/** A 64 GiB image in 1 MiB ops is ~65 000 ops: this leaves room while keeping decoding bounded. */
export const MAX_OPERATIONS = 500_000;
/** All extents of all operations and DONT_CARE lists together. */
export const MAX_TOTAL_EXTENTS = 2_000_000;
export const MAX_EXTENTS_PER_OPERATION = 65_536;
export const MAX_DONT_CARE_EXTENTS = 1_000_000;
/** Length of every sha256 field. */
export const SHA256_BYTES = 32;
