// gzip encoder through Node's bundled zlib. Owns the header normalisation that keeps output
// identical across platforms. Determinism holds for one zlib build: Node bundles its own, so pin
// Node for golden bytes.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { assertLevel } from './codec-errors.js';
import type { Encoder } from './encoder.js';
import { GZIP_CODEC } from './gzip-descriptor.js';

const gzipAsync = promisify(zlib.gzip);

/** Offset of the OS byte in the gzip header (RFC 1952 §2.3). */
const OS_BYTE_OFFSET = 9;
/** OS value "Unix", what zlib writes on Linux and macOS. */
const OS_UNIX = 3;

/** gzip (wire id 1), levels 1..9, default 9. */
export class GzipEncoder implements Encoder {
  readonly name = GZIP_CODEC.name;
  readonly wireId = GZIP_CODEC.wireId;
  readonly minLevel = GZIP_CODEC.minLevel;
  readonly maxLevel = GZIP_CODEC.maxLevel;
  readonly defaultLevel = GZIP_CODEC.defaultLevel;
  readonly decoderMemoryBytes = GZIP_CODEC.decoderMemoryBytes;
  readonly traits = { speedClass: 'fast', probeOrder: 0 } as const;

  /** Compresses one gzip member with MTIME 0 and OS "Unix". Memory: ~256 KiB of deflate state. */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    const out = await gzipAsync(data, { level });
    // zlib writes MTIME 0 but an OS byte that depends on the build (10 on Windows). Pin it so
    // the same input gives the same bytes everywhere; no header CRC covers it (FHCRC unset).
    out[OS_BYTE_OFFSET] = OS_UNIX;
    return out;
  }
}
