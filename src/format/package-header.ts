// The 64-byte fixed header (docs/FORMAT.md §2): encode, decode and check against the file size.
// Knows byte offsets and limits; nothing about signatures, manifests or policy.

import { PackageFormatError, SignatureError, UnsupportedError, hexBytes } from '../errors/ota-error.js';
import { HEADER_SIZE_BYTES, MAX_BLOB_SECTION_BYTES, MAX_MANIFEST_BYTES, MAX_TARGET_HEADER_BYTES } from './limits.js';

/** Magic bytes at offset 0. */
export const PACKAGE_MAGIC = Buffer.from('OTAPKG', 'ascii');
/** Format version this code writes and reads. */
export const FORMAT_MAJOR = 1;
export const FORMAT_MINOR = 7;
/** Minor version whose features (release layouts, unchanged partitions) a package needs. */
export const MINOR_RELEASE_LAYOUT = 1;
/** Minor version a package signed by more than one key needs (signature sections, FORMAT.md §5). */
export const MINOR_MULTI_SIGNATURE = 2;
/** Minor version an in-place package needs (STASH/FREE ops, stash ids, dst hashes, FORMAT.md §4b). */
export const MINOR_IN_PLACE = 3;
/** Minor version a package with a sourceless DIFF op needs (a differ run on no source bytes, FORMAT.md §4). */
export const MINOR_SOURCELESS_DIFF = 4;
/** Minor version a package needs when an exec-aware patch carries a label table (FORMAT.md §4). */
export const MINOR_EXEC_LABELS = 5;
/** Minor version a package needs when a DIFF op reads blocks of the partition being written (FORMAT.md §4). */
export const MINOR_TARGET_SOURCE = 6;
/** Minor version a package needs when a deflate-aware patch re-makes a stream from a recipe (FORMAT.md §4). */
export const MINOR_DEFLATE_RECIPES = 7;
/**
 * Minor version a package with an xz blob in the [ARM64 BCJ, LZMA2] chain needs (FORMAT.md §4):
 * the manifest does not show it, so the writer takes it from the blobs' encoders.
 */
export const MINOR_XZ_ARM64 = 4;

/** Section sizes recorded in the header. */
export interface PackageHeader {
  readonly formatMajor: number;
  readonly formatMinor: number;
  readonly targetHeaderSizeBytes: number;
  readonly manifestSizeBytes: number;
  readonly metadataSignatureSizeBytes: number;
  readonly payloadSignatureSizeBytes: number;
  readonly blobSectionSizeBytes: number;
}

/** Offset and size of one section in the file. */
export interface SectionRange {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
}

/** Where every section lies, derived from a header. */
export interface PackageLayout {
  readonly header: SectionRange;
  readonly targetHeader: SectionRange;
  readonly manifest: SectionRange;
  readonly metadataSignature: SectionRange;
  readonly blobs: SectionRange;
  readonly payloadSignature: SectionRange;
  /** End of the bytes the metadata signature covers. */
  readonly metadataEndBytes: number;
  readonly fileSizeBytes: number;
}

/** Encodes a header (all sizes must already be within limits). */
export function encodePackageHeader(h: PackageHeader): Buffer {
  const buf = Buffer.alloc(HEADER_SIZE_BYTES);
  PACKAGE_MAGIC.copy(buf, 0);
  buf.writeUInt8(h.formatMajor, 6);
  buf.writeUInt8(h.formatMinor, 7);
  buf.writeUInt32LE(HEADER_SIZE_BYTES, 8);
  buf.writeUInt32LE(0, 12);
  buf.writeUInt32LE(h.targetHeaderSizeBytes, 16);
  buf.writeUInt32LE(h.manifestSizeBytes, 20);
  buf.writeUInt32LE(h.metadataSignatureSizeBytes, 24);
  buf.writeUInt32LE(h.payloadSignatureSizeBytes, 28);
  buf.writeBigUInt64LE(BigInt(h.blobSectionSizeBytes), 32);
  return buf;
}

/**
 * Decodes and checks a header against the real file size before any size is trusted. Throws
 * PackageFormatError (exit 4; also for another major version) or SignatureError (exit 6) when a
 * signature section is missing.
 */
export function decodePackageHeader(buf: Uint8Array, fileSizeBytes: number): PackageHeader {
  if (buf.length < HEADER_SIZE_BYTES || fileSizeBytes < HEADER_SIZE_BYTES) {
    throw new PackageFormatError(
      'PKG_TRUNCATED',
      `package is ${fileSizeBytes} bytes, shorter than the ${HEADER_SIZE_BYTES}-byte header`,
    );
  }
  const b = Buffer.from(buf.buffer, buf.byteOffset, HEADER_SIZE_BYTES);
  if (!b.subarray(0, 6).equals(PACKAGE_MAGIC)) {
    throw new PackageFormatError(
      'PKG_BAD_MAGIC',
      `bad magic at offset 0: expected "OTAPKG", got ${hexBytes(b.subarray(0, 6))}`,
    );
  }
  const formatMajor = b.readUInt8(6);
  const formatMinor = b.readUInt8(7);
  if (formatMajor !== FORMAT_MAJOR) {
    throw new PackageFormatError(
      'PKG_UNSUPPORTED_VERSION',
      `package format ${formatMajor}.${formatMinor} at offset 6 is not supported: this reader knows major version ${FORMAT_MAJOR}`,
    );
  }
  if (formatMinor > FORMAT_MINOR) {
    throw new UnsupportedError(
      'PKG_NEWER_MINOR',
      `package format ${formatMajor}.${formatMinor} at offset 7 is newer than this reader's ${FORMAT_MAJOR}.${FORMAT_MINOR}: update ota-build`,
    );
  }
  expectField(
    b.readUInt32LE(8) === HEADER_SIZE_BYTES,
    8,
    `headerSizeBytes ${b.readUInt32LE(8)}, expected ${HEADER_SIZE_BYTES}`,
  );
  expectField(b.readUInt32LE(12) === 0, 12, `flags 0x${b.readUInt32LE(12).toString(16)}, expected 0`);
  for (let i = 40; i < HEADER_SIZE_BYTES; i++) {
    expectField(b[i] === 0, i, `reserved byte is 0x${b[i]!.toString(16)}, expected 0`);
  }
  for (const [offset, what] of [
    [24, 'metadata'],
    [28, 'payload'],
  ] as const) {
    if (b.readUInt32LE(offset) === 0)
      throw new SignatureError(
        'SIG_MISSING',
        `package is unsigned: the ${what} signature size at offset ${offset} is 0`,
      );
  }
  const blobBig = b.readBigUInt64LE(32);
  const header: PackageHeader = {
    formatMajor,
    formatMinor,
    targetHeaderSizeBytes: checkedLength(b.readUInt32LE(16), 16, 'targetHeaderSizeBytes', 1, MAX_TARGET_HEADER_BYTES),
    manifestSizeBytes: checkedLength(b.readUInt32LE(20), 20, 'manifestSizeBytes', 1, MAX_MANIFEST_BYTES),
    metadataSignatureSizeBytes: checkedLength(b.readUInt32LE(24), 24, 'metadataSignatureSizeBytes', 37, 4096),
    payloadSignatureSizeBytes: checkedLength(b.readUInt32LE(28), 28, 'payloadSignatureSizeBytes', 37, 4096),
    blobSectionSizeBytes: checkedLength(
      blobBig > BigInt(MAX_BLOB_SECTION_BYTES) ? Number.MAX_SAFE_INTEGER : Number(blobBig),
      32,
      'blobSectionSizeBytes',
      0,
      MAX_BLOB_SECTION_BYTES,
    ),
  };
  const layout = packageLayout(header);
  if (layout.fileSizeBytes !== fileSizeBytes) {
    const code = fileSizeBytes < layout.fileSizeBytes ? 'PKG_TRUNCATED' : 'PKG_SIZE_MISMATCH';
    // No checksum covers the header: a wrong section size reads like a cut or a longer file.
    const why =
      fileSizeBytes === layout.blobs.offsetBytes
        ? 'it ends where the blob section begins: a metadata prefix, which verify --metadata-only checks'
        : code === 'PKG_TRUNCATED'
          ? 'truncated, or a section size in the header is wrong'
          : 'trailing data, or a section size in the header is wrong';
    throw new PackageFormatError(
      code,
      `package is ${fileSizeBytes} bytes but its header describes ${layout.fileSizeBytes} bytes (${why})`,
    );
  }
  return header;
}

/** Computes every section's offset from a header. */
export function packageLayout(h: PackageHeader): PackageLayout {
  const sections: SectionRange[] = [];
  let offset = 0;
  for (const size of [
    HEADER_SIZE_BYTES,
    h.targetHeaderSizeBytes,
    h.manifestSizeBytes,
    h.metadataSignatureSizeBytes,
    h.blobSectionSizeBytes,
    h.payloadSignatureSizeBytes,
  ]) {
    sections.push({ offsetBytes: offset, sizeBytes: size });
    offset += size;
  }
  const [header, targetHeader, manifest, metadataSignature, blobs, payloadSignature] = sections as [
    SectionRange,
    SectionRange,
    SectionRange,
    SectionRange,
    SectionRange,
    SectionRange,
  ];
  return {
    header,
    targetHeader,
    manifest,
    metadataSignature,
    blobs,
    payloadSignature,
    metadataEndBytes: metadataSignature.offsetBytes,
    fileSizeBytes: offset,
  };
}

function checkedLength(value: number, offset: number, name: string, min: number, max: number): number {
  if (value < min || value > max) {
    throw new PackageFormatError(
      'PKG_BAD_LENGTH',
      `${name} at offset ${offset} is ${value === Number.MAX_SAFE_INTEGER ? 'over 2^50' : value}, expected ${min}..${max}`,
    );
  }
  return value;
}

function expectField(ok: boolean, offset: number, what: string): void {
  if (!ok) throw new PackageFormatError('PKG_BAD_HEADER', `bad header at offset ${offset}: ${what}`);
}

/**
 * The file size a header declares, read without checking it against a file (undefined when the
 * lengths are out of their limits: decodePackageHeader then says which). For metadata prefixes.
 */
export function declaredFileSizeBytes(buf: Uint8Array): number | undefined {
  try {
    return packageLayout(decodeHeaderFields(buf)).fileSizeBytes;
  } catch {
    return undefined;
  }
}

/** Bytes from offset 0 to the end of the metadata signature, per the header's lengths (unchecked). */
export function metadataPrefixSizeBytes(buf: Uint8Array): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, HEADER_SIZE_BYTES);
  return HEADER_SIZE_BYTES + b.readUInt32LE(16) + b.readUInt32LE(20) + b.readUInt32LE(24);
}

function decodeHeaderFields(buf: Uint8Array): PackageHeader {
  // decodePackageHeader with the size the header itself describes: every check but the file size.
  const b = Buffer.from(buf.buffer, buf.byteOffset, HEADER_SIZE_BYTES);
  const blob = Number(b.readBigUInt64LE(32));
  const size =
    HEADER_SIZE_BYTES + b.readUInt32LE(16) + b.readUInt32LE(20) + b.readUInt32LE(24) + b.readUInt32LE(28) + blob;
  return decodePackageHeader(buf, size);
}
