// xz decoder through lzma-native: the container checks done before decoding, then a capped,
// memory-limited decode into exactly the declared size.

import { hexBytes } from '../errors/ota-error.js';
import { decodeCapped, evenSlices } from './lzma-capped-decode.js';
import { assertExpectedSize, blobDecodeError } from './codec-errors.js';
import type { Decoder } from './decoder.js';
import { lzmaInputSliceBytes, xzStreamDecoder } from './raw-lzma2.js';
import { BCJ_DECODER_STATE_BYTES, XZ_CODEC } from './xz-descriptor.js';
import { decodeXzArm64 } from './xz-arm64-decode.js';
import { readXzLayout } from './xz-filter-chain.js';

/** Headroom on the decode memlimit for other liblzma versions' bookkeeping. */
const MEMLIMIT_SLACK_BYTES = 64 * 1024;
/** .xz stream header magic (xz file format §2.1.1.1). */
const STREAM_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
/** Integrity check ids we accept: CRC32, CRC64, SHA-256. "None" is refused. */
const ACCEPTED_CHECKS = new Set([0x01, 0x04, 0x0a]);

/** Reads xz blobs (wire id 4). */
export class XzDecoder implements Decoder {
  readonly name = XZ_CODEC.name;
  readonly wireId = XZ_CODEC.wireId;

  /**
   * Checks the container (magic, an integrity check other than None, footer) and each block's
   * filter chain ([LZMA2], [x86 BCJ, LZMA2] or [ARM64 BCJ, LZMA2], xz-filter-chain.ts), then decodes
   * with liblzma's memlimit set to `memoryBytes` (the op's declared decoder memory; without it,
   * a dictionary fitted to `expectedSizeBytes`) and stops as soon as the output passes the cap:
   * `xz -6`'s 8 MiB dictionary for a 1 MiB op decodes when the op declares 8 MiB + state. Input is fed in slices so one slice expands to at most ~max(4 MiB,
   * expected) inside liblzma before the cap is seen. The ARM64 chain goes through xz-arm64-decode.ts
   * (liblzma 5.2 lacks that filter) with the same limit and cap.
   */
  async decode(data: Uint8Array, expectedSizeBytes: number, memoryBytes?: number, into?: Buffer): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    checkContainer(data);
    const layout = readXzLayout(data);
    const bcjBytes = layout.blocks.some((b) => b.chain !== 'lzma2') ? BCJ_DECODER_STATE_BYTES : 0;
    const declared = memoryBytes ?? XZ_CODEC.decoderMemoryBytes(XZ_CODEC.maxLevel, expectedSizeBytes) + bcjBytes;
    const memlimit = Math.max(1, Math.floor(declared)) + MEMLIMIT_SLACK_BYTES;
    if (layout.blocks.some((b) => b.chain === 'arm64'))
      return decodeXzArm64(data, layout, expectedSizeBytes, memlimit, into);
    return decodeCapped(
      this.name,
      xzStreamDecoder(memlimit),
      data,
      expectedSizeBytes,
      evenSlices(data.length, lzmaInputSliceBytes(expectedSizeBytes)),
      into,
    );
  }
}

/** Stream header magic, flags with a real integrity check, footer magic and matching flags. */
function checkContainer(data: Uint8Array): void {
  if (data.length < 32) throw blobDecodeError('xz', `stream is ${data.length} bytes, shorter than an empty .xz stream`);
  if (!STREAM_MAGIC.every((b, i) => data[i] === b)) {
    throw blobDecodeError(
      'xz',
      `bad magic at offset 0: expected fd 37 7a 58 5a 00, got ${hexBytes(data.subarray(0, 6))}`,
    );
  }
  const checkId = data[7] ?? 0;
  if (data[6] !== 0 || !ACCEPTED_CHECKS.has(checkId)) {
    throw blobDecodeError(
      'xz',
      `stream flags ${hexBytes(data.subarray(6, 8))}: need an integrity check of CRC32, CRC64 or SHA-256`,
    );
  }
  const end = data.length;
  if (data[end - 2] !== 0x59 || data[end - 1] !== 0x5a)
    throw blobDecodeError('xz', 'stream footer magic "YZ" missing at the end');
  if (data[end - 4] !== data[6] || data[end - 3] !== data[7])
    throw blobDecodeError('xz', 'stream footer flags differ from the header');
}
