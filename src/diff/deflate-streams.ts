// Finds raw deflate streams inside a byte range: the data of zip local file entries (method 8, as
// in APK and JAR files), of gzip members and of zlib streams, each checked by inflating it whole
// inside the range. Build side only (the deflate-aware differ); the patcher never searches.

import { inflateRawSync } from 'node:zlib';

/** A deflate stream found in a buffer. */
export interface FoundDeflateStream {
  /** Offset of the first deflate byte (after the zip/gzip/zlib header). */
  readonly startByte: number;
  /** Deflated length: the stream is `[startByte, startByte + deflatedBytes)`. */
  readonly deflatedBytes: number;
  /** The stream inflated. */
  readonly inflated: Buffer;
  /** Container the header belongs to. */
  readonly kind: 'zip' | 'gzip' | 'zlib';
  /** Zip member name (zip only). */
  readonly name?: string;
  /** Level class the container's header states (zip flags bits 1-2, zlib FLEVEL), when it does. */
  readonly levelHint?: 'fastest' | 'fast' | 'default' | 'max';
}

/** Limits of a search. */
export interface DeflateSearchLimits {
  /** Streams shorter than this (deflated) are left to the byte differs. */
  readonly minDeflatedBytes: number;
  /** A stream that inflates to more than this is skipped. */
  readonly maxInflatedBytes: number;
  /** Stop once the streams found inflate to this many bytes together. */
  readonly maxTotalInflatedBytes: number;
}

/** Defaults: streams of at least 64 bytes, each ≤ 64 MiB and ≤ 64 MiB in all. */
export const DEFAULT_SEARCH_LIMITS: DeflateSearchLimits = {
  minDeflatedBytes: 64,
  maxInflatedBytes: 64 * 1024 * 1024,
  maxTotalInflatedBytes: 64 * 1024 * 1024,
};

interface Candidate {
  readonly kind: FoundDeflateStream['kind'];
  readonly startByte: number;
  readonly name?: string;
  readonly levelHint?: FoundDeflateStream['levelHint'];
  /** Deflated length the header states (zip without a data descriptor). */
  readonly statedBytes?: number;
}

const ZIP_HINTS = ['default', 'max', 'fast', 'fastest'] as const;
const ZLIB_HINTS = ['fastest', 'fast', 'default', 'max'] as const;

/** zlib's FLG bytes after CMF 0x78 (deflate, 32 KiB window): FCHECK right, no preset dictionary. */
const ZLIB_FLAGS = Array.from({ length: 256 }, (_, f) => f).filter((f) => (0x7800 | f) % 31 === 0 && (f & 0x20) === 0);
/** The leading bytes every header headerAt accepts begins with: zip local entry, gzip deflate member, zlib. */
const HEADER_PREFIXES = [
  Buffer.from([0x50, 0x4b, 0x03, 0x04]),
  Buffer.from([0x1f, 0x8b, 0x08]),
  ...ZLIB_FLAGS.map((f) => Buffer.from([0x78, f])),
];

/**
 * Where the next possible header is, from `from` on (-1: none): a byte search for each prefix
 * (memchr speed), each resumed only once the scan passes it, so a whole search reads the data
 * once per prefix instead of trying headerAt at every byte.
 */
class HeaderCursor {
  private readonly haystack: Buffer;
  private readonly next: number[];

  constructor(data: Uint8Array) {
    this.haystack = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.next = HEADER_PREFIXES.map(() => -2);
  }

  /** The least offset ≥ `at` where some prefix starts, or -1 (`at` never goes back between calls). */
  from(at: number): number {
    let least = -1;
    for (let k = 0; k < HEADER_PREFIXES.length; k++) {
      if (this.next[k] !== -1 && this.next[k]! < at) this.next[k] = this.haystack.indexOf(HEADER_PREFIXES[k]!, at);
      const n = this.next[k]!;
      if (n >= 0 && (least < 0 || n < least)) least = n;
    }
    return least;
  }
}

/** A header at `i` that starts a deflate stream, or undefined. */
function headerAt(data: Uint8Array, i: number): Candidate | undefined {
  const b0 = data[i]!;
  if (b0 === 0x50 && data[i + 1] === 0x4b && data[i + 2] === 0x03 && data[i + 3] === 0x04 && i + 30 <= data.length) {
    const view = Buffer.from(data.buffer, data.byteOffset + i, 30);
    const flags = view.readUInt16LE(6);
    if (view.readUInt16LE(8) !== 8 || (flags & 1) !== 0) return undefined;
    const nameBytes = view.readUInt16LE(26);
    const start = i + 30 + nameBytes + view.readUInt16LE(28);
    const stated = view.readUInt32LE(18);
    const name = Buffer.from(data.subarray(i + 30, Math.min(data.length, i + 30 + nameBytes))).toString('latin1');
    const descriptor = (flags & 8) !== 0;
    return {
      kind: 'zip',
      startByte: start,
      name,
      levelHint: ZIP_HINTS[(flags >> 1) & 3],
      ...(descriptor || stated === 0 ? {} : { statedBytes: stated }),
    };
  }
  if (b0 === 0x1f && data[i + 1] === 0x8b && data[i + 2] === 0x08 && i + 10 <= data.length) {
    const flg = data[i + 3]!;
    if ((flg & 0xe0) !== 0) return undefined;
    let at = i + 10;
    if (flg & 4) at += 2 + (data[at]! | (data[at + 1]! << 8));
    for (const bit of [8, 16]) {
      if (!(flg & bit)) continue;
      while (at < data.length && data[at] !== 0) at++;
      at++;
    }
    if (flg & 2) at += 2;
    return at < data.length ? { kind: 'gzip', startByte: at } : undefined;
  }
  if (b0 === 0x78 && i + 2 < data.length) {
    const flg = data[i + 1]!;
    if (((b0 << 8) | flg) % 31 !== 0 || (flg & 0x20) !== 0) return undefined;
    return { kind: 'zlib', startByte: i + 2, levelHint: ZLIB_HINTS[flg >> 6] };
  }
  return undefined;
}

/**
 * False when the bytes at `start` cannot begin a deflate stream: a first block of the reserved
 * type 3, or a stored block whose length and its complement disagree. Most false zlib headers in
 * binaries fail this, at the cost of two byte reads instead of a zlib stream's set-up.
 */
function mayStartDeflate(data: Uint8Array, start: number): boolean {
  const blockType = (data[start]! >> 1) & 3;
  if (blockType === 3) return false;
  if (blockType !== 0) return true;
  if (start + 5 > data.length) return false;
  const length = data[start + 1]! | (data[start + 2]! << 8);
  const complement = data[start + 3]! | (data[start + 4]! << 8);
  return (length ^ complement) === 0xffff;
}

/** Inflates the stream at `start`: its inflated bytes and deflated length, or undefined. */
function inflateAt(data: Uint8Array, start: number, maxInflatedBytes: number) {
  if (!mayStartDeflate(data, start)) return undefined;
  try {
    const input = Buffer.from(data.buffer, data.byteOffset + start, data.length - start);
    const r = inflateRawSync(input, { info: true, maxOutputLength: maxInflatedBytes }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { inflated: r.buffer, deflatedBytes: r.engine.bytesWritten };
  } catch {
    return undefined;
  }
}

/**
 * Every deflate stream that begins after a zip, gzip or zlib header in `data` and ends inside it,
 * in order and without overlaps (the search resumes after each stream found). Streams cut by the
 * end of `data` are not found; the search stops after `maxStreams`. Memory: the inflated streams.
 */
export function findDeflateStreams(
  data: Uint8Array,
  limits: DeflateSearchLimits = DEFAULT_SEARCH_LIMITS,
  maxStreams = Infinity,
): FoundDeflateStream[] {
  const found: FoundDeflateStream[] = [];
  let total = 0;
  const headers = new HeaderCursor(data);
  let i = 0;
  while (total < limits.maxTotalInflatedBytes && found.length < maxStreams) {
    i = headers.from(i);
    if (i < 0 || i + 2 >= data.length) break;
    const c = headerAt(data, i);
    if (c === undefined || c.startByte >= data.length) {
      i++;
      continue;
    }
    const r = inflateAt(data, c.startByte, Math.min(limits.maxInflatedBytes, limits.maxTotalInflatedBytes - total));
    const fits = r !== undefined && (c.statedBytes === undefined || c.statedBytes === r.deflatedBytes);
    if (!fits || r.deflatedBytes < limits.minDeflatedBytes) {
      i++;
      continue;
    }
    found.push({
      startByte: c.startByte,
      deflatedBytes: r.deflatedBytes,
      inflated: r.inflated,
      kind: c.kind,
      ...(c.name === undefined ? {} : { name: c.name }),
      ...(c.levelHint === undefined ? {} : { levelHint: c.levelHint }),
    });
    total += r.inflated.length;
    i = c.startByte + r.deflatedBytes;
  }
  return found;
}
