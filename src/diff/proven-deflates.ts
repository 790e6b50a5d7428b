// ProvenDeflates: the re-deflations this thread has proven byte for byte for the chunk it is
// diffing. The deflate-aware differ keeps a stream only after zlibDeflateRaw (or remakeDeflate)
// made exactly the stream's bytes from its inflated ones; both are pure functions, so the build's
// self-check of the same chunk, which runs the patcher on the same inflated bytes with the same
// parameters or recipe, takes those bytes instead of deflating again (it was ~18 % of an APK
// build's CPU time). A lookup is by the whole input: the inflated bytes' sha256 and length and
// the parameters or the recipe's sha256, and only while a self-check runs (selfChecking): an
// apply, even in a build's process (compare times one), re-deflates everything, as a device
// does. Memory: per stream a digest and a view of the chunk's own bytes, until the differ begins
// another chunk.

import { createHash } from 'node:crypto';
import type { DeflateParams } from './zlib-deflate.js';

/** How a stream is re-made: by zlib parameters or by a recipe. */
export type Remake = { readonly params: DeflateParams } | { readonly recipe: Uint8Array };

class ProvenDeflates {
  /** The chunk the entries were proven for (its new bytes). */
  private owner: Uint8Array | undefined;
  private readonly made = new Map<string, Uint8Array>();
  /** Self-checks running on this thread (lookups answer only then). */
  private checking = 0;

  /** Starts proving for the chunk `target`; the entries of another chunk are dropped. */
  begin(target: Uint8Array): void {
    if (this.owner === target) return;
    this.owner = target;
    this.made.clear();
  }

  /** Records that `remake` of `inflated` makes exactly `deflated` (a view of the chunk being proven). */
  record(inflated: Uint8Array, remake: Remake, deflated: Uint8Array): void {
    if (this.owner !== undefined) this.made.set(keyOf(inflated, remake), deflated);
  }

  /** Runs `check` (a self-check's patch) with lookups answering. */
  async selfChecking<T>(check: () => Promise<T>): Promise<T> {
    this.checking++;
    try {
      return await check();
    } finally {
      this.checking--;
    }
  }

  /**
   * Inside selfChecking: the bytes `remake` of `inflated` was proven to make, when they are
   * `deflatedBytes` long. Else (or elsewhere) undefined: the caller re-deflates.
   */
  lookup(inflated: Uint8Array, remake: Remake, deflatedBytes: number): Uint8Array | undefined {
    if (this.checking === 0 || this.made.size === 0) return undefined;
    const bytes = this.made.get(keyOf(inflated, remake));
    return bytes?.length === deflatedBytes ? bytes : undefined;
  }
}

function keyOf(inflated: Uint8Array, remake: Remake): string {
  const how =
    'params' in remake
      ? `p${remake.params.level}/${remake.params.windowBits}/${remake.params.memLevel}/${remake.params.strategy}`
      : `r${remake.recipe.length}:${sha256(remake.recipe)}`;
  return `${how}|${inflated.length}:${sha256(inflated)}`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/** This thread's proven re-deflations. */
export const provenDeflates = new ProvenDeflates();
