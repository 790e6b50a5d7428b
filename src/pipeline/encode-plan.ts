// Encodes a plan in destination order: changed chunks go to the worker pool with a bounded
// number in flight, results are consumed strictly in item order (so output never depends on
// thread timing), each target picks its smallest allowed candidate, and chosen blobs are spooled once.
// Memory: at most 2 × IN_FLIGHT_PER_JOB × jobs changed chunks started and not yet consumed, of
// which at most IN_FLIGHT_PER_JOB × jobs are being encoded (new data + sources + candidates) and
// the others, encoded, wait for an older one with their candidates only; plus a plain record per
// zero/copy item queued behind them.

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
import { proveKept } from './self-check.js';
import type { TargetAssembly } from './target-assembly.js';

/** Changed chunks being encoded at once, per worker (one running, one queued). */
const IN_FLIGHT_PER_JOB = 2;

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
  readonly work: Promise<{ candidates: EncodedCandidate[]; srcSha256: Buffer; dstSha256: Buffer } | undefined>;
  /** The work has settled (its chunk's data is gone; only its result waits). */
  settled: boolean;
}

/** Runs the plan through the encoder and fills every target's assembly. */
export async function encodePlan(input: EncodePlanInput): Promise<void> {
  // Only changed chunks hold data while being encoded (zero and copy items wait as plain
  // records), so the window counts those. A chunk encoded before an older one still encoding waits
  // with its candidates only, and does not hold a worker back: a slow chunk at the head of the
  // plan once left the other worker idle for seconds. Started and unconsumed: at most 2 x `window`.
  const window = Math.max(2, input.encoder.jobs * IN_FLIGHT_PER_JOB);
  const started: Started[] = [];
  const total = input.items.length;
  let done = 0;
  let encoding = 0;
  let unconsumed = 0;
  let wake: (() => void) | undefined;
  const finishOldest = async () => {
    const s = started.shift()!;
    if (isData(s.item)) unconsumed--;
    await finish(input, s);
    input.reporter.progress({ phase: 'encoding', done: ++done, total });
  };
  /** Consumes the settled items at the head of the plan. */
  const finishSettled = async () => {
    while (started.length > 0 && started[0]!.settled) await finishOldest();
  };
  for (const item of input.items) {
    if (isData(item)) {
      await finishSettled();
      while (encoding >= window || unconsumed >= 2 * window) {
        if (encoding < window)
          await finishOldest(); // the waiting ones are at their bound
        else await new Promise<void>((resolve) => (wake = resolve)); // until a chunk settles
        await finishSettled();
      }
    }
    const work = isData(item) ? startChunk(input, item) : Promise.resolve(undefined);
    const s: Started = { item, work, settled: !isData(item) };
    if (isData(item)) {
      encoding++;
      unconsumed++;
      const settle = () => {
        s.settled = true;
        encoding--;
        wake?.();
        wake = undefined;
      };
      work.then(settle, settle); // consumed in order below (its rejection too)
    }
    started.push(s);
  }
  while (started.length > 0) await finishOldest();
}

/** A step that carries data to encode: a changed chunk, or a full image's gathered one. */
type DataStep = Extract<PlanStep, { kind: 'changed' | 'gathered' }>;
const isData = (item: PlanStep): item is DataStep => item.kind === 'changed' || item.kind === 'gathered';
const dstOf = (item: DataStep): readonly Extent[] =>
  item.kind === 'gathered' ? item.dst : item.extraDst ? [item.dst, ...item.extraDst] : [item.dst];
const sourcesOf = (item: DataStep): readonly Extent[] => (item.kind === 'gathered' ? [] : item.sources);
const targetSourcesOf = (item: DataStep): readonly Extent[] =>
  (item.kind === 'changed' ? item.targetSources : undefined) ?? [];

async function startChunk(input: EncodePlanInput, item: DataStep) {
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
  const dstSha256 = createHash('sha256').update(newData).digest();
  // The chunk's buffers are this call's alone: the pool moves them to its worker without a copy.
  const task = { newData, sourceData, specs: input.specs, where, ...full, ...input.targetNeeds, handedOver: true };
  // The worker proved what the targets keep; a candidate served without proof (compare's cache,
  // which never moves the buffers) is proven here, while its chunk is still in memory.
  const candidates = await proveKept(task, await input.encoder.encode(task), input.targetNeeds.targets);
  if (input.selfCheckTotals) for (const c of candidates) input.selfCheckTotals.ms += c.selfCheckMs ?? 0;
  return { candidates, srcSha256, dstSha256 };
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
      const { candidates, srcSha256, dstSha256 } = (await s.work)!;
      const spooled = new Map<number, { range: SpoolRange; sha256: Buffer }>();
      for (const a of input.assemblies) {
        const chosen = selectCandidate(a.profile, candidates);
        if (chosen < 0) {
          throw new UnsupportedError(
            'NO_ALLOWED_ENCODING',
            `target ${a.profile.id}: no allowed encoding for ${blocksLabel(dstOf(item))} (tried ${candidates.map((c) => candidateLabel(c.spec)).join(', ')})`,
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
