// CandidateCache: encoded candidates kept on disk between compare runs, keyed by the chunk's
// content (sha256 of its new and source bytes) and the candidate. Encoding is deterministic, so a
// candidate computed for one combination is byte-identical to what another would compute.
// Memory: one small index entry per candidate; the bytes live in one append-only temp file.

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ioError } from '../errors/ota-error.js';
import { readFull } from '../image/read-full.js';
import { candidateLabel, type CandidateSpec, type EncodedCandidate } from '../planner/candidates.js';

/** Where a cached candidate sits and what it cost to compute. */
interface CacheEntry {
  readonly offsetBytes: number;
  readonly sizeBytes: number;
  readonly decoderMemoryBytes: number;
  /** The format minor the bytes need (EncodedCandidate.formatMinor), when above 0. */
  readonly formatMinor?: number;
  /** Encoder wall time while it held one worker. */
  readonly computeMs: number;
}

/** A cached candidate and what it cost the first time. */
export interface CachedCandidate {
  readonly candidate: EncodedCandidate;
  readonly computeMs: number;
}

/** A disk-backed map from (chunk content, candidate) to encoded bytes. */
export class CandidateCache {
  private readonly index = new Map<string, CacheEntry>();
  private endBytes = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  /** Creates the cache file in `dir` (a temp folder the caller removes). */
  static async create(dir: string): Promise<CandidateCache> {
    const path = join(dir, 'candidates.cache');
    try {
      return new CandidateCache(await open(path, 'w+'), path);
    } catch (err) {
      throw ioError('create candidate cache', path, err);
    }
  }

  /** The content key of a chunk: sha256 over both lengths and both byte strings. */
  static chunkKey(newData: Uint8Array, sourceData: Uint8Array): string {
    const lengths = Buffer.alloc(16);
    lengths.writeBigUInt64LE(BigInt(newData.length), 0);
    lengths.writeBigUInt64LE(BigInt(sourceData.length), 8);
    return createHash('sha256').update(lengths).update(newData).update(sourceData).digest('hex');
  }

  /** The cached candidate for `spec` (returned with the caller's spec object), if any. */
  async get(chunkKey: string, spec: CandidateSpec): Promise<CachedCandidate | undefined> {
    const e = this.index.get(`${chunkKey}/${candidateLabel(spec)}`);
    if (!e) return undefined;
    const bytes = Buffer.alloc(e.sizeBytes);
    await readFull(this.fh, bytes, e.offsetBytes, {
      action: 'read candidate cache',
      path: this.path,
      onShort: () => ioError('read candidate cache', this.path, new Error('unexpected end of file')),
    });
    const formatMinor = e.formatMinor !== undefined ? { formatMinor: e.formatMinor } : {};
    return {
      candidate: { spec, bytes, decoderMemoryBytes: e.decoderMemoryBytes, ...formatMinor },
      computeMs: e.computeMs,
    };
  }

  /** Stores a freshly computed candidate. */
  async put(chunkKey: string, c: EncodedCandidate, computeMs: number): Promise<void> {
    const offsetBytes = this.endBytes;
    this.endBytes += c.bytes.length; // reserved before awaiting, so concurrent puts never overlap
    try {
      await this.fh.write(c.bytes, 0, c.bytes.length, offsetBytes);
    } catch (err) {
      throw ioError('write candidate cache', this.path, err);
    }
    this.index.set(`${chunkKey}/${candidateLabel(c.spec)}`, {
      offsetBytes,
      sizeBytes: c.bytes.length,
      decoderMemoryBytes: c.decoderMemoryBytes,
      ...(c.formatMinor !== undefined ? { formatMinor: c.formatMinor } : {}),
      computeMs,
    });
  }

  /** Closes the file (the caller removes the folder). */
  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
