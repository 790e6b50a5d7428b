// MemoryBlockSource: a BlockSource over a buffer, for tests and small library callers.

import type { BlockSource, SourceRun } from './block-source.js';

/** An in-memory image. Holds the whole image: only for small inputs. */
export class MemoryBlockSource implements BlockSource {
  readonly format = 'memory';
  readonly sizeBytes: number;

  constructor(
    private readonly data: Uint8Array,
    readonly path = '<memory>',
  ) {
    this.sizeBytes = data.length;
  }

  async read(offsetBytes: number, lengthBytes: number): Promise<Buffer> {
    const buf = Buffer.alloc(lengthBytes);
    if (offsetBytes < this.sizeBytes) {
      buf.set(this.data.subarray(offsetBytes, Math.min(this.sizeBytes, offsetBytes + lengthBytes)));
    }
    return buf;
  }

  knownRuns(): readonly SourceRun[] {
    return [];
  }

  async close(): Promise<void> {}
}
