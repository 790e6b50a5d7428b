// CachingEncoder: lets compare's many producePackages runs share encoder work. It is a
// ChunkEncoder that answers exactly as pipeline/encode-chunk.ts does (it runs the same
// `encodeWithRules`; test/compare/caching-encoder.test.ts checks it against encodeChunk), but
// computes each candidate once per chunk content, as a one-candidate task on the real encoder
// (the pool), and serves it from the CandidateCache to every later combination that needs it.

import type { ChunkEncoder } from '../pipeline/chunk-encoder.js';
import { diffOptionsFor, encodeWithRules } from '../pipeline/encode-chunk.js';
import type { EncodeTask } from '../pipeline/encode-task.js';
import { candidateLabel, type CandidateSpec, type EncodedCandidate } from '../planner/candidates.js';
import { CandidateCache, type CachedCandidate } from './candidate-cache.js';

/** Encodes chunks through a real ChunkEncoder (the pool), computing each (chunk, candidate) at most once. */
export class CachingEncoder implements ChunkEncoder {
  /**
   * Per task since the last reset, in the order tasks came: the encoder time its candidates
   * cost when first computed (cached or not), i.e. what one worker of a separate build spends on it.
   */
  taskCostsMs: number[] = [];
  private readonly inFlight = new Map<string, Promise<CachedCandidate>>();
  private freeSlots: number;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly inner: ChunkEncoder,
    private readonly cache: CandidateCache,
  ) {
    this.freeSlots = inner.jobs;
  }

  /** The inner encoder's: candidates are computed on it, `jobs` at a time. */
  get jobs(): number {
    return this.inner.jobs;
  }

  /** Starts a new combination's cost record. */
  resetCosts(): void {
    this.taskCostsMs = [];
  }

  /** Same result as encodeChunk(task): the candidates it would compute, in the task's spec order. */
  async encode(task: EncodeTask): Promise<EncodedCandidate[]> {
    const costs = this.taskCostsMs;
    const slot = costs.push(0) - 1;
    const key = CandidateCache.chunkKey(task.newData, task.sourceData);
    const one = async (spec: CandidateSpec) => {
      const { candidate, computeMs } = await this.candidate(key, task, spec);
      costs[slot] = costs[slot]! + computeMs;
      return candidate;
    };
    return encodeWithRules(task, one, true);
  }

  /** One candidate: from the cache, from a computation already under way, or computed now. */
  private async candidate(chunkKey: string, task: EncodeTask, spec: CandidateSpec): Promise<CachedCandidate> {
    const key = `${chunkKey}/${encodingContext(task, spec)}`;
    const cached = await this.cache.get(key, spec);
    if (cached) return cached;
    const id = `${key}/${candidateLabel(spec)}`;
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.compute(key, task, spec).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    const c = await pending;
    return { candidate: { ...c.candidate, spec }, computeMs: c.computeMs };
  }

  /**
   * Runs a one-candidate task on the inner encoder while holding one of `jobs` slots, so its wall
   * time is its encoder time. The task keeps what, besides the chunk, makes a candidate's bytes
   * (encodingContext), and its targets prove the candidates they keep.
   */
  private async compute(key: string, task: EncodeTask, spec: CandidateSpec): Promise<CachedCandidate> {
    await this.acquire();
    let result: EncodedCandidate[];
    const t0 = performance.now();
    try {
      result = await this.inner.encode({
        newData: task.newData,
        sourceData: task.sourceData,
        specs: [spec],
        replaceRequired: task.replaceRequired,
        ...(task.targets !== undefined ? { targets: task.targets } : {}),
        ...(task.fullImage !== undefined ? { fullImage: task.fullImage } : {}),
        ...(task.sourcelessDiffAllowed !== undefined ? { sourcelessDiffAllowed: task.sourcelessDiffAllowed } : {}),
      });
    } finally {
      this.release();
    }
    const computeMs = performance.now() - t0;
    const c = result[0];
    if (!c || result.length !== 1)
      throw new Error(`encoder returned ${result.length} candidates for one ${candidateLabel(spec)} task`);
    const candidate = {
      spec,
      bytes: c.bytes,
      decoderMemoryBytes: c.decoderMemoryBytes,
      ...(c.formatMinor !== undefined ? { formatMinor: c.formatMinor } : {}),
    };
    await this.cache.put(key, candidate, computeMs);
    return { candidate, computeMs };
  }

  private async acquire(): Promise<void> {
    if (this.freeSlots > 0) {
      this.freeSlots--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.freeSlots++;
  }
}

/**
 * What, besides the chunk's bytes and the candidate, decides the bytes encodeChunk makes of it:
 * whether the chunk is a full image's (a differ then works without a source; the candidates a
 * full image's rules ask for are kept apart), and the format minor the targets read (a differ's
 * options, diffOptionsFor; a codec's filter chain, encodeOptions). Part of every cache key.
 */
function encodingContext(task: EncodeTask, spec: CandidateSpec): string {
  const minors = (task.targets ?? []).map((t) => t.maxFormatMinor ?? Infinity);
  const options =
    spec.kind === 'diff' ? diffOptionsFor(task, spec.differ) : { leastMinor: Math.min(Infinity, ...minors) };
  return JSON.stringify({
    full: task.fullImage === true,
    sourceless: task.sourcelessDiffAllowed !== false,
    ...options,
  });
}

/**
 * How long `jobs` workers take for tasks of these durations handed out in order, each to the
 * first free worker (what EncodePool does): the encode time of a separate build.
 */
export function scheduledMs(taskCostsMs: readonly number[], jobs: number): number {
  const free = new Array<number>(Math.max(1, jobs)).fill(0);
  for (const cost of taskCostsMs) {
    let w = 0;
    for (let i = 1; i < free.length; i++) if (free[i]! < free[w]!) w = i;
    free[w]! += cost;
  }
  return Math.max(...free);
}
