// PackageReader: opens a package with bounded reads in the order FORMAT.md §6 prescribes —
// header and lengths against the file size, metadata signature verified, and only then the
// target header and manifest decoded and checked. Nothing is allocated from an unchecked field.

import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { PackageFormatError, SignatureError, VerificationError, ioError } from '../errors/ota-error.js';
import { checkManifestInvariants } from '../format/manifest-invariants.js';
import { minorVersionOf } from '../format/format-version.js';
import { decodeManifest } from '../format/manifest-codec.js';
import { HEADER_SIZE_BYTES } from '../format/limits.js';
import {
  MINOR_MULTI_SIGNATURE,
  decodePackageHeader,
  packageLayout,
  type PackageHeader,
  type PackageLayout,
} from '../format/package-header.js';
import { METADATA_CONTEXT, PAYLOAD_CONTEXT, signedStatement, type SignatureBlock } from '../format/signature-block.js';
import { decodeSignatureSection } from '../format/signature-section.js';
import { decodeTargetHeader } from '../format/target-header-codec.js';
import { openRegularFile } from '../image/open-read-only.js';
import type { Manifest } from '../model/manifest.js';
import type { BlobRef } from '../model/operation.js';
import type { TargetHeader } from '../model/target-header.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import { chooseVerifiers } from '../signing/choose-key.js';
import type { Verifier } from '../signing/signer.js';
import { PLUGIN_WIRE_IDS } from './plugin-wire-ids.js';
import { readFull } from '../image/read-full.js';

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
}

const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** An opened, metadata-verified package. */
export class PackageReader {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: PackageHeader,
    readonly layout: PackageLayout,
    readonly targetHeader: TargetHeader,
    readonly manifest: Manifest,
    /** The metadata signature block that verified (the first block when not verified). */
    readonly metadataSignature: SignatureBlock,
    /** The payload signature block of the same key. */
    readonly payloadSignature: SignatureBlock,
    readonly verifier: Verifier | undefined,
    /** Every metadata signature block, in file order (more than one during a key rotation). */
    readonly metadataSignatures: readonly SignatureBlock[],
    /** Every payload signature block, same keys in the same order. */
    readonly payloadSignatures: readonly SignatureBlock[],
    /** sha256 of the signed metadata (header, target header, manifest): identifies the package. */
    readonly metadataSha256: Buffer,
  ) {}

  /** Opens and checks a package; see the file comment for the order. */
  static async open(path: string, options: OpenPackageOptions = {}): Promise<PackageReader> {
    const reporter = options.reporter ?? new CollectingReporter();
    // Non-blocking and regular files only: a FIFO named as the package must not hang the open. A
    // folder stays the I/O error (EISDIR) it always was.
    const { fh, sizeBytes: fileSizeBytes } = await openRegularFile(path, 'open package', (stats) =>
      stats.isDirectory()
        ? ioError('open package', path, Object.assign(new Error('EISDIR'), { code: 'EISDIR' }))
        : new PackageFormatError(
            'PKG_NOT_FILE',
            `${path} is not a regular file (a FIFO or device); a package is a file`,
          ),
    );
    try {
      const head = await readAt(fh, 0, Math.min(HEADER_SIZE_BYTES, fileSizeBytes), path);
      const header = decodePackageHeader(head, fileSizeBytes);
      const layout = packageLayout(header);
      const metadata = await readAt(fh, 0, layout.metadataEndBytes, path);
      const metaSigBytes = await readAt(
        fh,
        layout.metadataSignature.offsetBytes,
        layout.metadataSignature.sizeBytes,
        path,
      );
      const metadataSignatures = decodeSignatureSection(
        metaSigBytes,
        layout.metadataSignature.offsetBytes,
        'metadata signature',
      );
      const paySigBytes = await readAt(
        fh,
        layout.payloadSignature.offsetBytes,
        layout.payloadSignature.sizeBytes,
        path,
      );
      const payloadSignatures = decodeSignatureSection(
        paySigBytes,
        layout.payloadSignature.offsetBytes,
        'payload signature',
      );
      checkSameKeys(metadataSignatures, payloadSignatures, header.formatMinor);
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
      const payloadSignature = payloadSignatures[signedAt]!;
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
        if (block.algorithm.name !== targetHeader.signatureAlgorithm) {
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
          `package says format ${header.formatMajor}.${header.formatMinor} but uses ${header.formatMajor}.${minor} features (release layouts or unchanged partitions)`,
        );
      }
      return new PackageReader(
        path,
        fh,
        header,
        layout,
        targetHeader,
        manifest,
        metadataSignature,
        payloadSignature,
        verifier,
        metadataSignatures,
        payloadSignatures,
        metadataSha256,
      );
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Streams the whole signed prefix and checks the payload signature. */
  async verifyPayloadSignature(): Promise<void> {
    if (!this.verifier) throw new SignatureError('SIG_NOT_VERIFIED', 'package was opened without a key');
    const hash = createHash('sha256');
    const end = this.layout.payloadSignature.offsetBytes;
    for (let at = 0; at < end; at += READ_CHUNK_BYTES) {
      hash.update(await readAt(this.fh, at, Math.min(READ_CHUNK_BYTES, end - at), this.path));
    }
    if (!this.verifier.verify(signedStatement(PAYLOAD_CONTEXT, hash.digest()), this.payloadSignature.signature)) {
      throw new SignatureError(
        'SIG_PAYLOAD_INVALID',
        `payload signature at offset ${this.layout.payloadSignature.offsetBytes} does not verify: the package body was modified`,
      );
    }
  }

  /** Reads one blob (bounded by the checked manifest) and checks its sha256. */
  async readBlob(blob: BlobRef, where: string): Promise<Buffer> {
    const bytes = await readAt(this.fh, this.layout.blobs.offsetBytes + blob.offsetBytes, blob.sizeBytes, this.path);
    if (!createHash('sha256').update(bytes).digest().equals(Buffer.from(blob.sha256))) {
      throw new VerificationError(
        'BLOB_HASH_MISMATCH',
        `${where}: blob at offset ${this.layout.blobs.offsetBytes + blob.offsetBytes} does not match its sha256`,
      );
    }
    return bytes;
  }

  /** Closes the file. */
  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
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

async function readAt(fh: FileHandle, offsetBytes: number, lengthBytes: number, path: string): Promise<Buffer> {
  const buf = Buffer.alloc(lengthBytes);
  await readFull(fh, buf, offsetBytes, {
    action: 'read package',
    path,
    onShort: (endedAtBytes) =>
      new PackageFormatError('PKG_TRUNCATED', `${path} ended at ${endedAtBytes} bytes, inside a section`),
  });
  return buf;
}
