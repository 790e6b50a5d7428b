// Signature blocks and signed statements (docs/FORMAT.md §5). Pure bytes: what is signed and
// how a signature is laid out; the cryptography itself lives in signing/.

import { createHash } from 'node:crypto';
import { PackageFormatError, SignatureError } from '../errors/ota-error.js';
import { algorithmByWireId, type SignatureAlgorithmInfo } from '../model/signature-algorithm.js';
import { SHA256_BYTES } from './limits.js';

/** Bytes before the signature slot: algorithm, reserved, length, key id. */
export const SIGNATURE_BLOCK_PREFIX_BYTES = 4 + SHA256_BYTES;

/** Context strings that make a metadata signature unusable as a payload signature. */
export const METADATA_CONTEXT = 'OTABUILD/1/METADATA';
export const PAYLOAD_CONTEXT = 'OTABUILD/1/PAYLOAD';

/** A decoded signature block. */
export interface SignatureBlock {
  readonly algorithm: SignatureAlgorithmInfo;
  readonly keyId: Uint8Array;
  readonly signature: Uint8Array;
}

/** Size of a signature block for an algorithm. */
export function signatureBlockSizeBytes(algorithm: SignatureAlgorithmInfo): number {
  return SIGNATURE_BLOCK_PREFIX_BYTES + algorithm.slotSizeBytes;
}

/** Builds the statement a signature signs: context, NUL, sha256 of the covered bytes. */
export function signedStatement(context: string, coveredSha256: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(context, 'ascii'), Buffer.of(0), coveredSha256]);
}

/** Hashes covered bytes given as chunks (convenience for small inputs and tests). */
export function sha256Of(...chunks: Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest();
}

/** Encodes a signature block; the signature is zero-padded to the algorithm's slot. */
export function encodeSignatureBlock(block: SignatureBlock): Buffer {
  const { algorithm, keyId, signature } = block;
  if (signature.length === 0 || signature.length > algorithm.slotSizeBytes || keyId.length !== SHA256_BYTES) {
    throw new SignatureError(
      'SIG_ENCODE_FAILED',
      `a ${algorithm.name} signature of ${signature.length} bytes does not fit its ${algorithm.slotSizeBytes}-byte slot`,
    );
  }
  const buf = Buffer.alloc(signatureBlockSizeBytes(algorithm));
  buf.writeUInt8(algorithm.wireId, 0);
  buf.writeUInt16LE(signature.length, 2);
  Buffer.from(keyId).copy(buf, 4);
  Buffer.from(signature).copy(buf, SIGNATURE_BLOCK_PREFIX_BYTES);
  return buf;
}

/**
 * Decodes a signature block found at `fileOffset` (for messages). Checks the algorithm id,
 * block size, signature length and that the padding is zero.
 */
export function decodeSignatureBlock(buf: Uint8Array, fileOffset: number, what: string): SignatureBlock {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < SIGNATURE_BLOCK_PREFIX_BYTES + 1) {
    throw new PackageFormatError(
      'PKG_BAD_SIGNATURE_BLOCK',
      `${what} at offset ${fileOffset} is only ${b.length} bytes`,
    );
  }
  const algorithm = algorithmByWireId(b.readUInt8(0));
  if (!algorithm) {
    throw new SignatureError(
      'SIG_UNKNOWN_ALGORITHM',
      `${what} at offset ${fileOffset}: unknown signature algorithm id ${b.readUInt8(0)}`,
    );
  }
  const fail = (detail: string): never => {
    throw new PackageFormatError('PKG_BAD_SIGNATURE_BLOCK', `${what} at offset ${fileOffset}: ${detail}`);
  };
  if (b.length !== signatureBlockSizeBytes(algorithm)) {
    fail(`${b.length} bytes, expected ${signatureBlockSizeBytes(algorithm)} for ${algorithm.name}`);
  }
  if (b.readUInt8(1) !== 0) fail(`reserved byte is ${b.readUInt8(1)}, expected 0`);
  const signatureSizeBytes = b.readUInt16LE(2);
  if (signatureSizeBytes === 0 || signatureSizeBytes > algorithm.slotSizeBytes) {
    fail(`signature length ${signatureSizeBytes}, expected 1..${algorithm.slotSizeBytes}`);
  }
  const end = SIGNATURE_BLOCK_PREFIX_BYTES + signatureSizeBytes;
  for (let i = end; i < b.length; i++) {
    if (b[i] !== 0) fail(`padding byte at +${i} is 0x${b[i]!.toString(16)}, expected 0`);
  }
  return {
    algorithm,
    keyId: b.subarray(4, 4 + SHA256_BYTES),
    signature: b.subarray(SIGNATURE_BLOCK_PREFIX_BYTES, end),
  };
}
