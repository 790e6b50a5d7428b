// PackageReader: opens a package with bounded reads in the order FORMAT.md §6 prescribes —
// header and lengths against the file size, metadata signature verified, and only then the
// target header and manifest decoded and checked. Nothing is allocated from an unchecked field.
// Reads go through a ByteRangeSource (a file, or HTTP ranges); with `metadataOnly` nothing past
// the metadata signature is read at open, so a streaming client checks before it downloads a body.

import { createHash } from 'node:crypto';
import { PackageFormatError, SignatureError, VerificationError } from '../errors/ota-error.js';
import { checkManifestInvariants } from '../format/manifest-invariants.js';
import { minorVersionOf } from '../format/format-version.js';
import { decodeManifest } from '../format/manifest-codec.js';
import { HEADER_SIZE_BYTES } from '../format/limits.js';
import {
  MINOR_MULTI_SIGNATURE,
  decodePackageHeader,
  declaredFileSizeBytes,
  metadataPrefixSizeBytes,
  packageLayout,
  type PackageHeader,
  type PackageLayout,
} from '../format/package-header.js';
import { METADATA_CONTEXT, PAYLOAD_CONTEXT, signedStatement, type SignatureBlock } from '../format/signature-block.js';
import { decodeSignatureSection } from '../format/signature-section.js';
import { decodeTargetHeader } from '../format/target-header-codec.js';
import type { Manifest } from '../model/manifest.js';
import type { BlobRef } from '../model/operation.js';
import type { TargetHeader } from '../model/target-header.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { chooseVerifiers } from '../signing/choose-key.js';
import type { Verifier } from '../signing/signer.js';
import { nodeSha256, resumableSha256, type RunningSha256 } from '../hashing/running-sha256.js';
import { FileRangeSource } from '../transport/file-range-source.js';
import { isPackageUrl, type ByteRangeSource } from '../transport/byte-range-source.js';
import type { HttpSourceOptions } from '../transport/http-range-source.js';
import { openPackageSource } from '../transport/open-package-source.js';
import { PLUGIN_WIRE_IDS } from './plugin-wire-ids.js';

/** How to open a package. */
export interface OpenPackageOptions {
  /**
   * Pinned public key file(s): the package is accepted when any of them signs both the metadata
   * and the payload. Default: the embedded test key (with a warning).
   */
  readonly pubkeyPath?: string | readonly string[];
  /** false only for `inspect` without a key: decode without trusting (reported as unverified). */
  readonly verifyMetadata?: boolean;
  /** A verifier to use instead of loading a key (the builder's self-check). */
  readonly verifier?: Verifier;
  readonly reporter?: Reporter;
  /**
   * Read only the metadata prefix (header … metadata signature) at open: the source may hold just
   * that prefix (`verify --metadata-only`), and the payload signature is read by
   * `verifyPayloadSignature` after the body (streaming).
   */
  readonly metadataOnly?: boolean;
  /**
   * With `metadataOnly`: the body will be read (apply streams it), so a source holding only the
   * metadata prefix is refused at open (PKG_TRUNCATED), before anything is written.
   */
  readonly bodyNeeded?: boolean;
}

const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** Reads of blob bytes that are only hashed (a resumed stream without a saved hash state). */
const GAP_CHUNK_BYTES = 1024 * 1024;

/** A payload hash state kept in a checkpoint: sha256 over [0, atBytes) of the package file. */
export interface SavedPayloadHash {
  /** The running sha256 state (base64, hash-wasm's format). */
  readonly state: string;
  /** File offset up to which the state has hashed. */
  readonly atBytes: number;
}

/** An opened, metadata-verified package. */
export class PackageReader {
  /** sha256 over [0, hashedUpToBytes) of the bytes read in order so far (for the payload signature). */
  private payloadHash: RunningSha256 = nodeSha256();
  private hashedUpToBytes = 0;
  /** Opened `metadataOnly`: the body is hashed as it is read, by a hash that can be saved. */
  private streamedBody = false;

  private constructor(
    readonly path: string,
    /** Where the bytes come from. */
    readonly source: ByteRangeSource,
    readonly header: PackageHeader,
    readonly layout: PackageLayout,
    readonly targetHeader: TargetHeader,
    readonly manifest: Manifest,
    /** The metadata signature block that verified (the first block when not verified). */
    readonly metadataSignature: SignatureBlock,
    /** The payload signature block of the same key (read later when opened `metadataOnly`). */
    private payloadBlock: SignatureBlock | undefined,
    readonly verifier: Verifier | undefined,
    /** Every metadata signature block, in file order (more than one during a key rotation). */
    readonly metadataSignatures: readonly SignatureBlock[],
    /** Every payload signature block, same keys in the same order. */
    private payloadBlocks: readonly SignatureBlock[] | undefined,
    /** Index of the signature block that verified. */
    private readonly signedAt: number,
    /** sha256 of the signed metadata (header, target header, manifest): identifies the package. */
    readonly metadataSha256: Buffer,
  ) {}

  /** Opens and checks a package; see the file comment for the order. */
  static async open(path: string, options: OpenPackageOptions = {}): Promise<PackageReader> {
    return PackageReader.openSource(await FileRangeSource.open(path), options);
  }

  /**
   * Opens a package file or http(s) URL. A URL is opened `metadataOnly` (nothing past the metadata
   * signature is fetched until asked for) unless the options say otherwise.
   */
  static async openAt(
    where: string,
    options: OpenPackageOptions = {},
    http?: HttpSourceOptions,
  ): Promise<PackageReader> {
    const metadataOnly = options.metadataOnly ?? isPackageUrl(where);
    return PackageReader.openSource(await openPackageSource(where, http), { ...options, metadataOnly });
  }

  /** Opens and checks a package read through `source` (closed on failure and by `close`). */
  static async openSource(source: ByteRangeSource, options: OpenPackageOptions = {}): Promise<PackageReader> {
    const reporter = options.reporter ?? new CollectingReporter();
    const path = source.name;
    try {
      const head = await source.read(0, Math.min(HEADER_SIZE_BYTES, source.sizeBytes));
      const header = decodePackageHeader(
        head,
        options.metadataOnly && !options.bodyNeeded ? metadataOnlySize(path, head, source.sizeBytes) : source.sizeBytes,
      );
      const layout = packageLayout(header);
      // One range for the rest of the metadata and its signature (FORMAT.md "Streaming a package").
      const rest = await source.read(HEADER_SIZE_BYTES, layout.blobs.offsetBytes - HEADER_SIZE_BYTES);
      const metadata = Buffer.concat([head.subarray(0, HEADER_SIZE_BYTES), rest]).subarray(0, layout.metadataEndBytes);
      const metaSigBytes = rest.subarray(layout.metadataEndBytes - HEADER_SIZE_BYTES);
      const metadataSignatures = decodeSignatureSection(
        metaSigBytes,
        layout.metadataSignature.offsetBytes,
        'metadata signature',
      );
      let payloadSignatures: readonly SignatureBlock[] | undefined;
      if (!options.metadataOnly) {
        payloadSignatures = await readPayloadSection(source, layout);
        checkSameKeys(metadataSignatures, payloadSignatures, header.formatMinor);
      } else checkSameKeys(metadataSignatures, metadataSignatures, header.formatMinor);
      let verifier: Verifier | undefined;
      let signedAt = 0;
      const metadataSha256 = createHash('sha256').update(metadata).digest();
      if (options.verifyMetadata !== false) {
        // Security: the metadata signature is checked before a single manifest byte is parsed.
        const candidates = options.verifier
          ? [options.verifier]
          : await chooseVerifiers(metadataSignatures, pubkeyPathsOf(options.pubkeyPath), reporter);
        const statement = signedStatement(METADATA_CONTEXT, metadataSha256);
        for (const candidate of candidates) {
          const at = metadataSignatures.findIndex((b) => Buffer.from(b.keyId).equals(Buffer.from(candidate.keyId)));
          if (at >= 0 && candidate.verify(statement, metadataSignatures[at]!.signature)) {
            [verifier, signedAt] = [candidate, at];
            break;
          }
        }
        if (!verifier) {
          const keys = candidates.map((c) => `${Buffer.from(c.keyId).toString('hex').slice(0, 16)}…`).join(', ');
          throw new SignatureError(
            'SIG_METADATA_INVALID',
            `metadata signature at offset ${layout.metadataSignature.offsetBytes} does not verify with key ${keys}`,
          );
        }
      }
      const metadataSignature = metadataSignatures[signedAt]!;
      const payloadSignature = payloadSignatures?.[signedAt];
      const targetHeader = decodeTargetHeader(
        metadata.subarray(layout.targetHeader.offsetBytes, layout.manifest.offsetBytes),
      );
      const manifest = decodeManifest(
        metadata.subarray(layout.manifest.offsetBytes, layout.metadataEndBytes),
        PLUGIN_WIRE_IDS,
      );
      for (const [what, block] of [
        ['metadata', metadataSignature],
        ['payload', payloadSignature],
      ] as const) {
        if (block && block.algorithm.name !== targetHeader.signatureAlgorithm) {
          throw new PackageFormatError(
            'PKG_BAD_SIGNATURE_BLOCK',
            `${what} signature uses ${block.algorithm.name} but the target header says ${targetHeader.signatureAlgorithm}`,
          );
        }
      }
      checkManifestInvariants(manifest, targetHeader, header.blobSectionSizeBytes);
      const minor = minorVersionOf(targetHeader, manifest);
      if (header.formatMinor < minor) {
        throw new PackageFormatError(
          'PKG_BAD_MANIFEST',
          `package says format ${header.formatMajor}.${header.formatMinor} but uses ${header.formatMajor}.${minor} features (release layouts, unchanged partitions, in-place ops, sourceless DIFF ops or DIFF ops reading the target)`,
        );
      }
      const reader = new PackageReader(
        path,
        source,
        header,
        layout,
        targetHeader,
        manifest,
        metadataSignature,
        payloadSignature,
        verifier,
        metadataSignatures,
        payloadSignatures,
        signedAt,
        metadataSha256,
      );
      // A streamed body is hashed as it arrives, by a hash whose state a checkpoint can keep.
      if (options.metadataOnly) [reader.payloadHash, reader.streamedBody] = [await resumableSha256(), true];
      reader.payloadHash.update(metadata);
      reader.payloadHash.update(metaSigBytes);
      reader.hashedUpToBytes = layout.blobs.offsetBytes;
      return reader;
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  /** The payload signature block of the verifying key (read by `verifyPayloadSignature` when `metadataOnly`). */
  get payloadSignature(): SignatureBlock {
    if (!this.payloadBlock) throw new SignatureError('SIG_NOT_VERIFIED', 'payload signature not read yet');
    return this.payloadBlock;
  }

  /** Every payload signature block, same keys in the same order. */
  get payloadSignatures(): readonly SignatureBlock[] {
    if (!this.payloadBlocks) throw new SignatureError('SIG_NOT_VERIFIED', 'payload signature not read yet');
    return this.payloadBlocks;
  }

  /**
   * Checks the payload signature: hashes whatever of [0, payload signature) was not already read
   * in order (a streaming apply has read all of it), reading the payload section if not done yet.
   */
  async verifyPayloadSignature(): Promise<void> {
    if (!this.verifier) throw new SignatureError('SIG_NOT_VERIFIED', 'package was opened without a key');
    const end = this.layout.payloadSignature.offsetBytes;
    for (let at = this.hashedUpToBytes; at < end; at += READ_CHUNK_BYTES) {
      await this.readRange(at, Math.min(READ_CHUNK_BYTES, end - at));
    }
    await this.loadPayloadSignatures();
    const digest = this.payloadHash.digestSoFar();
    if (!this.verifier.verify(signedStatement(PAYLOAD_CONTEXT, digest), this.payloadSignature.signature)) {
      throw new SignatureError(
        'SIG_PAYLOAD_INVALID',
        `payload signature at offset ${this.layout.payloadSignature.offsetBytes} does not verify: the package body was modified`,
      );
    }
  }

  /** Reads the payload signature section (the last bytes of the file) unless open already did. */
  async loadPayloadSignatures(): Promise<void> {
    if (this.payloadBlocks) return;
    const blocks = await readPayloadSection(this.source, this.layout);
    checkSameKeys(this.metadataSignatures, blocks, this.header.formatMinor);
    [this.payloadBlocks, this.payloadBlock] = [blocks, blocks[this.signedAt]];
    if (this.payloadBlock!.algorithm.name !== this.targetHeader.signatureAlgorithm)
      throw new PackageFormatError(
        'PKG_BAD_SIGNATURE_BLOCK',
        `payload signature uses ${this.payloadBlock!.algorithm.name} but the target header says ${this.targetHeader.signatureAlgorithm}`,
      );
  }

  /** Reads raw bytes; bytes read in order from the end of the metadata also feed the payload hash. */
  async readRange(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const bytes = await this.source.read(offsetBytes, lengthBytes);
    this.track(offsetBytes, bytes);
    return bytes;
  }

  /** true when opened `metadataOnly`: the body is hashed as it is read, and the hash can be saved. */
  get bodyStreamed(): boolean {
    return this.streamedBody;
  }

  /**
   * The payload hash's running state and the file offset it has hashed up to, for a checkpoint;
   * undefined when this reader's hash cannot be saved (a local file, verified before applying).
   */
  savePayloadHash(): SavedPayloadHash | undefined {
    const state = this.payloadHash.save();
    return state === undefined ? undefined : { state, atBytes: this.hashedUpToBytes };
  }

  /**
   * Continues the payload hash from a checkpoint's saved state, so the blobs before `atBytes` are
   * not read again. Untrusted input: `atBytes` must lie in the blob section ahead of what this
   * reader hashed itself, and a state that is not sha256's is refused (false). A state that is
   * wrong but well formed can only make the payload signature fail: every blob is still checked
   * against its sha256, and the output against the target's.
   */
  restorePayloadHash(saved: SavedPayloadHash): boolean {
    const { blobs, payloadSignature } = this.layout;
    if (!Number.isSafeInteger(saved.atBytes) || saved.atBytes < blobs.offsetBytes) return false;
    if (saved.atBytes > payloadSignature.offsetBytes || saved.atBytes <= this.hashedUpToBytes) return false;
    if (!this.payloadHash.load(saved.state)) return false;
    this.hashedUpToBytes = saved.atBytes;
    return true;
  }

  /**
   * Reads one blob (bounded by the checked manifest) and checks its sha256. A source that may
   * return other bytes on a second read (a network) is asked once more before giving up. When the
   * body is streamed, blob bytes before this blob that were not hashed yet (blobs of ops a resumed
   * run skips without a saved hash state) are read first, in order, for the payload hash.
   */
  async readBlob(blob: BlobRef, where: string): Promise<Buffer> {
    const offsetBytes = this.layout.blobs.offsetBytes + blob.offsetBytes;
    if (this.streamedBody)
      for (let at = this.hashedUpToBytes; at < offsetBytes; at += GAP_CHUNK_BYTES)
        await this.readRange(at, Math.min(GAP_CHUNK_BYTES, offsetBytes - at));
    const expected = Buffer.from(blob.sha256);
    let bytes = await this.source.read(offsetBytes, blob.sizeBytes);
    if (this.source.refetchable && !sha256Of(bytes).equals(expected)) {
      this.source.noteRefetch?.();
      bytes = await this.source.read(offsetBytes, blob.sizeBytes);
    }
    if (!sha256Of(bytes).equals(expected)) {
      throw new VerificationError(
        'BLOB_HASH_MISMATCH',
        `${where}: blob at offset ${offsetBytes} does not match its sha256`,
      );
    }
    this.track(offsetBytes, bytes);
    return bytes;
  }

  /** Closes the source. */
  async close(): Promise<void> {
    await this.source.close();
  }

  private track(offsetBytes: number, bytes: Buffer): void {
    const end = Math.min(offsetBytes + bytes.length, this.layout.payloadSignature.offsetBytes);
    if (offsetBytes <= this.hashedUpToBytes && end > this.hashedUpToBytes) {
      this.payloadHash.update(bytes.subarray(this.hashedUpToBytes - offsetBytes, end - offsetBytes));
      this.hashedUpToBytes = end;
    }
  }
}

function sha256Of(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Reads and decodes the payload signature section at the end of the package. */
async function readPayloadSection(source: ByteRangeSource, layout: PackageLayout): Promise<readonly SignatureBlock[]> {
  const bytes = await source.read(layout.payloadSignature.offsetBytes, layout.payloadSignature.sizeBytes);
  return decodeSignatureSection(bytes, layout.payloadSignature.offsetBytes, 'payload signature');
}

/**
 * The size to check the header against when only the metadata prefix may be present: the size the
 * header itself declares, provided the source holds exactly the prefix or the whole file. Any
 * other length is a cut copy (a download or upload that stopped part-way), refused as such.
 */
function metadataOnlySize(path: string, head: Buffer, sourceSizeBytes: number): number {
  const declared = declaredFileSizeBytes(head);
  if (declared === undefined || sourceSizeBytes >= declared) return sourceSizeBytes;
  const prefix = metadataPrefixSizeBytes(head);
  if (sourceSizeBytes < prefix)
    throw new PackageFormatError(
      'PKG_TRUNCATED',
      `${path}: metadata prefix is ${sourceSizeBytes} bytes, shorter than the ${prefix} bytes its header describes`,
    );
  if (sourceSizeBytes > prefix)
    throw new PackageFormatError(
      'PKG_TRUNCATED',
      `${path} is ${sourceSizeBytes} bytes: neither its ${prefix}-byte metadata prefix nor the whole ${declared}-byte package (a copy cut part-way)`,
    );
  return declared;
}

function pubkeyPathsOf(paths: string | readonly string[] | undefined): readonly string[] {
  return paths === undefined ? [] : typeof paths === 'string' ? [paths] : paths;
}

/**
 * Both sections must name the same keys in the same order, and more than one key needs format
 * 1.2 (FORMAT.md §5). Checked before any signature so a spliced section is refused as such.
 */
function checkSameKeys(metadata: readonly SignatureBlock[], payload: readonly SignatureBlock[], minor: number): void {
  const ids = (blocks: readonly SignatureBlock[]) => blocks.map((b) => Buffer.from(b.keyId).toString('hex')).join(',');
  if (ids(metadata) !== ids(payload)) {
    throw new SignatureError('SIG_KEY_MISMATCH', 'metadata and payload signatures name different keys');
  }
  if (metadata.length > 1 && minor < MINOR_MULTI_SIGNATURE) {
    throw new PackageFormatError(
      'PKG_BAD_SIGNATURE_BLOCK',
      `package says format 1.${minor} but carries ${metadata.length} signatures (a 1.2 feature)`,
    );
  }
}
