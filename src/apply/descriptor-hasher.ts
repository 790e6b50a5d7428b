// The sha256 of a file read through an open descriptor, as far as the caller says its bytes are
// final: the old image's base check (all of it at once) and the applier's output (up to the
// frontier of completed writes). Reads the very file the caller holds (never reopened by name);
// byte ranges given as zeroed hash as zeros. A large file is hashed on a worker thread (the
// second core) while the caller works; a small one on this thread when its digest is asked for,
// where a worker's start-up would cost more than the hash (WORKER_HASH_MIN_BYTES).

import { read } from 'node:fs';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { ImageSha256 } from '../hashing/image-sha256.js';

/**
 * Files smaller than this are hashed on the calling thread. A hash worker costs ~60 ms to start
 * on an idle core and up to ~180 ms beside an apply, while sha256 runs at ~1.6 GB/s (bench
 * machine). Applies measured each way: a 1 MiB image 0.32 s here against 0.40 s on
 * workers; the 64 MiB bench pairs the same wall time with ~10 % less CPU; patch-256 0.1 s slower here.
 */
export const WORKER_HASH_MIN_BYTES = 128 * 1024 * 1024;

/** A running hash of a file's final bytes (see DescriptorHasher and InlineDescriptorHasher). */
export interface FileHasher {
  /**
   * Bytes [0, `bytes`) are final: they may be read and hashed. With `zeros`, the bytes from the
   * previous end to `bytes` are known zeros (never written to a fresh file): hashed unread.
   */
  extend(bytes: number, zeros?: boolean): void;
  /** Hashes to the end; the sha256 of the whole file (as the options say). Rejects on a read error. */
  digest(): Promise<Buffer>;
  /** Stops hashing (no digest); afterwards the descriptor may be closed. */
  stop(): Promise<void>;
}

/** A hash of `fd` as `options` say: on a worker thread, or on this one for a small file. */
export function startDescriptorHash(fd: number, options: DescriptorHashOptions): FileHasher {
  return (options.onWorker ?? options.sizeBytes >= WORKER_HASH_MIN_BYTES)
    ? DescriptorHasher.start(fd, options)
    : new InlineDescriptorHasher(fd, options);
}

/** How a descriptor is hashed. */
export interface DescriptorHashOptions {
  /** Bytes of the file to hash. */
  readonly sizeBytes: number;
  /** Byte ranges [start, length] hashed as zeros whatever the file holds (DONT_CARE). */
  readonly zeroed?: readonly (readonly [number, number])[];
  /** Hash on a worker thread (true) or this one (false); default: by size (WORKER_HASH_MIN_BYTES). */
  readonly onWorker?: boolean;
}

/**
 * A running hash of `fd` on a worker thread. `extend(n)` lets it read bytes [0, n) (they will not
 * change); `digest()` extends to the end and resolves with the sha256. The descriptor must stay
 * open until `digest()` settled or `stop()` returned.
 */
export class DescriptorHasher implements FileHasher {
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

const readAt = promisify(read);

/**
 * FileHasher on this thread: `extend` only notes how far the file is final (and which stretches
 * are known zeros); `digest` reads those bytes through `fd`, 1 MiB at a time, and hashes them.
 * The same bytes and digest as DescriptorHasher's worker, read after the same calls.
 */
export class InlineDescriptorHasher implements FileHasher {
  private readonly hash: ImageSha256;
  /** Final stretches not yet hashed, in order: where each ends and whether it is known zeros. */
  private readonly pending: { endBytes: number; zeros: boolean }[] = [];
  private finalBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly options: DescriptorHashOptions,
  ) {
    // Byte ranges as extents of one-byte blocks.
    const zeroed = (options.zeroed ?? []).map(([startBlock, blockCount]) => ({ startBlock, blockCount }));
    this.hash = new ImageSha256(options.sizeBytes, 1, zeroed);
  }

  extend(bytes: number, zeros = false): void {
    const end = Math.min(bytes, this.options.sizeBytes);
    if (end <= this.finalBytes) return;
    this.finalBytes = end;
    this.pending.push({ endBytes: end, zeros });
  }

  async digest(): Promise<Buffer> {
    this.extend(this.options.sizeBytes);
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(1, this.options.sizeBytes)));
    let at = 0;
    for (const { endBytes, zeros } of this.pending.splice(0)) {
      if (zeros) buffer.fill(0);
      while (at < endBytes) {
        const chunk = buffer.subarray(0, Math.min(buffer.length, endBytes - at));
        for (let done = 0; !zeros && done < chunk.length;) {
          const { bytesRead: n } = await readAt(this.fd, chunk, done, chunk.length - done, at + done);
          if (n === 0) throw new Error(`file ended at ${at + done} bytes while being hashed`);
          done += n;
        }
        this.hash.update(chunk);
        at += chunk.length;
      }
    }
    return this.hash.digest();
  }

  async stop(): Promise<void> {
    this.pending.length = 0;
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
