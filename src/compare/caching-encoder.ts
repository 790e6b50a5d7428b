// CachingEncoder: lets compare's many producePackages runs share encoder work. It answers the
// EncodePool's `run(task)` exactly as pipeline/encode-chunk.ts does (same candidates, same skip
// rules, same order; test/compare/caching-encoder.test.ts checks it against encodeChunk), but
// computes each candidate once per chunk content, as a one-candidate task on the real pool, and
// serves it from the CandidateCache to every later combination that needs it.

import type { EncodePool } from '../pipeline/encode-pool.js';
import type { EncodeTask } from '../pipeline/encode-chunk.js';
import { candidateLabel, type CandidateSpec, type EncodedCandidate } from '../planner/candidates.js';
import { CandidateCache, type CachedCandidate } from './candidate-cache.js';

// The skip rules of encode-chunk.ts, mirrored (the equivalence test fails if they drift).
const DIFF_IS_TINY = 1 / 64;
const DIFF_BEATS_REPLACE = 1 / 4;
const MAX_ZERO_BLOCK_SHARE = 1 / 8;
const FAST_CODECS = new Set(['none', 'gzip']);

type ReplaceSpec = Extract<CandidateSpec, { kind: 'replace' }>;
type DiffSpec = Extract<CandidateSpec, { kind: 'diff' }>;

/** Encodes chunks through a real EncodePool, computing each (chunk, candidate) at most once. */
export class CachingEncoder {
  /**
   * Per task since the last reset, in the order tasks came: the encoder time its candidates
   * cost when first computed (cached or not), i.e. what one worker of a separate build spends on it.
   */
  taskCostsMs: number[] = [];
  private readonly inFlight = new Map<string, Promise<CachedCandidate>>();
  private freeSlots: number;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly pool: EncodePool, private readonly cache: CandidateCache) {
    this.freeSlots = pool.jobs;
  }

  /** An EncodePool for producePackages whose `run` goes through this encoder (jobs and close are the real pool's). */
  asPool(): EncodePool {
    const facade = Object.create(this.pool) as EncodePool;
    facade.run = (task: EncodeTask) => this.encode(task);
    return facade;
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
    const size = task.newData.length;
    const replaceSpecs = task.specs.filter((s): s is ReplaceSpec => s.kind === 'replace');
    const diffSpecs = task.sourceData.length > 0 ? task.specs.filter((s): s is DiffSpec => s.kind === 'diff') : [];

    // Phase 1 (unconditional): zstd-dict and the fast codecs.
    const zstdDict = diffSpecs.filter((s) => s.differ === 'zstd-dict');
    const fast = replaceSpecs.filter((s) => FAST_CODECS.has(s.codec));
    const first = await Promise.all([...zstdDict, ...fast].map(one));
    const out = [...first];
    const bestDiff = Math.min(Infinity, ...first.filter((c) => c.spec.kind === 'diff').map((c) => c.bytes.length));
    const bestFast = Math.min(size, ...first.filter((c) => c.spec.kind === 'replace').map((c) => c.bytes.length));

    // Phase 2: the slow codecs unless a diff already wins by far, and bsdiff when it may win.
    const diffWins = bestDiff < bestFast * DIFF_BEATS_REPLACE;
    let haveReplace = fast.length > 0;
    const second: CandidateSpec[] = [];
    for (const spec of replaceSpecs) {
      if (FAST_CODECS.has(spec.codec)) continue;
      if (!task.replaceRequired && diffWins && haveReplace) continue;
      second.push(spec);
      haveReplace = true;
    }
    const bsdiff = diffSpecs.find((s) => s.differ === 'bsdiff');
    if (bsdiff) {
      const onlyDiffer = diffSpecs.length === 1;
      const worthTrying = onlyDiffer || (bestDiff > size * DIFF_IS_TINY && bestDiff < bestFast / 2);
      if (worthTrying && (onlyDiffer || zeroBlockShare(task.sourceData, task.newData) <= MAX_ZERO_BLOCK_SHARE)) second.push(bsdiff);
    }
    out.push(...(await Promise.all(second.map(one))));
    const order = (s: CandidateSpec) => task.specs.indexOf(s);
    return out.sort((a, b) => order(a.spec) - order(b.spec));
  }

  /** One candidate: from the cache, from a computation already under way, or computed now. */
  private async candidate(key: string, task: EncodeTask, spec: CandidateSpec): Promise<CachedCandidate> {
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

  /** Runs a one-candidate task on the pool while holding one of `jobs` slots, so its wall time is its encoder time. */
  private async compute(key: string, task: EncodeTask, spec: CandidateSpec): Promise<CachedCandidate> {
    await this.acquire();
    let result: EncodedCandidate[];
    const t0 = performance.now();
    try {
      result = await this.pool.run({ newData: task.newData, sourceData: task.sourceData, specs: [spec], replaceRequired: task.replaceRequired });
    } finally {
      this.release();
    }
    const computeMs = performance.now() - t0;
    const c = result[0];
    if (!c || result.length !== 1) throw new Error(`encoder returned ${result.length} candidates for one ${candidateLabel(spec)} task`);
    const candidate = { spec, bytes: c.bytes, decoderMemoryBytes: c.decoderMemoryBytes };
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

/** Share of 4 KiB blocks that are all zero across both inputs (as encode-chunk.ts computes it). */
export function zeroBlockShare(a: Uint8Array, b: Uint8Array): number {
  const blockBytes = 4096;
  const zero = Buffer.alloc(blockBytes);
  let zeros = 0;
  let blocks = 0;
  for (const data of [a, b]) {
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (let at = 0; at + blockBytes <= buf.length; at += blockBytes) {
      blocks++;
      if (buf.compare(zero, 0, blockBytes, at, at + blockBytes) === 0) zeros++;
    }
  }
  return blocks === 0 ? 0 : zeros / blocks;
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
