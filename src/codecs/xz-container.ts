// Writes a one-block .xz stream around compressed data (xz file format §2-§4): stream header,
// block header with its filter flags, the data, block padding, the check, the index and the
// stream footer, with their CRC32s. Used where liblzma cannot make the stream itself (the ARM64
// chain). Pure: bytes in, bytes out.

import { crc32 } from '../hashing/crc32.js';

/** Stream header magic (§2.1.1.1). */
const STREAM_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] as const;
/** Stream footer magic "YZ" (§2.1.2.4). */
const FOOTER_MAGIC = [0x59, 0x5a] as const;

/** One filter of a block's chain: its id and properties (§3.1.5). */
export interface XzFilterFlags {
  readonly id: number;
  readonly properties: Uint8Array;
}

/** What a one-block stream holds. */
export interface XzBlockContent {
  /** Check id of the stream flags: 0 None, 1 CRC32, 4 CRC64, 10 SHA-256; `check` has its size. */
  readonly checkId: number;
  /** The filter chain, first filter first (the last one is LZMA2). */
  readonly filters: readonly XzFilterFlags[];
  /** The block's compressed data (the last filter's output, e.g. a raw LZMA2 stream). */
  readonly compressed: Uint8Array;
  readonly uncompressedBytes: number;
  /** The check of the uncompressed data (empty for check id 0). */
  readonly check: Uint8Array;
}

/** The whole .xz stream of one block, without compressed or uncompressed sizes in its header. */
export function writeXzStream(block: XzBlockContent): Buffer {
  const flags = Buffer.from([0x00, block.checkId]);
  const streamHeader = Buffer.concat([Buffer.from(STREAM_MAGIC), flags, u32(crc32(flags))]);
  const blockHeader = blockHeaderBytes(block.filters);
  const unpaddedBytes = blockHeader.length + block.compressed.length + block.check.length;
  const blockPadding = Buffer.alloc(padTo4(blockHeader.length + block.compressed.length));
  const indexBody = Buffer.concat([
    Buffer.from([0x00]),
    varint(1),
    varint(unpaddedBytes),
    varint(block.uncompressedBytes),
  ]);
  const index = Buffer.concat([indexBody, Buffer.alloc(padTo4(indexBody.length))]);
  const indexWithCrc = Buffer.concat([index, u32(crc32(index))]);
  const footerBody = Buffer.concat([u32(indexWithCrc.length / 4 - 1), flags]);
  const footer = Buffer.concat([u32(crc32(footerBody)), footerBody, Buffer.from(FOOTER_MAGIC)]);
  return Buffer.concat([streamHeader, blockHeader, block.compressed, blockPadding, block.check, indexWithCrc, footer]);
}

/** LZMA2's one properties byte for a dictionary of `dictBytes` (§5.3.1): the smallest that holds it. */
export function lzma2DictProperty(dictBytes: number): number {
  for (let p = 0; p < 40; p++) if (lzma2DictBytes(p) >= dictBytes) return p;
  return 40;
}

/** The dictionary size LZMA2's properties byte `p` (0..40) stands for. */
export function lzma2DictBytes(p: number): number {
  return p >= 40 ? 0xffffffff : (2 | (p & 1)) * 2 ** (Math.floor(p / 2) + 11);
}

/** Block header (§3.1): size byte, flags (filter count - 1), filter flags, zero padding, CRC32. */
function blockHeaderBytes(filters: readonly XzFilterFlags[]): Buffer {
  const filterFlags = filters.flatMap((f) => [...varint(f.id), ...varint(f.properties.length), ...f.properties]);
  const body = [0, filters.length - 1, ...filterFlags];
  const padded = Buffer.concat([Buffer.from(body), Buffer.alloc(padTo4(body.length))]);
  padded[0] = (padded.length + 4) / 4 - 1;
  return Buffer.concat([padded, u32(crc32(padded))]);
}

/** A multibyte integer (§1.2). */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function padTo4(length: number): number {
  return (4 - (length % 4)) % 4;
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(value >>> 0, 0);
  return out;
}
