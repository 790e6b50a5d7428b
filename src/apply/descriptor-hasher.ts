// The sha256 of a file read through an open descriptor on a worker thread (the second core), as
// far as the caller says its bytes are final: the old image's base check (all of it at once) and
// the applier's output (up to the frontier of completed writes). Reads the very file the caller
// holds (never reopened by name), 1 MiB at a time; byte ranges given as zeroed hash as zeros.

import { Worker } from 'node:worker_threads';

/** How a descriptor is hashed. */
export interface DescriptorHashOptions {
  /** Bytes of the file to hash. */
  readonly sizeBytes: number;
  /** Byte ranges [start, length] hashed as zeros whatever the file holds (DONT_CARE). */
  readonly zeroed?: readonly (readonly [number, number])[];
}

/**
 * A running hash of `fd` on a worker thread. `extend(n)` lets it read bytes [0, n) (they will not
 * change); `digest()` extends to the end and resolves with the sha256. The descriptor must stay
 * open until `digest()` settled or `stop()` returned.
 */
export class DescriptorHasher {
  private readonly worker: Worker;
  private readonly result: Promise<Buffer>;
  private finalBytes = 0;

  private constructor(fd: number, options: DescriptorHashOptions) {
    this.worker = new Worker(HASH_WORKER, {
      eval: true,
      workerData: {
        fd,
        sizeBytes: options.sizeBytes,
        zeroed: options.zeroed ?? [],
      },
      // A hash needs little heap: keep the worker's small.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    this.result = new Promise<Buffer>((resolve, reject) => {
      this.worker.once('message', (digest: Uint8Array) => resolve(Buffer.from(digest)));
      this.worker.once('error', reject);
      this.worker.once('exit', (code) => reject(new Error(`hash worker exited with code ${code}`)));
    });
    this.result.catch(() => undefined); // reported by digest()
  }

  /** Starts hashing `fd` (nothing is read until `extend` or `digest`). */
  static start(fd: number, options: DescriptorHashOptions): DescriptorHasher {
    return new DescriptorHasher(fd, options);
  }

  /**
   * Bytes [0, `bytes`) are final: the worker may read and hash them. With `zeros`, the bytes from
   * the previous end to `bytes` are known zeros (never written to a fresh file): hashed unread.
   */
  extend(bytes: number, zeros = false): void {
    if (bytes <= this.finalBytes) return;
    this.finalBytes = bytes;
    this.worker.postMessage({ endBytes: bytes, zeros });
  }

  /** Hashes to the end; the sha256 of the whole file (as the options say). Rejects on a read error. */
  async digest(): Promise<Buffer> {
    this.worker.postMessage({ endBytes: Infinity, zeros: false, digest: true });
    try {
      return await this.result;
    } finally {
      await this.worker.terminate();
    }
  }

  /** Stops the worker (no digest); afterwards the descriptor may be closed. */
  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * The worker (CommonJS, node built-ins only). Each message says how far the file may be hashed
 * (`endBytes`, capped at sizeBytes), whether that stretch is known zeros (hashed unread), and
 * whether to post the digest then. Reads are positional, 1 MiB at a time; a file that ends early
 * fails (the caller's own reads would too).
 */
const HASH_WORKER = `
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { workerData, parentPort } = require('node:worker_threads');
const { fd, sizeBytes, zeroed } = workerData;
const ranges = zeroed.map(([start, length]) => [start, start + length]).sort((a, b) => a[0] - b[0]);
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafeSlow(Math.min(1024 * 1024, Math.max(1, sizeBytes)));
let at = 0;
const zeros = Buffer.alloc(buffer.length);
parentPort.on('message', ({ endBytes, zeros: unread, digest }) => {
  const end = Math.min(endBytes, sizeBytes);
  for (; unread && at < end; at += Math.min(zeros.length, end - at))
    hash.update(zeros.subarray(0, Math.min(zeros.length, end - at)));
  while (at < end) {
    const chunk = buffer.subarray(0, Math.min(buffer.length, end - at));
    for (let done = 0; done < chunk.length; ) {
      const n = readSync(fd, chunk, done, chunk.length - done, at + done);
      if (n === 0) throw new Error('file ended at ' + (at + done) + ' bytes while being hashed');
      done += n;
    }
    for (const [start, stop] of ranges) {
      if (stop <= at || start >= at + chunk.length) continue;
      chunk.fill(0, Math.max(start, at) - at, Math.min(stop, at + chunk.length) - at);
    }
    hash.update(chunk);
    at += chunk.length;
  }
  if (digest) parentPort.postMessage(hash.digest());
});
`;
