// EncodePool: runs EncodeTasks on up to `jobs` worker threads (zstd-napi is synchronous, so encoding
// must leave the main thread), or in-process when jobs is 1; it also hashes an image file on a
// worker (hashImage), so a build hashes its two images on two threads. Results never depend on
// which worker ran a task, so packages are byte-identical for any job count.
// Memory budget per worker, independent of the image size: one task (an op ≤ maxOperationBytes,
// its sources ≤ SOURCE_BYTES or 1.5 x the chunk, plus candidates ≤ the op each) and one encoder
// at a time: zstd level 19 with the sources as dictionary (≈ 180 MiB of match tables whatever
// the window ≤ 16 MiB), bsdiff-lzma's hash index (≤ 12 × the sources) and LZMA2 encoder (≈ 10 ×
// a dictionary ≤ the chunk), bsdiff's suffix array (≈ 17 × the sources, native) or xz's BT4
// finder (≈ 10 × its dictionary, fitted to the chunk). Peak build RSS (2 workers, generic, the
// launcher's memory settings) is in bench/RESULTS.md: it depends on how many chunks need zstd at
// once, not on the image size.

import { existsSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { errorFromWire, type ErrorWire } from '../errors/error-wire.js';
import { removeOnInterrupt } from '../image/interrupt-cleanup.js';
import type { BlockDigests, HashProgress } from '../hashing/block-digests.js';
import type { EncodedCandidate } from '../planner/candidates.js';
import type { ChunkEncoder } from './chunk-encoder.js';
import type { EncodePlugins } from './encode-chunk.js';
import type { EncodeTask } from './encode-task.js';
import { digestsFromWire, hashImageFile, wholeBuffersOf, type HashJob } from './hash-image-file.js';

interface Pending {
  resolve(result: EncodedCandidate[] | BlockDigests): void;
  reject(err: unknown): void;
  progress?: HashProgress;
}

type Job = { id: number; task: EncodeTask } | { id: number; hash: HashJob };

interface Reply {
  id: number;
  result?: EncodedCandidate[];
  digests?: BlockDigests;
  progress?: [number, number];
  error?: ErrorWire;
}

/**
 * encodeChunk, loaded on first use: importing this module (to start the workers early) then
 * costs only the pool and hashing code, not the encoders and differs.
 */
async function encodeInProcess(task: EncodeTask, plugins: EncodePlugins): Promise<EncodedCandidate[]> {
  const { encodeChunk } = await import('./encode-chunk.js');
  return encodeChunk(task, plugins);
}

/** A new folder under the temp folder for the workers' files; undefined when none can be made. */
function workersTempFolder(): string | undefined {
  try {
    return mkdtempSync(join(tmpdir(), 'ota-build-workers-'));
  } catch {
    return undefined; // the workers then use the temp folder itself, as before
  }
}

/** Finds the compiled worker script (from dist/ even when this module runs from src/ in tests). */
function workerUrl(): URL {
  const here = new URL('./encode-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  return new URL('../../dist/pipeline/encode-worker.js', import.meta.url);
}

/**
 * A pool of up to `jobs` encode workers: one per core (at most `jobs`) started at once, so they
 * load while the caller prepares; the others only when a job finds none idle (`--jobs 256` on a
 * small image starts as many as it has chunks in flight, not 256).
 */
export class EncodePool implements ChunkEncoder {
  private readonly idle: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly workers: Worker[] = [];
  private nextId = 0;
  private tempFolder: string | undefined;
  private forgetTempFolder: (() => void) | undefined;
  private closed = false;

  private constructor(
    readonly jobs: number,
    private readonly plugins: EncodePlugins = {},
  ) {
    if (jobs <= 1) return;
    // The workers' temporary files (bsdiff's inputs) go in one folder the main thread registers
    // for an interrupt (a worker's own registrations are out of the signal handler's reach).
    const tmp = workersTempFolder();
    if (tmp) {
      this.tempFolder = tmp;
      this.forgetTempFolder = removeOnInterrupt(tmp);
    }
    for (let i = Math.min(jobs, availableParallelism()); i > 0; i--) this.idle.push(this.spawn());
  }

  /** Workers started so far (at most `jobs`). */
  get startedWorkers(): number {
    return this.workers.length;
  }

  private spawn(): Worker {
    const tmp = this.tempFolder;
    const w = new Worker(workerUrl(), tmp ? { env: { ...process.env, TMPDIR: tmp } } : {});
    w.on('message', (msg) => this.onMessage(w, msg));
    w.on('error', (err) => this.failAll(err));
    this.workers.push(w);
    return w;
  }

  /**
   * Creates a pool of `jobs` workers (1 = run in-process; default: one per core). Replacement
   * `plugins` (tests only) cannot cross into workers, so with them the pool runs in-process.
   */
  static create(jobs = availableParallelism(), plugins?: EncodePlugins): EncodePool {
    return plugins ? new EncodePool(1, plugins) : new EncodePool(Math.max(1, Math.floor(jobs)));
  }

  /** Encodes one chunk. */
  encode(task: EncodeTask): Promise<EncodedCandidate[]> {
    if (this.jobs <= 1) return encodeInProcess(task, this.plugins);
    return this.run<EncodedCandidate[]>((id) => ({ id, task }));
  }

  /**
   * Hashes the image file `job.path` (hashImageFile) on a worker, or in-process when jobs is 1.
   * Memory: the digests (34 bytes per block, plus anchors), moved to this thread without a copy.
   */
  hashImage(job: HashJob, onProgress?: HashProgress): Promise<BlockDigests> {
    if (this.jobs <= 1) return hashImageFile(job, onProgress);
    return this.run<BlockDigests>((id) => ({ id, hash: job }), onProgress);
  }

  private run<T extends EncodedCandidate[] | BlockDigests>(
    job: (id: number) => Job,
    progress?: HashProgress,
  ): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: EncodedCandidate[] | BlockDigests) => void, reject, progress });
      this.queue.push(job(id));
      this.dispatch();
    });
  }

  /** Stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    if (this.tempFolder) await rm(this.tempFolder, { recursive: true, force: true }).catch(() => undefined);
    this.forgetTempFolder?.();
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closed) {
      const w = this.idle.pop() ?? (this.workers.length < this.jobs ? this.spawn() : undefined);
      if (!w) return;
      const job = this.queue.shift()!;
      w.postMessage(
        job,
        'task' in job && job.task.handedOver ? wholeBuffersOf([job.task.newData, job.task.sourceData]) : [],
      );
    }
  }

  private onMessage(w: Worker, msg: Reply): void {
    if (msg.progress) {
      this.pending.get(msg.id)?.progress?.(...msg.progress);
      return;
    }
    const p = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    this.idle.push(w);
    this.dispatch();
    if (!p) return;
    if (msg.error) {
      p.reject(errorFromWire(msg.error));
    } else if (msg.digests) {
      p.resolve(digestsFromWire(msg.digests));
    } else {
      p.resolve(
        msg.result!.map((c) => ({ ...c, bytes: Buffer.from(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength) })),
      );
    }
  }

  private failAll(err: unknown): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
