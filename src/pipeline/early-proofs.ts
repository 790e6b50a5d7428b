// Self-checks begun early: while a codec codes a full image's chunk in the libuv pool (xz), the
// worker's own thread proves the sourceless diffs made before it (on chunks of zip archives, the
// candidate usually kept) instead of idling, so the proof no longer waits for the codec. Changes no
// output: proveKept takes a proof only for a candidate it keeps, and one that failed early is made
// again there (and fails there). Memory: the patcher's whole apply memory (its declared decoder
// memory: inflated streams and an LZMA dictionary) next to the codec's encoder, where before they
// came one after the other.

import type { EncodedCandidate } from '../planner/candidates.js';
import { proveKept, type SelfCheckInput } from './self-check.js';

/** The early proofs of one chunk. */
export class EarlyProofs {
  private readonly waiting: EncodedCandidate[] = [];
  private readonly begun = new Map<EncodedCandidate, Promise<EncodedCandidate | undefined>>();

  constructor(private readonly chunk: SelfCheckInput) {}

  /** Notes a candidate to prove while the next codec runs. */
  add(candidate: EncodedCandidate): void {
    this.waiting.push(candidate);
  }

  /** Begins the waiting proofs on the next turn of the event loop (after the codec's work is queued). */
  beginWaiting(): void {
    for (const c of this.waiting.splice(0)) {
      const proof = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => proveKept(this.chunk, [c]))
        .then(
          ([proven]) => proven,
          () => undefined,
        );
      this.begun.set(c, proof);
    }
  }

  /** `candidates`, each proven early replaced by its proof (every early proof awaited). */
  settle(candidates: readonly EncodedCandidate[]): Promise<EncodedCandidate[]> {
    return Promise.all(candidates.map(async (c) => (await this.begun.get(c)) ?? c));
  }
}
