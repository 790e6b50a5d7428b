// Writes one package file: header, target header, manifest, metadata signature, blobs streamed
// from the spool, payload signature (FORMAT.md §1). Writes to a temp file in the output folder;
// the caller renames it into place only after it verifies. No policy about what is in it.

import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ioError, OtaError } from '../errors/ota-error.js';
import { minorVersionOf } from '../format/format-version.js';
import { FORMAT_MAJOR, encodePackageHeader } from '../format/package-header.js';
import { encodeManifest } from '../format/manifest-codec.js';
import {
  METADATA_CONTEXT,
  PAYLOAD_CONTEXT,
  encodeSignatureBlock,
  signatureBlockSizeBytes,
  signedStatement,
} from '../format/signature-block.js';
import { encodeTargetHeader } from '../format/target-header-codec.js';
import type { Manifest } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import type { Signer } from '../signing/key-pair.js';
import type { BlobSpool, SpoolRange } from './blob-spool.js';

/** Everything one package holds. Blob ranges are in op order and match the manifest's offsets. */
export interface PackageContents {
  readonly targetHeader: TargetHeader;
  readonly manifest: Manifest;
  readonly blobRanges: readonly SpoolRange[];
  readonly spool: BlobSpool;
  readonly signer: Signer;
}

/** Largest read when copying blobs from the spool. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** Writes the package to `path` (which must not exist) and returns its size and sha256. */
export async function writePackage(path: string, c: PackageContents): Promise<{ sizeBytes: number; sha256: Buffer }> {
  const targetHeader = encodeTargetHeader(c.targetHeader);
  const manifest = encodeManifest(c.manifest);
  const sigBytes = signatureBlockSizeBytes(c.signer.algorithm);
  const blobSectionSizeBytes = c.blobRanges.reduce((n, r) => n + r.sizeBytes, 0);
  const header = encodePackageHeader({
    formatMajor: FORMAT_MAJOR,
    formatMinor: minorVersionOf(c.targetHeader, c.manifest),
    targetHeaderSizeBytes: targetHeader.length,
    manifestSizeBytes: manifest.length,
    metadataSignatureSizeBytes: sigBytes,
    payloadSignatureSizeBytes: sigBytes,
    blobSectionSizeBytes,
  });
  const metadataDigest = createHash('sha256').update(header).update(targetHeader).update(manifest).digest();
  const metadataSignature = encodeSignatureBlock({
    algorithm: c.signer.algorithm,
    keyId: c.signer.keyId,
    signature: c.signer.sign(signedStatement(METADATA_CONTEXT, metadataDigest)),
  });

  const payloadHash = createHash('sha256');
  const fileHash = createHash('sha256');
  let fh: FileHandle | undefined;
  let position = 0;
  const write = async (bytes: Buffer, signed: boolean) => {
    if (signed) payloadHash.update(bytes);
    fileHash.update(bytes);
    await fh!.write(bytes, 0, bytes.length, position);
    position += bytes.length;
  };
  try {
    fh = await open(path, 'wx', 0o644);
    for (const part of [header, targetHeader, manifest, metadataSignature]) await write(part, true);
    for (const range of coalesce(c.blobRanges)) {
      for (let at = 0; at < range.sizeBytes; at += COPY_CHUNK_BYTES) {
        const sizeBytes = Math.min(COPY_CHUNK_BYTES, range.sizeBytes - at);
        await write(await c.spool.read({ offsetBytes: range.offsetBytes + at, sizeBytes }), true);
      }
    }
    const payloadSignature = encodeSignatureBlock({
      algorithm: c.signer.algorithm,
      keyId: c.signer.keyId,
      signature: c.signer.sign(signedStatement(PAYLOAD_CONTEXT, payloadHash.digest())),
    });
    await write(payloadSignature, false);
    await fh.sync();
  } catch (err) {
    await fh?.close().catch(() => undefined);
    fh = undefined;
    await unlink(path).catch(() => undefined);
    if (err instanceof OtaError) throw err;
    throw ioError('write package', path, err);
  } finally {
    await fh?.close();
  }
  return { sizeBytes: position, sha256: fileHash.digest() };
}

/** Merges adjacent spool ranges so blobs are copied with few large reads. */
function coalesce(ranges: readonly SpoolRange[]): SpoolRange[] {
  const out: SpoolRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && last.offsetBytes + last.sizeBytes === r.offsetBytes) {
      out[out.length - 1] = { offsetBytes: last.offsetBytes, sizeBytes: last.sizeBytes + r.sizeBytes };
    } else {
      out.push(r);
    }
  }
  return out;
}
