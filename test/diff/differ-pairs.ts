// Test helper: each differ joined with the patcher the decode-side registry finds for its wire
// id, so round-trip and cap tests drive both real halves through one object.

import type { Differ } from '../../src/diff/differ.js';
import type { Patcher } from '../../src/diff/patcher.js';
import { allDiffers } from '../../src/diff/differ-registry.js';
import { patcherByWireId } from '../../src/diff/patcher-registry.js';

/** A differ plus its patcher's `patch`. */
export interface DifferPair extends Differ {
  patch: Patcher['patch'];
}

/** Joins `differ` with the patcher registered under its wire id. */
export function pairDiffer<D extends Differ>(differ: D): D & DifferPair {
  const patcher = patcherByWireId(differ.wireId);
  const pair = Object.create(differ) as D & DifferPair;
  pair.patch = (...args) => patcher.patch(...args);
  return pair;
}

/** Every differ as a differ/patcher pair, in wire-id order. */
export function allDifferPairs(): DifferPair[] {
  return allDiffers().map((d) => pairDiffer(d));
}
