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
/** Largest stash limit a target header or profile may declare (in-place packages, 1.3). */
export const MAX_STASH_BYTES = 2 ** 40;
/** Block sizes a package may use. */
export const MIN_BLOCK_SIZE_BYTES = 512;
export const MAX_BLOCK_SIZE_BYTES = 1024 * 1024;
/** Counts a manifest may hold. */
export const MAX_PARTITIONS = 256;
/**
 * Sized to the reader's memory budget (512 MiB for a whole verify/apply/inspect): a decoded
 * manifest costs ~3.5 KiB per op plus ~1 KiB per extent in this reader (protobufjs objects, the
 * model, the canonical re-encoding and the invariant checks: 65 536 ops with 262 144 extents
 * peaked at 462 MB, 500 000 ops at 2.6 GB). 32 768 ops cover 128 GiB in 4 MiB ops, 32 GiB in
 * 1 MiB ops (unisoc).
 */
export const MAX_OPERATIONS = 32_768;
/** All extents of all operations and DONT_CARE lists together: 4 per op on average. */
export const MAX_TOTAL_EXTENTS = 131_072;
export const MAX_EXTENTS_PER_OPERATION = 65_536;
export const MAX_DONT_CARE_EXTENTS = 65_536;
/** Length of every sha256 field. */
export const SHA256_BYTES = 32;
