// ProvenDeflates: the re-deflations this thread has proven byte for byte for the chunk it is
// encoding. The deflate-aware differ keeps a stream only after zlibDeflateRaw (or remakeDeflate)
// made exactly the stream's bytes from its inflated ones, so the build's self-check of the same
// chunk may take those bytes instead of deflating again (it was ~18 % of an APK build's CPU
// time). The self-check hands them to the patcher explicitly (PatchOptions.proven); an apply,
// a verify or compare's apply timing never does, so every re-deflate there runs. A lookup is by
// the whole input: the inflated bytes' sha256 and length and the parameters or the recipe's
// sha256. Memory: per stream a digest and a view of one chunk's new bytes, which the entries keep
// alive until the chunk's encode ends (encodeChunk clears them) or the differ begins another
// chunk (compare's rules search chunks on the main thread: one chunk's entries at most).

import { createHash } from 'node:crypto';
import type { DeflateParams } from './zlib-deflate.js';

/** How a stream is re-made: by zlib parameters or by a recipe. */
export type Remake = { readonly params: DeflateParams } | { readonly recipe: Uint8Array };

/** What a patcher may ask of proven re-deflations. */
export interface ProvenRemakes {
  /** The bytes `remake` of `inflated` was proven to make, when they are `deflatedBytes` long; else undefined. */
  lookup(inflated: Uint8Array, remake: Remake, deflatedBytes: number): Uint8Array | undefined;
}

class ProvenDeflates implements ProvenRemakes {
  /** The chunk the entries were proven for (its new bytes). */
  private owner: Uint8Array | undefined;
  private readonly made = new Map<string, Uint8Array>();

  /** Starts proving for the chunk `target`; another chunk's entries are dropped. */
  begin(target: Uint8Array): void {
    if (this.owner === target) return;
    this.clear();
    this.owner = target;
  }

  /** Records that `remake` of `inflated` makes exactly `deflated` (a view of the chunk being encoded). */
  record(inflated: Uint8Array, remake: Remake, deflated: Uint8Array): void {
    if (this.owner !== undefined) this.made.set(keyOf(inflated, remake), deflated);
  }

  lookup(inflated: Uint8Array, remake: Remake, deflatedBytes: number): Uint8Array | undefined {
    if (this.made.size === 0) return undefined;
    const bytes = this.made.get(keyOf(inflated, remake));
    return bytes?.length === deflatedBytes ? bytes : undefined;
  }

  /** Forgets every entry and the chunk (its encode is over). */
  clear(): void {
    this.owner = undefined;
    this.made.clear();
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

/** This thread's proven re-deflations: filled by the differ's trials, read by the self-check. */
export const provenDeflates = new ProvenDeflates();
