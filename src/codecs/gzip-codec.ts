// gzip (RFC 1952, deflate) through Node's bundled zlib. Owns the level range, the header
// normalisation that keeps output identical across platforms, and the capped decoder.
// Determinism holds for one zlib build: Node bundles its own, so pin Node for golden bytes.

import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { CodecWireId, type Codec } from './codec.js';
import { decodeStreamCapped } from './capped-stream-decode.js';
import { assertExpectedSize, assertLevel, blobDecodeError } from './codec-errors.js';

const gzipAsync = promisify(zlib.gzip);

/** Deflate's fixed 32 KiB history window. */
const WINDOW_BYTES = 32 * 1024;
/** zlib's inflate_state (~7.1 KiB on 64-bit), rounded up. */
const INFLATE_STATE_BYTES = 8 * 1024;
/** Offset of the OS byte in the gzip header (RFC 1952 §2.3). */
const OS_BYTE_OFFSET = 9;
/** OS value "Unix", what zlib writes on Linux and macOS. */
const OS_UNIX = 3;
/** Largest decoder output chunk; also the most a bomb can produce past the cap. */
const MAX_CHUNK_BYTES = 16 * 1024;

/** gzip (wire id 1), levels 1..9, default 9. */
export class GzipCodec implements Codec {
  readonly name = 'gzip' as const;
  readonly wireId = CodecWireId.gzip;
  readonly minLevel = 1;
  readonly maxLevel = 9;
  readonly defaultLevel = 9;

  /** Compresses one gzip member with MTIME 0 and OS "Unix". Memory: ~256 KiB of deflate state. */
  async encode(data: Uint8Array, level: number): Promise<Buffer> {
    assertLevel(this.name, level, this.minLevel, this.maxLevel);
    const out = await gzipAsync(data, { level });
    // zlib writes MTIME 0 but an OS byte that depends on the build (10 on Windows). Pin it so
    // the same input gives the same bytes everywhere; no header CRC covers it (FHCRC unset).
    out[OS_BYTE_OFFSET] = OS_UNIX;
    return out;
  }

  /**
   * Inflates `data` into exactly `expectedSizeBytes`, stopping at the first chunk past the
   * cap. Rejects trailing bytes after the gzip data.
   */
  async decode(data: Uint8Array, expectedSizeBytes: number): Promise<Buffer> {
    assertExpectedSize(this.name, expectedSizeBytes);
    const gunzip = zlib.createGunzip({ chunkSize: Math.min(MAX_CHUNK_BYTES, Math.max(64, expectedSizeBytes)) });
    const out = await decodeStreamCapped(this.name, gunzip, data, expectedSizeBytes);
    if (gunzip.bytesWritten !== data.length) {
      throw blobDecodeError(this.name, `${data.length - gunzip.bytesWritten} trailing bytes after the gzip data`);
    }
    return out;
  }

  /** Inflate needs its 32 KiB window plus ~8 KiB of state, whatever the level or input. */
  decoderMemoryBytes(_level: number, _inputBytes: number): number {
    return WINDOW_BYTES + INFLATE_STATE_BYTES;
  }
}
