// Before compare times its rows: each worker the pool has started (not the ones `--jobs` allows
// and a small image never needs) codes one block of random bytes with every compared codec at
// its compared levels, so the first row's build time carries no codec's first load.

import { randomBytes } from 'node:crypto';
import type { EncodePool } from '../pipeline/encode-pool.js';
import type { CandidateSpec } from '../planner/candidates.js';
import type { Selection } from './compare-combinations.js';

/** Codes one `blockSizeBytes` block with every codec and level of `selection`, once per started worker. */
export async function warmUpPool(pool: EncodePool, selection: Selection, blockSizeBytes: number): Promise<void> {
  const specs: CandidateSpec[] = selection.codecs.flatMap((codec) =>
    (selection.levels.get(codec) ?? []).map((level): CandidateSpec => ({ kind: 'replace', codec, level })),
  );
  if (specs.length === 0) return;
  const block = randomBytes(blockSizeBytes);
  // One job each for the workers already running (in-process: one); idle ones take them in turn.
  const jobs = Math.max(1, pool.startedWorkers);
  await Promise.all(
    Array.from({ length: jobs }, () =>
      pool.encode({ newData: Uint8Array.from(block), sourceData: new Uint8Array(0), specs, replaceRequired: true }),
    ),
  );
}
