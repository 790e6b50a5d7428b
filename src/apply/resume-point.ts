// Where an apply starts: from zero, or — with `resume` and a checkpoint that belongs to this
// package and old image — after the checkpointed ops, once the partial output has been re-read
// and its hash chain matches. Anything else restarts from zero safely, with a warning. The partial
// is reopened only when fstat says this applier made it (owned-file.ts): a planted symlink or hard
// link is discarded by name, never written through. Blocks no completed op wrote are not trusted:
// the resumed output writes ZERO ops and DONT_CARE blocks explicitly.

import { join } from 'node:path';
import type { PartitionUpdate } from '../model/manifest.js';
import { totalBlocks, type Extent } from '../model/extent.js';
import type { SavedPayloadHash } from '../package/package-reader.js';
import type { Reporter } from '../reporter.js';
import { blockCountOf } from '../format/manifest-invariants.js';
import { createHash } from 'node:crypto';
import { CHAIN_START, chainStep, readCheckpoint, removeCheckpoint } from './checkpoint.js';
import type { OutputFormat } from './output-image.js';
import { reopenRawOutput, type RawOutput } from './raw-output.js';
import type { FileId } from './owned-file.js';
import { isPartialName, type SideFiles } from './side-files.js';

/** The state to continue from. */
export interface ResumeState {
  readonly completedOps: number;
  readonly bytesWritten: number;
  readonly chain: string;
  /** The checkpoint's payload hash state (untrusted; see PackageReader.restorePayloadHash). */
  readonly payloadHash?: SavedPayloadHash;
  /** The reopened partial output and its file name when resuming. */
  readonly resumed?: { readonly output: RawOutput; readonly partialName: string };
}

/** Inputs of resumePoint. */
export interface ResumeInput {
  readonly resume: boolean;
  readonly format: OutputFormat;
  readonly files: SideFiles;
  readonly part: PartitionUpdate;
  /** What the applier writes, in order (the ops, or `keep` steps of an unchanged partition). */
  readonly steps: readonly { readonly dst: readonly Extent[] }[];
  readonly bs: number;
  readonly packageDigest: string;
  readonly oldSha256: string;
  /** Files a partial output must never be (the old images): a checkpoint naming one is discarded. */
  readonly forbidden: readonly FileId[];
  readonly reporter: Reporter;
}

const FRESH: ResumeState = { completedOps: 0, bytesWritten: 0, chain: CHAIN_START };

/** Decides where to start; never trusts a checkpoint it could not re-verify. */
export async function resumePoint(r: ResumeInput): Promise<ResumeState> {
  const restart = async (why: string): Promise<ResumeState> => {
    if (r.resume)
      r.reporter.warn({ code: 'RESUME_RESTART', message: `cannot resume (${why}): starting from the first operation` });
    await removeCheckpoint(r.files.checkpointPath);
    return FRESH;
  };
  if (!r.resume) return restart('not asked to');
  if (r.format !== 'raw') return restart('sparse output is streamed and cannot be resumed');
  const cp = await readCheckpoint(r.files.checkpointPath);
  if ('problem' in cp) return restart(cp.problem);
  if (!isPartialName(r.files, cp.partialName)) return restart('the checkpoint names no partial output of this image');
  if (cp.packageDigest !== r.packageDigest) return restart('the checkpoint belongs to another package');
  if (cp.oldSha256 !== r.oldSha256) return restart('the checkpoint was made from another old image');
  if (cp.completedOps > r.steps.length) return restart('the checkpoint counts more operations than the package has');
  const output = await reopenRawOutput(join(r.files.folder, cp.partialName), r.part, r.bs, r.forbidden).catch(
    (err: Error) => ({ problem: err.message }),
  );
  // The name is discarded by the caller's clean-up (unlink never follows); its content is untouched.
  if ('problem' in output) return restart(`the partial output ${cp.partialName} is not ours: ${output.problem}`);
  // Re-verify: the bytes every completed op wrote must reproduce the checkpoint's hash chain.
  let chain = CHAIN_START;
  let bytesWritten = 0;
  for (let i = 0; i < cp.completedOps; i++) {
    const dst = r.steps[i]!.dst;
    chain = chainStep(
      chain,
      createHash('sha256')
        .update(await output.readBack(dst))
        .digest(),
    );
    bytesWritten += totalBlocks(dst) * r.bs;
  }
  if (chain !== cp.chain || bytesWritten !== cp.bytesWritten) {
    await output.abort();
    return restart('the partial output does not match the checkpoint');
  }
  // Whatever the partial holds outside the completed ops' blocks is not trusted: blocks no step
  // writes (DONT_CARE) are zeroed now, and the ZERO ops still to come write their zeros.
  await output.zero(blocksNoStepWrites(r.steps, blockCountOf(r.part.target.sizeBytes, r.bs)));
  r.reporter.warn({
    code: 'RESUMED',
    message: `resuming after ${cp.completedOps} of ${r.steps.length} operations (${bytesWritten} bytes re-verified)`,
  });
  return {
    completedOps: cp.completedOps,
    bytesWritten,
    chain,
    payloadHash: cp.payloadHash,
    resumed: { output, partialName: cp.partialName },
  };
}

/** The blocks of [0, blockCount) that no step writes, as sorted extents. */
function blocksNoStepWrites(steps: readonly { readonly dst: readonly Extent[] }[], blockCount: number): Extent[] {
  const written = steps.flatMap((s) => s.dst).sort((a, b) => a.startBlock - b.startBlock);
  const gaps: Extent[] = [];
  let at = 0;
  for (const e of written) {
    if (e.startBlock > at) gaps.push({ startBlock: at, blockCount: e.startBlock - at });
    at = Math.max(at, e.startBlock + e.blockCount);
  }
  if (at < blockCount) gaps.push({ startBlock: at, blockCount: blockCount - at });
  return gaps;
}
