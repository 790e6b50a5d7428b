// Signature sections (docs/FORMAT.md §5): one signature block per signing key, back to back, so
// a package can carry the signatures of up to MAX_SIGNATURES keys during a key rotation. Pure
// bytes: layout and structural checks; which key is trusted is decided in signing/.

import { PackageFormatError } from '../errors/ota-error.js';
import {
  decodeSignatureBlock,
  encodeSignatureBlock,
  signatureBlockSizeBytes,
  type SignatureBlock,
} from './signature-block.js';
import { SIGNATURE_BLOCK_PREFIX_BYTES } from './signature-block.js';
import { algorithmByWireId } from '../model/signature-algorithm.js';

/** Most signatures (keys) one signature section may hold. */
export const MAX_SIGNATURES = 4;

/** Encodes the blocks of one section in order; a single block encodes exactly as in format 1.0. */
export function encodeSignatureSection(blocks: readonly SignatureBlock[]): Buffer {
  if (blocks.length < 1 || blocks.length > MAX_SIGNATURES) {
    throw new PackageFormatError(
      'PKG_BAD_SIGNATURE_BLOCK',
      `a signature section holds 1..${MAX_SIGNATURES} signatures, got ${blocks.length}`,
    );
  }
  return Buffer.concat(blocks.map(encodeSignatureBlock));
}

/**
 * Decodes a section found at `fileOffset` (for messages): the first block's algorithm fixes the
 * block size, the section must be a whole number (1..MAX_SIGNATURES) of such blocks, every block
 * uses that algorithm, and no key id appears twice.
 */
export function decodeSignatureSection(buf: Uint8Array, fileOffset: number, what: string): SignatureBlock[] {
  const fail = (detail: string): never => {
    throw new PackageFormatError('PKG_BAD_SIGNATURE_BLOCK', `${what} at offset ${fileOffset}: ${detail}`);
  };
  if (buf.length < SIGNATURE_BLOCK_PREFIX_BYTES + 1) return [decodeSignatureBlock(buf, fileOffset, what)];
  const algorithm = algorithmByWireId(buf[0]!);
  // An unknown id is reported by decodeSignatureBlock with its own typed error.
  if (!algorithm) return [decodeSignatureBlock(buf, fileOffset, what)];
  const blockBytes = signatureBlockSizeBytes(algorithm);
  const count = Math.floor(buf.length / blockBytes);
  if (buf.length % blockBytes !== 0 || count < 1 || count > MAX_SIGNATURES) {
    fail(`${buf.length} bytes is not 1..${MAX_SIGNATURES} ${algorithm.name} signature blocks of ${blockBytes} bytes`);
  }
  const blocks: SignatureBlock[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < count; i++) {
    const at = i * blockBytes;
    const block = decodeSignatureBlock(buf.subarray(at, at + blockBytes), fileOffset + at, `${what} ${i + 1}`);
    if (block.algorithm.name !== algorithm.name) {
      fail(`signature ${i + 1} uses ${block.algorithm.name}, the first uses ${algorithm.name}`);
    }
    const keyHex = Buffer.from(block.keyId).toString('hex');
    if (seen.has(keyHex)) fail(`key ${keyHex.slice(0, 16)}… signs twice`);
    seen.add(keyHex);
    blocks.push(block);
  }
  return blocks;
}
