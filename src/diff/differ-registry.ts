// Differ registry: the only module that imports the concrete differs. Resolves a differ by the
// name a user or profile gives (usage error when unknown). Wire ids are resolved on the decode
// side only (patcher-registry.ts). Differs are stateless, so one instance of each is shared.

import { UsageError } from '../errors/ota-error.js';
import type { DifferName } from '../model/wire-ids.js';
import { Bsdf2Differ } from './bsdf2-differ.js';
import { BsdiffDiffer } from './bsdiff-differ.js';
import { BsdiffLzmaDiffer } from './bsdiff-lzma-differ.js';
import { DeflateAwareDiffer } from './deflate-aware-differ.js';
import type { Differ } from './differ.js';
import { ExecAwareDiffer } from './exec-aware-differ.js';
import { ZstdDictDiffer } from './zstd-dict-differ.js';

const DIFFERS: readonly Differ[] = [
  new BsdiffDiffer(),
  new ZstdDictDiffer(),
  new Bsdf2Differ(),
  new BsdiffLzmaDiffer(),
  new DeflateAwareDiffer(),
  new ExecAwareDiffer(),
];

/** Names of every differ, in wire-id order. */
export const DIFFER_NAMES: readonly DifferName[] = DIFFERS.map((differ) => differ.name);

/** Every differ (at its default settings), in wire-id order. */
export function allDiffers(): readonly Differ[] {
  return DIFFERS;
}

/** The differ called `name`. Throws UsageError `BAD_DIFFER` listing the valid names otherwise. */
export function differByName(name: string): Differ {
  const differ = DIFFERS.find((candidate) => candidate.name === name);
  if (differ === undefined) {
    throw new UsageError('BAD_DIFFER', `unknown differ "${name}": expected one of ${DIFFER_NAMES.join(', ')}`);
  }
  return differ;
}
