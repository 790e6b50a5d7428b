// Encodes a plan in destination order: changed chunks go to the worker pool with a bounded
// number in flight, results are consumed strictly in item order (so output never depends on
// thread timing), each target picks its smallest allowed candidate, and chosen blobs are spooled once.
// Memory: the data (new data + sources + candidates) of at most IN_FLIGHT_PER_JOB × jobs changed
// chunks being encoded, plus the kept candidates (what some target selects) of encoded ones
// waiting for an older one: no chunk starts while those hold as many bytes as that many of the
// largest chunk, or number 16 times that many (the ones still encoding then may add as much
// again); and a plain record per zero/copy item queued behind.

import { createHash } from 'node:crypto';
import { readExtents, readExtentsAt } from '../image/extent-io.js';
import { UnsupportedError } from '../errors/ota-error.js';
import type { BlockSource } from '../image/block-source.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { BlobSpool, SpoolRange } from '../package/blob-spool.js';
import { candidateLabel, selectCandidate, type CandidateSpec, type EncodedCandidate } from '../planner/candidates.js';
import type { PlanStep } from '../planner/plan-items.js';
import type { Reporter } from '../reporter.js';
import { readsFormatMinor, type TargetProfile } from '../model/target-profile.js';
import { MINOR_SOURCELESS_DIFF, MINOR_TARGET_SOURCE } from '../format/package-header.js';
import { allDiffers } from '../diff/differ-registry.js';
import type { ChunkEncoder } from './chunk-encoder.js';
import type { EncodeTask } from './encode-task.js';
import { keptCandidates, proveKept } from './self-check.js';
import type { TargetAssembly } from './target-assembly.js';

/** Changed chunks being encoded at once (read, queued, encoded or proved), per worker. */
const IN_FLIGHT_PER_JOB = 2;
/** Encoded chunks that may wait for an older one, per chunk of the window, whatever their bytes. */
const WAITING_PER_WINDOW_CHUNK = 16;

/** Inputs of encodePlan. */
export interface EncodePlanInput {
  readonly items: readonly PlanStep[];
  readonly next: BlockSource;
  readonly old: BlockSource | undefined;
  readonly blockSizeBytes: number;
  readonly specs: readonly CandidateSpec[];
  readonly encoder: ChunkEncoder;
  readonly spool: BlobSpool;
  readonly assemblies: readonly TargetAssembly[];
  readonly reporter: Reporter;
  /** What the targets need of every chunk, computed once per build (see targetNeeds). */
  readonly targetNeeds: TargetNeeds;
  /** Adds up the self-check's thread time over every chunk (for `timingsMs.selfCheckMs`). */
  readonly selfCheckTotals?: { ms: number };
}

/** The parts of an EncodeTask that depend only on the targets, not on the chunk. */
export type TargetNeeds = Pick<
  EncodeTask,
  'replaceRequired' | 'someDiffTargetWithoutLead' | 'targets' | 'sourcelessDiffAllowed'
> & {
  /** Every target reads DIFF ops whose source includes blocks written before (A/B, format 1.6). */
  readonly targetSourceAllowed: boolean;
};

/** What `profiles` need of every chunk: once per build, not per chunk. */
export function targetNeeds(profiles: readonly TargetProfile[]): TargetNeeds {
  const leadDiffers = allDiffers()
    .filter((d) => d.traits.tier === 'lead')
    .map((d) => d.name as string);
  return {
    targets: profiles,
    replaceRequired: profiles.some((p) => !p.allowedOperations.includes('diff')),
    // An in-place package never carries a sourceless DIFF (FORMAT.md §4); it needs format 1.4.
    sourcelessDiffAllowed: profiles.every(
      (p) => p.updateMode !== 'in-place' && readsFormatMinor(p, MINOR_SOURCELESS_DIFF),
    ),
    targetSourceAllowed: profiles.every((p) => p.updateMode !== 'in-place' && readsFormatMinor(p, MINOR_TARGET_SOURCE)),
    someDiffTargetWithoutLead: profiles.some(
      (p) => p.allowedOperations.includes('diff') && !p.allowedDiffers.some((d) => leadDiffers.includes(d)),
    ),
  };
}

interface Started {
  readonly item: PlanStep;
  readonly work: Promise<ChunkResult | undefined>;
  /** The work has settled (its chunk's data is gone; only its result waits). */
  settled: boolean;
  /** Bytes its kept candidates hold while waiting to be consumed (heldBytes); undefined while not waiting. */
  waitingBytes?: number;
  /** Consumed (finish has taken it): a result settling after that no longer counts as waiting. */
  consumed: boolean;
}

/** What a changed chunk leaves for its turn: the candidates some target keeps, and hashes. */
interface ChunkResult {
  /** The kept candidates, in spec order (each target's selection among all is among them). */
  readonly candidates: EncodedCandidate[];
  /** Labels of every candidate made (for the message when a target can use none). */
  readonly tried: readonly string[];
  readonly srcSha256: Buffer;
  /** The hash of the chunk's new bytes, which only in-place ops carry (none: no in-place target). */
  readonly dstSha256?: Buffer;
}

/** Runs the plan through the encoder and fills every target's assembly. */
export async function encodePlan(input: EncodePlanInput): Promise<void> {
  // Only changed chunks hold data while being encoded (zero and copy items wait as plain
  // records), so the window counts those. A chunk encoded before an older one still encoding waits
  // with its kept candidates only and does not hold a worker back: a slow chunk at the head of
  // the plan once left the other worker idle for seconds. Those waiting are bounded by their
  // bytes, not their number: small patches behind a slow chunk (2.8 s on the bench's major-64)
  // once stopped the other worker after 8 of them, for most of a second.
  const windowChunks = Math.max(2, input.encoder.jobs * IN_FLIGHT_PER_JOB);
  const waitingBudgetBytes = windowChunks * largestChunkBytes(input.items, input.blockSizeBytes);
  const maxWaitingChunks = WAITING_PER_WINDOW_CHUNK * windowChunks;
  const started: Started[] = [];
  const total = input.items.length;
  // Only in-place ops carry the hash of what they write.
  const hashesNewData = input.assemblies.some((a) => a.profile.updateMode === 'in-place');
  let done = 0;
  let encodingChunks = 0;
  let waitingBytes = 0;
  let waitingChunks = 0;
  let failed = false;
  let wake: (() => void) | undefined;
  const finishOldest = async () => {
    const s = started.shift()!;
    s.consumed = true;
    if (s.waitingBytes !== undefined) {
      waitingBytes -= s.waitingBytes;
      waitingChunks--;
    }
    await finish(input, s);
    input.reporter.progress({ phase: 'encoding', done: ++done, total });
  };
  for (const item of input.items) {
    if (isData(item)) {
      // Results are consumed only when a bound is reached: until then every chunk goes to the pool.
      while (
        encodingChunks >= windowChunks ||
        waitingBytes >= waitingBudgetBytes ||
        waitingChunks >= maxWaitingChunks
      ) {
        if (started[0]!.settled || encodingChunks < windowChunks) await finishOldest();
        else await new Promise<void>((resolve) => (wake = resolve)); // until a chunk settles
      }
    }
    // After a failure nothing more starts: the items started are consumed in order below, and the
    // first failure in plan order is thrown (the same whatever the timing).
    if (failed) break;
    const work = isData(item) ? startChunk(input, item, hashesNewData) : Promise.resolve(undefined);
    const s: Started = { item, work, settled: !isData(item), consumed: false };
    if (isData(item)) {
      encodingChunks++;
      const settle = (result: ChunkResult | undefined, ok: boolean) => {
        s.settled = true;
        if (!ok) failed = true;
        // Waiting only if not consumed already (finishOldest may take a chunk still encoding).
        if (!s.consumed) {
          s.waitingBytes = result ? heldBytes(result.candidates) : 0;
          waitingBytes += s.waitingBytes;
          waitingChunks++;
        }
        encodingChunks--;
        wake?.();
        wake = undefined;
      };
      // Consumed in order below (its rejection too).
      work.then(
        (result) => settle(result, true),
        () => settle(undefined, false),
      );
    }
    started.push(s);
  }
  while (started.length > 0) await finishOldest();
}

/**
 * Memory that candidates hold: each underlying buffer once, whole (a small patch that came from
 * a worker may sit alone in an 8 KiB slab, and one sliced from a larger buffer keeps all of it).
 */
function heldBytes(candidates: readonly EncodedCandidate[]): number {
  let bytes = 0;
  for (const buffer of new Set(candidates.map((c) => c.bytes.buffer))) bytes += buffer.byteLength;
  return bytes;
}

/** Bytes of the largest chunk of `items` (0 when none carries data). */
function largestChunkBytes(items: readonly PlanStep[], blockSizeBytes: number): number {
  let blocks = 0;
  for (const item of items) if (isData(item)) blocks = Math.max(blocks, totalBlocks(dstOf(item)));
  return blocks * blockSizeBytes;
}

/** A step that carries data to encode: a changed chunk, or a full image's gathered one. */
type DataStep = Extract<PlanStep, { kind: 'changed' | 'gathered' }>;
const isData = (item: PlanStep): item is DataStep => item.kind === 'changed' || item.kind === 'gathered';
const dstOf = (item: DataStep): readonly Extent[] =>
  item.kind === 'gathered' ? item.dst : item.extraDst ? [item.dst, ...item.extraDst] : [item.dst];
const sourcesOf = (item: DataStep): readonly Extent[] => (item.kind === 'gathered' ? [] : item.sources);
const targetSourcesOf = (item: DataStep): readonly Extent[] =>
  (item.kind === 'changed' ? item.targetSources : undefined) ?? [];

/** Reads one changed chunk and its sources and encodes it (`hashesNewData`: some target is in-place). */
async function startChunk(input: EncodePlanInput, item: DataStep, hashesNewData: boolean) {
  const bs = input.blockSizeBytes;
  const dst = dstOf(item);
  const newData = await readExtents(input.next, dst, bs);
  // The old image's blocks, then those earlier ops write, read from the new image: what the device
  // reads back (1.6). One buffer: the pool moves it to its worker.
  const sources = input.old ? sourcesOf(item) : [];
  const targetSources = targetSourcesOf(item);
  const oldBytes = totalBlocks(sources) * bs;
  const sourceData = Buffer.allocUnsafeSlow(oldBytes + totalBlocks(targetSources) * bs);
  if (sources.length > 0) await readExtentsAt(input.old!, sources, bs, sourceData.subarray(0, oldBytes));
  if (targetSources.length > 0) await readExtentsAt(input.next, targetSources, bs, sourceData.subarray(oldBytes));
  const srcSha256 = createHash('sha256').update(sourceData).digest();
  const where = blocksLabel(dst);
  // A partition without an old image (a full one): REPLACE and sourceless DIFF, with the full-image rules.
  const full = input.old === undefined ? { fullImage: true } : {};
  // In-place ops carry the hash of what they write, so a re-run can tell they are done.
  const dstSha256 = hashesNewData ? createHash('sha256').update(newData).digest() : undefined;
  // The chunk's buffers are this call's alone: the pool moves them to its worker without a copy.
  const task = { newData, sourceData, specs: input.specs, where, ...full, ...input.targetNeeds, handedOver: true };
  // The worker proved what the targets keep; a candidate served without proof (compare's cache,
  // which never moves the buffers) is proven here, while its chunk is still in memory.
  const candidates = await proveKept(task, await input.encoder.encode(task), input.targetNeeds.targets);
  if (input.selfCheckTotals) for (const c of candidates) input.selfCheckTotals.ms += c.selfCheckMs ?? 0;
  // Only what some target selects waits for its turn: the smallest allowed candidate of a list is
  // the same in any sublist holding it, in the same order.
  const kept = keptCandidates(candidates, input.targetNeeds.targets).map((i) => candidates[i]!);
  const tried = candidates.map((c) => candidateLabel(c.spec));
  return { candidates: kept, tried, srcSha256, ...(dstSha256 ? { dstSha256 } : {}) } satisfies ChunkResult;
}

async function finish(input: EncodePlanInput, s: Started): Promise<void> {
  const { item } = s;
  const bs = input.blockSizeBytes;
  switch (item.kind) {
    case 'zero':
      for (const a of input.assemblies) a.addPlain({ type: 'zero', dst: [item.dst] });
      return;
    case 'copy': {
      const data = await readExtents(input.old!, [item.src], bs);
      const srcSha256 = createHash('sha256').update(data).digest();
      const stashIds = item.stashIds ? { stashIds: item.stashIds } : {};
      for (const a of input.assemblies)
        a.addPlain({ type: 'copy', dst: [item.dst], src: [item.src], srcSha256, ...stashIds });
      return;
    }
    case 'stash': {
      const data = await readExtents(input.old!, item.src, bs);
      const srcSha256 = createHash('sha256').update(data).digest();
      for (const a of input.assemblies)
        a.addPlain({ type: 'stash', dst: [], stashId: item.stashId, src: item.src, srcSha256 });
      return;
    }
    case 'free':
      for (const a of input.assemblies) a.addPlain({ type: 'free', dst: [], stashId: item.stashId });
      return;
    case 'changed':
    case 'gathered': {
      const { candidates, tried, srcSha256, dstSha256 } = (await s.work)!;
      const spooled = new Map<number, { range: SpoolRange; sha256: Buffer }>();
      for (const a of input.assemblies) {
        const chosen = selectCandidate(a.profile, candidates);
        if (chosen < 0) {
          throw new UnsupportedError(
            'NO_ALLOWED_ENCODING',
            `target ${a.profile.id}: no allowed encoding for ${blocksLabel(dstOf(item))} (tried ${tried.join(', ')})`,
          );
        }
        let entry = spooled.get(chosen);
        if (!entry) {
          const bytes = candidates[chosen]!.bytes;
          entry = { range: await input.spool.append(bytes), sha256: createHash('sha256').update(bytes).digest() };
          spooled.set(chosen, entry);
        }
        const c = candidates[chosen]!;
        const stashIds = item.kind === 'changed' && c.spec.kind === 'diff' ? (item.stashIds ?? []) : [];
        const src = c.spec.kind === 'diff' ? sourcesOf(item) : [];
        const targetSrc = c.spec.kind === 'diff' ? targetSourcesOf(item) : [];
        a.addEncoded(c, entry.range, entry.sha256, dstOf(item), src, srcSha256, { dstSha256, stashIds }, targetSrc);
      }
      return;
    }
  }
}

/** Names a chunk in messages: `blocks 256+256`, or `blocks 0+16 and 3 more extents`. */
function blocksLabel(dst: readonly Extent[]): string {
  const first = `blocks ${dst[0]!.startBlock}+${dst[0]!.blockCount}`;
  return dst.length > 1 ? `${first} and ${dst.length - 1} more extents` : first;
}
