// Writes one package file: header, target header, manifest, metadata signature, blobs streamed
// from the spool, payload signature (FORMAT.md §1). Writes to a temp file in the output folder;
// the caller renames it into place only after it verifies. No policy about what is in it.

import { createHash } from 'node:crypto';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { ioError, OtaError, SignatureError, UsageError } from '../errors/ota-error.js';
import { minorVersionOf } from '../format/format-version.js';
import {
  FORMAT_MAJOR,
  MINOR_IN_PLACE,
  MINOR_MULTI_SIGNATURE,
  MINOR_RELEASE_LAYOUT,
  MINOR_SOURCELESS_DIFF,
  MINOR_DEFLATE_RECIPES,
  MINOR_EXEC_LABELS,
  MINOR_TARGET_SOURCE,
  encodePackageHeader,
} from '../format/package-header.js';
import { encodeManifest } from '../format/manifest-codec.js';
import {
  METADATA_CONTEXT,
  PAYLOAD_CONTEXT,
  signatureBlockSizeBytes,
  signedStatement,
} from '../format/signature-block.js';
import { encodeSignatureSection } from '../format/signature-section.js';
import { encodeTargetHeader } from '../format/target-header-codec.js';
import type { Manifest } from '../model/manifest.js';
import type { TargetHeader } from '../model/target-header.js';
import { readsFormatMinor, type TargetProfile } from '../model/target-profile.js';
import type { Signer } from '../signing/signer.js';
import type { BlobSpool, SpoolRange } from './blob-spool.js';

/** Everything one package holds. Blob ranges are in op order and match the manifest's offsets. */
export interface PackageContents {
  readonly targetHeader: TargetHeader;
  readonly manifest: Manifest;
  readonly blobRanges: readonly SpoolRange[];
  readonly spool: BlobSpool;
  /** One signer, or up to MAX_SIGNATURES of one algorithm (key rotation); signatures go in this order. */
  readonly signer: Signer | readonly Signer[];
  /** The least format minor the blobs need beyond what the manifest shows (e.g. xz's ARM64 chain: 4). */
  readonly leastFormatMinor?: number;
  /** The target the package is for: a package newer than its maxFormatMinor is refused unwritten. */
  readonly target?: TargetProfile;
}

/** What first needs each format minor (FORMAT.md §7), for FORMAT_TOO_NEW. */
const MINOR_FEATURES: Readonly<Record<number, string>> = {
  [MINOR_RELEASE_LAYOUT]: 'release layouts or unchanged partitions',
  [MINOR_MULTI_SIGNATURE]: 'more than one signing key',
  [MINOR_IN_PLACE]: 'an in-place update',
  [MINOR_SOURCELESS_DIFF]: "a DIFF op without a source or xz's ARM64 chain",
  [MINOR_EXEC_LABELS]: 'an exec-aware patch with a label table',
  [MINOR_TARGET_SOURCE]: 'a DIFF op that reads blocks the package wrote before',
  [MINOR_DEFLATE_RECIPES]: 'a deflate stream re-made from a recipe',
};

/** Throws UsageError FORMAT_TOO_NEW (exit 2) when `target` does not read packages of `formatMinor`. */
export function checkFormatLimit(formatMinor: number, target: TargetProfile | undefined): void {
  if (target === undefined || readsFormatMinor(target, formatMinor)) return;
  throw new UsageError(
    'FORMAT_TOO_NEW',
    `target ${target.id} reads package format ${FORMAT_MAJOR}.${target.maxFormatMinor} at most (maxFormatMinor), but this package needs ${FORMAT_MAJOR}.${formatMinor} for ${MINOR_FEATURES[formatMinor] ?? 'its contents'}`,
  );
}

/** Largest read when copying blobs from the spool. */
const COPY_CHUNK_BYTES = 4 * 1024 * 1024;

/** Writes the package to `path` (which must not exist) and returns its size and sha256. */
export async function writePackage(path: string, c: PackageContents): Promise<{ sizeBytes: number; sha256: Buffer }> {
  const targetHeader = encodeTargetHeader(c.targetHeader);
  const manifest = encodeManifest(c.manifest);
  const signers = Array.isArray(c.signer) ? (c.signer as readonly Signer[]) : [c.signer as Signer];
  const sigBytes = signers.length * signatureBlockSizeBytes(signers[0]!.algorithm);
  const blobSectionSizeBytes = c.blobRanges.reduce((n, r) => n + r.sizeBytes, 0);
  const formatMinor = Math.max(minorVersionOf(c.targetHeader, c.manifest, signers.length), c.leastFormatMinor ?? 0);
  checkFormatLimit(formatMinor, c.target);
  const header = encodePackageHeader({
    formatMajor: FORMAT_MAJOR,
    formatMinor,
    targetHeaderSizeBytes: targetHeader.length,
    manifestSizeBytes: manifest.length,
    metadataSignatureSizeBytes: sigBytes,
    payloadSignatureSizeBytes: sigBytes,
    blobSectionSizeBytes,
  });
  const metadataDigest = createHash('sha256').update(header).update(targetHeader).update(manifest).digest();
  const metadataSignature = await signSection(signers, signedStatement(METADATA_CONTEXT, metadataDigest), 'metadata');

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
    const payloadSignature = await signSection(
      signers,
      signedStatement(PAYLOAD_CONTEXT, payloadHash.digest()),
      'payload',
    );
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

/**
 * Signs one statement with every signer, in order. Security: each signature is checked against
 * the signer's public key before it is accepted, so a token or sign command that returns garbage
 * or signs with another key never gets its output into a package.
 */
async function signSection(signers: readonly Signer[], statement: Buffer, what: string): Promise<Buffer> {
  const blocks = [];
  for (const signer of signers) {
    const signature = await signer.sign(statement);
    const keyHex = Buffer.from(signer.keyId).toString('hex').slice(0, 16);
    if (!signer.verifier().verify(statement, signature)) {
      throw new SignatureError(
        'SIG_SIGNER_BAD_SIGNATURE',
        `the ${what} signature from key ${keyHex}… (${signature.length} bytes) does not verify with that key's public key`,
      );
    }
    blocks.push({ algorithm: signer.algorithm, keyId: signer.keyId, signature });
  }
  return encodeSignatureSection(blocks);
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
