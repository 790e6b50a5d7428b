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
import type { StopRequest } from './encode-worker.js';
import { digestsFromWire, hashImageFile, wholeBuffersOf, type HashJob } from './hash-image-file.js';

interface Pending {
  resolve(result: EncodedCandidate[] | BlockDigests): void;
  reject(err: unknown): void;
  progress?: HashProgress;
}

type Job = { id: number; task: EncodeTask } | { id: number; hash: HashJob };

/**
 * How long close() lets a worker that was given jobs end itself before terminating it: it reads
 * the request when its thread is next free (its job waiting, or done) and ends then, or once its
 * native work settles (an LZMA encode of one op: seconds), so only a worker stuck in a loop is
 * terminated.
 */
const STOP_GRACE_MS = 60_000;

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
  /** The job each busy worker runs; workers given a job at least once; workers that have ended. */
  private readonly running = new Map<Worker, number>();
  private readonly used = new Set<Worker>();
  private readonly exited = new Set<Worker>();
  private nextId = 0;
  private tempFolder: string | undefined;
  private forgetTempFolder: (() => void) | undefined;
  private closing: Promise<void> | undefined;

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
    w.on('exit', (code) => this.onExit(w, code));
    this.workers.push(w);
    return w;
  }

  /**
   * A new worker when fewer than `jobs` run (one that ended is replaced); when none can start and
   * none runs, the queued jobs fail.
   */
  private trySpawn(): Worker | undefined {
    if (this.workers.length - this.exited.size >= this.jobs) return undefined;
    try {
      return this.spawn();
    } catch (err) {
      if (this.workers.length === this.exited.size) this.failQueued(err);
      return undefined; // the running workers take the queue
    }
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
    if (this.closing) return Promise.reject(new Error('the encode pool is closed'));
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: EncodedCandidate[] | BlockDigests) => void, reject, progress });
      this.queue.push(job(id));
      this.dispatch();
    });
    // A job a failed build stopped waiting for is refused at close: not an unhandled rejection.
    result.catch(() => undefined);
    return result;
  }

  /**
   * Stops the workers and refuses the jobs not done. A worker never given a job is terminated; the
   * others are asked to end themselves, which each does when its thread is next free, or once
   * its native work settles: terminating a worker during an LZMA encode aborts the process
   * (native-work.ts). So a failed build waits for at most one encode per worker. Safe to call again.
   */
  close(): Promise<void> {
    this.closing ??= this.stopAll();
    return this.closing;
  }

  private async stopAll(): Promise<void> {
    this.failQueued(new Error('the encode pool is closed'));
    await Promise.all(this.workers.map((w) => this.stop(w)));
    this.failAll(new Error('the encode pool is closed'));
    if (this.tempFolder) await rm(this.tempFolder, { recursive: true, force: true }).catch(() => undefined);
    this.forgetTempFolder?.();
  }

  private stop(w: Worker): Promise<void> {
    if (this.exited.has(w)) return Promise.resolve();
    if (!this.used.has(w)) return w.terminate().then(() => undefined);
    return new Promise<void>((resolve) => {
      const stuck = setTimeout(() => void w.terminate(), STOP_GRACE_MS);
      w.once('exit', () => {
        clearTimeout(stuck);
        resolve();
      });
      w.postMessage({ stop: true } satisfies StopRequest);
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && !this.closing) {
      const w = this.idle.pop() ?? this.trySpawn();
      if (!w) return;
      const job = this.queue.shift()!;
      this.running.set(w, job.id);
      this.used.add(w);
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
    this.running.delete(w);
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

  /** A worker ended: the job it ran, if any, fails (an error event has failed it already). */
  private onExit(w: Worker, code: number): void {
    this.exited.add(w);
    const idle = this.idle.indexOf(w);
    if (idle >= 0) this.idle.splice(idle, 1);
    const id = this.running.get(w);
    this.running.delete(w);
    if (id !== undefined) {
      this.pending.get(id)?.reject(new Error(`an encode worker ended (exit code ${code}) before answering`));
      this.pending.delete(id);
    }
    this.dispatch(); // jobs still queued get a new worker (none while closing)
  }

  /** A worker failed: every job fails, queued ones too (no one waits for them any more). */
  private failAll(err: unknown): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.queue.length = 0;
  }

  /** Refuses the jobs no worker has taken yet. */
  private failQueued(err: unknown): void {
    for (const job of this.queue.splice(0)) {
      this.pending.get(job.id)?.reject(err);
      this.pending.delete(job.id);
    }
  }
}
