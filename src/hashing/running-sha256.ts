// RunningSha256: the payload signature's hash, fed in file order as the bytes are read. Two
// mechanisms behind one role: Node's sha256 (a local file, hashed in one pass before applying) and
// hash-wasm's, whose state can be saved into a checkpoint and loaded again, so a streamed apply
// resumed after a power loss continues the hash without downloading the applied blobs again.
// Memory: a few hundred bytes; the saved state is 116 bytes (base64 in the checkpoint).

import { createHash, type Hash } from 'node:crypto';
import type { IHasher } from 'hash-wasm';

/** A sha256 fed in order; its digest can be taken without ending it. */
export interface RunningSha256 {
  update(bytes: Uint8Array): void;
  /** The digest of everything fed so far (more may be fed afterwards). */
  digestSoFar(): Buffer;
  /** The running state (base64), or undefined when this mechanism cannot save it. */
  save(): string | undefined;
  /** Replaces the running state by a saved one; false (state unchanged) when it is not a state of ours. */
  load(state: string): boolean;
}

/** Node's sha256: fastest, cannot be saved. */
export function nodeSha256(): RunningSha256 {
  const h: Hash = createHash('sha256');
  return {
    update: (bytes) => void h.update(bytes),
    digestSoFar: () => h.copy().digest(),
    save: () => undefined,
    load: () => false,
  };
}

/** Longest base64 state accepted by `load` (hash-wasm's sha256 state is 116 bytes). */
export const MAX_SAVED_STATE_CHARS = 512;

/** hash-wasm's sha256, whose state can be saved and loaded (about 4x slower than Node's). */
export async function resumableSha256(): Promise<RunningSha256> {
  // Loaded here: only a streamed apply needs it (start-up time a local apply never pays).
  const { createSHA256 } = await import('hash-wasm');
  const h: IHasher = await createSHA256();
  h.init();
  return {
    update: (bytes) => void h.update(bytes),
    digestSoFar: () => {
      const state = h.save();
      const digest = Buffer.from(h.digest('binary'));
      h.load(state);
      return digest;
    },
    save: () => Buffer.from(h.save()).toString('base64'),
    load: (state) => {
      if (state.length > MAX_SAVED_STATE_CHARS || !/^[A-Za-z0-9+/]*={0,2}$/.test(state)) return false;
      const before = h.save();
      try {
        // hash-wasm checks the state's own checksum and refuses a state of another hash.
        h.load(Buffer.from(state, 'base64'));
        return true;
      } catch {
        h.load(before);
        return false;
      }
    },
  };
}
