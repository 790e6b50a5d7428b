// The one table of error codes: each stable code, its exit code and a one-line summary. OtaError
// takes its exit code from here, and README's "Exit codes" table is checked against it by a test.
// Warning codes (and the STRICT_ codes --strict makes of them) live in warning-codes.ts.

import { STRICT_CODES, type StrictCode } from './warning-codes.js';

/** Process exit codes, one per failure class. Stable: scripts depend on them. */
export const ExitCode = {
  ok: 0,
  internal: 1,
  usage: 2,
  badImage: 3,
  badPackage: 4,
  mismatch: 5,
  signature: 6,
  unsupported: 7,
  io: 8,
} as const;
/** One of the documented process exit codes. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const usage = ExitCode.usage;
const badImage = ExitCode.badImage;
const badPackage = ExitCode.badPackage;
const mismatch = ExitCode.mismatch;
const signature = ExitCode.signature;
const unsupported = ExitCode.unsupported;
const io = ExitCode.io;

/** Every error code the library throws (besides STRICT_*), with its exit code and what it means. */
export const ERROR_CODES = {
  // 1: internal (a bug; cli/main.ts reports any non-OtaError so)
  INTERNAL: { exitCode: ExitCode.internal, summary: 'an unexpected error: a bug, please report' },
  SELF_CHECK_FAILED: {
    exitCode: ExitCode.internal,
    summary: 'build: a kept blob does not decode back to the new data (an encoder or differ bug)',
  },
  // 2: usage
  USAGE: { exitCode: usage, summary: 'unknown option or command, missing argument (from the option parser)' },
  BAD_OPTION: { exitCode: usage, summary: 'an option value is malformed or out of range' },
  REPEATED_OPTION: { exitCode: usage, summary: 'a single-valued option was given more than once' },
  BAD_ALGORITHM: { exitCode: usage, summary: 'keygen: unknown key algorithm' },
  BAD_CODEC: { exitCode: usage, summary: '--codec names no codec' },
  BAD_DIFFER: { exitCode: usage, summary: '--differ names no differ' },
  BAD_LEVEL: { exitCode: usage, summary: 'compression level out of range for the codec' },
  BAD_LEVELS: { exitCode: usage, summary: 'compare: malformed --levels list' },
  LEVEL_NEEDS_CODEC: { exitCode: usage, summary: '--level given without a single --codec' },
  BAD_DEVICE_STATE: { exitCode: usage, summary: '--device-state file is malformed (a read failure is IO_<errno>)' },
  KEY_EXISTS: { exitCode: usage, summary: 'keygen: the output key file already exists' },
  UNKNOWN_TARGET: { exitCode: usage, summary: '--target names no built-in or file profile' },
  DUPLICATE_TARGET: { exitCode: usage, summary: '--target names two different profiles with one id' },
  PARTITION_NAME_DIFFERS: {
    exitCode: usage,
    summary: "the targets' profiles give a single image different partition names and --partition-name is not given",
  },
  PROFILE_INVALID: { exitCode: usage, summary: 'a target profile file is malformed' },
  FORMAT_TOO_NEW: {
    exitCode: usage,
    summary: "the package would need a newer format than the target profile's maxFormatMinor",
  },
  CODEC_NOT_ALLOWED: { exitCode: usage, summary: 'the chosen codec is not allowed by a target' },
  DIFFER_NOT_ALLOWED: { exitCode: usage, summary: 'the chosen differ is not allowed by a target' },
  MIXED_INPUTS: { exitCode: usage, summary: 'one input is an image and the other a release' },
  COMPARE_RELEASE: { exitCode: usage, summary: 'compare was given a release; it measures one image' },
  MIXED_BLOCK_SIZES: { exitCode: usage, summary: 'the inputs have different block sizes' },
  UNKNOWN_PARTITION: { exitCode: usage, summary: '--partitions or --exclude names no partition' },
  NO_PARTITIONS: { exitCode: usage, summary: 'nothing is left to update after the partition filters' },
  PARTITION_WITHOUT_IMAGE: { exitCode: usage, summary: 'a named partition has no image in the release' },
  TARGET_LAYOUT_MISMATCH: { exitCode: usage, summary: "a vendor release built for another chipset's target" },
  OLD_REQUIRED: { exitCode: usage, summary: 'a delta package is applied without --old' },
  OLD_NOT_RELEASE: { exitCode: usage, summary: 'a release package is applied to a single image' },
  OUTPUT_IS_OLD: { exitCode: usage, summary: 'the output path is the old image' },
  OUTPUT_IS_INPUT: { exitCode: usage, summary: "an output path names one of the command's inputs" },
  OUTPUT_NOT_FILE: { exitCode: usage, summary: 'the output path is not a file (or folder, for releases)' },
  OUTPUT_NOT_FOLDER: { exitCode: usage, summary: 'the output must be a folder (build -o, a release package)' },
  OUTPUT_TOO_SMALL: { exitCode: usage, summary: 'the output block device is smaller than the new image' },
  NOT_IN_PLACE_PACKAGE: {
    exitCode: usage,
    summary: 'apply --in-place given an A/B package (its op order is not proven safe in place)',
  },
  BAD_STASH_DIR: { exitCode: usage, summary: '--stash-dir is not a folder of ours (a symlink, a file, another user)' },
  OUTPUT_FORMAT_DEVICE: { exitCode: usage, summary: '--output-format sparse cannot be written to a block device' },
  OUTPUT_FORMAT_SIZE: {
    exitCode: usage,
    summary: '--output-format sparse given an image whose size is not a whole number of blocks',
  },
  TOO_MANY_KEYS: { exitCode: usage, summary: 'more signing keys than a package carries (4)' },
  KEY_ALGORITHM_MISMATCH: { exitCode: usage, summary: 'the signing keys of one package use different algorithms' },
  DUPLICATE_KEY: { exitCode: usage, summary: 'the same signing key is given twice' },
  KEY_MISSING: {
    exitCode: usage,
    summary: 'keys are given for some targets only: one left out would be signed with the public test key',
  },
  SIGN_PUBKEY_REQUIRED: { exitCode: usage, summary: '--sign-command given without --sign-pubkey' },
  PKCS11_BAD_URI: { exitCode: usage, summary: 'a pkcs11: key URI is malformed (RFC 7512) or carries a pin-value' },
  PKCS11_NO_MODULE: { exitCode: usage, summary: 'no PKCS#11 module: --pkcs11-module or OTA_PKCS11_MODULE' },
  PKCS11_NO_PIN: { exitCode: usage, summary: 'no PIN for the token: pin-source in the URI or OTA_PKCS11_PIN' },
  PKCS11_BAD_PIN_SOURCE: { exitCode: usage, summary: 'the pin-source file cannot be read' },
  PKCS11_TOKEN_AMBIGUOUS: { exitCode: usage, summary: 'the URI matches more than one token' },
  PKCS11_KEY_AMBIGUOUS: { exitCode: usage, summary: 'the URI matches more than one key on the token' },
  // 3: bad input image or release
  IMAGE_ALL_DONT_CARE: {
    exitCode: badImage,
    summary: 'the new image is all DONT_CARE (nothing to write) but differs from the old',
  },
  IMAGE_EMPTY: { exitCode: badImage, summary: 'the image has no blocks' },
  IMAGE_NOT_FILE: { exitCode: badImage, summary: 'the image path is not a regular file' },
  IMAGE_TRUNCATED: { exitCode: badImage, summary: 'the image shrank while being read' },
  IMAGE_TOO_LARGE: { exitCode: badImage, summary: 'the image is larger than the format allows' },
  SPARSE_BAD_HEADER: { exitCode: badImage, summary: 'malformed Android sparse file header' },
  SPARSE_BAD_CHUNK: { exitCode: badImage, summary: 'malformed Android sparse chunk' },
  SPARSE_TRUNCATED: { exitCode: badImage, summary: 'the sparse image ends early' },
  SPARSE_CRC_MISMATCH: { exitCode: badImage, summary: 'a sparse CRC32 chunk does not match the data' },
  NOT_A_RELEASE: { exitCode: badImage, summary: 'the path is neither an image nor a release' },
  RELEASE_BAD_LAYOUT: { exitCode: badImage, summary: 'malformed layout file (rawprogram, scatter)' },
  RELEASE_BAD_NAME: { exitCode: badImage, summary: 'a partition or file name is not allowed' },
  RELEASE_PATH_ESCAPE: { exitCode: badImage, summary: 'a layout names a file outside its folder' },
  RELEASE_OVERLAP: { exitCode: badImage, summary: 'two partitions of a layout overlap' },
  RELEASE_TOO_BIG: { exitCode: badImage, summary: 'an image is larger than its partition' },
  RELEASE_MISSING_FILE: { exitCode: badImage, summary: 'a layout names a file that is missing' },
  RELEASE_NO_IMAGE: { exitCode: badImage, summary: 'a .pac config lists a partition no entry carries' },
  RELEASE_EMPTY: { exitCode: badImage, summary: 'a folder holds no images and no layout file' },
  RELEASE_AMBIGUOUS: { exitCode: badImage, summary: 'a folder holds more than one layout file' },
  RELEASE_DUPLICATE_LABEL: { exitCode: badImage, summary: 'two partitions share a name' },
  RELEASE_SLOT_MISMATCH: { exitCode: badImage, summary: 'the slots of one partition name different images' },
  RELEASE_LAYOUT_CHANGED: { exitCode: badImage, summary: 'old and new releases have incompatible layouts' },
  PAC_BAD_MAGIC: { exitCode: badImage, summary: 'not a Unisoc .pac file' },
  PAC_BAD_VERSION: { exitCode: badImage, summary: 'unknown .pac version' },
  PAC_BAD_CRC: { exitCode: badImage, summary: '.pac header or data CRC mismatch' },
  PAC_BAD_OFFSET: { exitCode: badImage, summary: 'a .pac entry points outside the file' },
  PAC_BAD_ENTRY: { exitCode: badImage, summary: 'malformed .pac entry' },
  PAC_BAD_SIZE: { exitCode: badImage, summary: '.pac size field disagrees with the file' },
  PAC_BAD_CONFIG: { exitCode: badImage, summary: 'malformed .pac XML configuration' },
  PAC_TRUNCATED: { exitCode: badImage, summary: 'the .pac file ends early' },
  PAC_TOO_MANY_ENTRIES: { exitCode: badImage, summary: 'the .pac declares too many entries' },
  PAC_OVERLAP: { exitCode: badImage, summary: 'two .pac entries overlap' },
  PAC_NOT_FILE: { exitCode: badImage, summary: 'the .pac path is not a regular file' },
  // 4: bad package format
  PKG_NOT_FILE: { exitCode: badPackage, summary: 'the package path is a FIFO, device or other non-regular file' },
  PKG_BAD_MAGIC: { exitCode: badPackage, summary: 'not an ota-build package' },
  PKG_UNSUPPORTED_VERSION: { exitCode: badPackage, summary: 'unknown package major version' },
  PKG_BAD_HEADER: { exitCode: badPackage, summary: 'malformed package header' },
  PKG_TRUNCATED: { exitCode: badPackage, summary: 'the package is shorter than its header says' },
  PKG_SIZE_MISMATCH: { exitCode: badPackage, summary: 'the package has trailing data' },
  PKG_BAD_LENGTH: { exitCode: badPackage, summary: 'a header length is out of bounds' },
  PKG_BAD_TARGET_HEADER: { exitCode: badPackage, summary: 'malformed target header' },
  PKG_BAD_MANIFEST: { exitCode: badPackage, summary: 'malformed or inconsistent manifest' },
  PKG_NON_CANONICAL: { exitCode: badPackage, summary: 'a protobuf section is not canonically encoded' },
  PKG_BAD_SIGNATURE_BLOCK: { exitCode: badPackage, summary: 'malformed signature block' },
  PKG_IN_PLACE_UNSAFE: {
    exitCode: badPackage,
    summary: 'an in-place package reads an overwritten block, exceeds its stash limit, or misuses a stash',
  },
  BLOB_DECODE_FAILED: { exitCode: badPackage, summary: 'a blob is corrupt, truncated or over its size cap' },
  // 5: verification mismatch
  WRONG_BASE: { exitCode: mismatch, summary: "the old image's sha256 is not the package's source" },
  WRONG_TARGET: { exitCode: mismatch, summary: 'the package is for another target' },
  WRONG_PLATFORM: { exitCode: mismatch, summary: 'the package is for another platform' },
  DOWNGRADE: { exitCode: mismatch, summary: 'the package is older than the device build' },
  SOURCE_MISMATCH: { exitCode: mismatch, summary: "an operation's source blocks do not hash as declared" },
  BLOB_HASH_MISMATCH: { exitCode: mismatch, summary: 'a blob does not hash as declared' },
  OUTPUT_MISMATCH: { exitCode: mismatch, summary: 'the written image does not hash as declared' },
  // 6: signature
  SIG_MISSING: { exitCode: signature, summary: 'the package is unsigned' },
  SIG_SIGNER_BAD_SIGNATURE: {
    exitCode: signature,
    summary: 'a token or sign command returned a signature its public key refuses',
  },
  SIG_COMMAND_FAILED: { exitCode: signature, summary: 'the sign command failed or printed no signature' },
  SIG_COMMAND_TIMEOUT: { exitCode: signature, summary: 'the sign command did not answer within --sign-timeout' },
  PKCS11_PIN_INCORRECT: { exitCode: signature, summary: 'the token refused the PIN' },
  PKCS11_KEY_NOT_FOUND: { exitCode: signature, summary: 'no key on the token matches the URI' },
  PKCS11_TOKEN_NOT_FOUND: { exitCode: signature, summary: 'no token matches the URI' },
  PKCS11_KEY_INVALID: { exitCode: signature, summary: 'the token key cannot be used or exported as a public key' },
  PKCS11_FAILED: { exitCode: signature, summary: 'the PKCS#11 module reported another failure' },
  SIG_METADATA_INVALID: { exitCode: signature, summary: 'the metadata signature does not verify' },
  SIG_PAYLOAD_INVALID: { exitCode: signature, summary: 'the payload signature does not verify' },
  SIG_WRONG_KEY: { exitCode: signature, summary: 'signed by another key than --pubkey' },
  SIG_UNKNOWN_KEY: { exitCode: signature, summary: 'signed by a key other than the test key, and no --pubkey' },
  SIG_UNKNOWN_ALGORITHM: { exitCode: signature, summary: 'unknown signature algorithm id' },
  SIG_KEY_MISMATCH: { exitCode: signature, summary: 'metadata and payload signatures name different keys' },
  SIG_NOT_VERIFIED: {
    exitCode: signature,
    summary: 'the payload signature was asked for on a package opened without a key',
  },
  SIG_SIGN_FAILED: { exitCode: signature, summary: 'signing failed' },
  SIG_ENCODE_FAILED: { exitCode: signature, summary: 'a signature does not fit its slot' },
  KEY_INVALID: { exitCode: signature, summary: 'a key file is not a usable PEM key' },
  KEY_NOT_PRIVATE: { exitCode: signature, summary: '--key is a public key' },
  // 7: unsupported
  PKCS11_MECHANISM_UNSUPPORTED: { exitCode: unsupported, summary: 'the token lacks the signing mechanism' },
  KEY_UNSUPPORTED: { exitCode: unsupported, summary: 'a key type ota-build does not sign with' },
  IN_PLACE_UNSUPPORTED: {
    exitCode: unsupported,
    summary:
      'an in-place build or apply of what in-place mode does not cover (releases, several targets of mixed modes, resized images)',
  },
  DEVICE_LIMIT_EXCEEDED: {
    exitCode: unsupported,
    summary: "an op exceeds the device profile's limits (op size, decoder memory, op type, codec, differ)",
  },
  SPARSE_OUTPUT_UNALIGNED: { exitCode: unsupported, summary: 'a sparse output of a size not a block multiple' },
  SPARSE_OUTPUT_ORDER: { exitCode: unsupported, summary: 'a sparse output needs ops in destination order' },
  PKG_NEWER_MINOR: { exitCode: unsupported, summary: 'a package format newer than this reader' },
  MULTI_PARTITION: { exitCode: unsupported, summary: 'a multi-partition package without a release layout' },
  UNKNOWN_CODEC: { exitCode: unsupported, summary: 'a codec wire id this version does not know' },
  UNKNOWN_DIFFER: { exitCode: unsupported, summary: 'a differ wire id this version does not know' },
  NO_ALLOWED_ENCODING: { exitCode: unsupported, summary: 'no candidate encoding is allowed by a target' },
  HTTP_RANGE_UNSUPPORTED: { exitCode: unsupported, summary: 'the server ignores Range requests (answers 200)' },
  URL_UNSUPPORTED: { exitCode: unsupported, summary: 'a package URL of a scheme other than http(s) (ftp://, s3://…)' },
  // 8: I/O (IO_<errno> for the errno codes listed; IO_FAILED for any other)
  PKCS11_MODULE_LOAD_FAILED: { exitCode: io, summary: 'the PKCS#11 module cannot be loaded' },
  NO_SPACE: { exitCode: io, summary: 'not enough free space (checked before apply starts)' },
  OUTPUT_BUSY: { exitCode: io, summary: 'another apply holds the lock of this output; nothing was written' },
  RELEASE_NOT_MOVED: {
    exitCode: io,
    summary: 'verified partitions could not be moved into the output folder; it is left as it was, staging kept',
  },
  IO_ENOENT: { exitCode: io, summary: 'no such file or folder' },
  IO_EACCES: { exitCode: io, summary: 'permission denied' },
  IO_EPERM: { exitCode: io, summary: 'operation not permitted' },
  IO_ENOSPC: { exitCode: io, summary: 'no space left on device' },
  IO_EDQUOT: { exitCode: io, summary: 'disk quota exceeded' },
  IO_EISDIR: { exitCode: io, summary: 'is a folder' },
  IO_ENOTDIR: { exitCode: io, summary: 'a path component is not a folder' },
  IO_EEXIST: { exitCode: io, summary: 'already exists' },
  IO_ENOTEMPTY: { exitCode: io, summary: 'folder not empty' },
  IO_EROFS: { exitCode: io, summary: 'read-only file system' },
  IO_EBUSY: { exitCode: io, summary: 'resource busy' },
  IO_EMFILE: { exitCode: io, summary: 'too many open files' },
  IO_EXDEV: { exitCode: io, summary: 'rename across file systems' },
  IO_EIO: { exitCode: io, summary: 'low-level I/O error' },
  IO_ENAMETOOLONG: { exitCode: io, summary: 'file name too long' },
  IO_ELOOP: { exitCode: io, summary: 'a symbolic link where none is followed, or too many of them' },
  IO_EFBIG: { exitCode: io, summary: 'file too large' },
  IO_EINVAL: { exitCode: io, summary: 'invalid argument to a file-system call' },
  IO_FAILED: { exitCode: io, summary: 'any other file-system failure' },
  HTTP_FAILED: { exitCode: io, summary: 'a package URL failed after every retry (drops, resets, stalls, 5xx)' },
  HTTP_STATUS: { exitCode: io, summary: 'the server answered a package request with an error status' },
  HTTP_BAD_RANGE: { exitCode: io, summary: 'a ranged response has the wrong Content-Range or Content-Length' },
  HTTP_TOO_MANY_REDIRECTS: { exitCode: io, summary: 'a package URL redirects more than 5 times' },
  TLS_CERTIFICATE: { exitCode: io, summary: 'the HTTPS server certificate does not verify (see --ca-file)' },
  PACKAGE_CHANGED: { exitCode: io, summary: 'the package at the URL changed during the download (ETag/size)' },
} as const satisfies Record<string, { exitCode: ExitCode; summary: string }>;

/** A code from ERROR_CODES, or a STRICT_ code made from a warning. */
export type ErrorCode = keyof typeof ERROR_CODES | StrictCode;

/** The codes whose exit code is `E` (so e.g. UsageError accepts only exit-2 codes). */
export type CodeWithExit<E extends ExitCode> =
  | {
      [K in keyof typeof ERROR_CODES]: (typeof ERROR_CODES)[K]['exitCode'] extends E ? K : never;
    }[keyof typeof ERROR_CODES]
  | (E extends typeof ExitCode.usage ? StrictCode : never);

/** The exit code of `code`; undefined for a string that is no known code. */
export function exitCodeOf(code: string): ExitCode | undefined {
  if (Object.hasOwn(ERROR_CODES, code)) return ERROR_CODES[code as keyof typeof ERROR_CODES].exitCode;
  return (STRICT_CODES as readonly string[]).includes(code) ? ExitCode.usage : undefined;
}

/** Every code with its exit code, STRICT_ codes included (what README's table must list). */
export function allErrorCodes(): { code: ErrorCode; exitCode: ExitCode }[] {
  return [
    ...Object.entries(ERROR_CODES).map(([code, e]) => ({ code: code as ErrorCode, exitCode: e.exitCode })),
    ...STRICT_CODES.map((code) => ({ code, exitCode: ExitCode.usage })),
  ];
}
