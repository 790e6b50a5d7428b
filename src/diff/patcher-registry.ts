// Patcher registry: the only module that imports the concrete patchers, and the one place that
// turns a differ wire id read from a package into a differ (refusing unknown ids). Imports no
// differ. Patchers are stateless, so one instance of each is shared.

import { UnsupportedError } from '../errors/ota-error.js';
import { Bsdf2Patcher } from './bsdf2-patcher.js';
import { BsdiffLzmaPatcher } from './bsdiff-lzma-patcher.js';
import { BsdiffPatcher } from './bsdiff-patcher.js';
import { DeflateAwarePatcher } from './deflate-aware-patcher.js';
import { ExecAwarePatcher } from './exec-aware-patcher.js';
import type { Patcher } from './patcher.js';
import { ZstdDictPatcher } from './zstd-dict-patcher.js';

const PATCHERS: readonly Patcher[] = [
  new BsdiffPatcher(),
  new ZstdDictPatcher(),
  new Bsdf2Patcher(),
  new BsdiffLzmaPatcher(),
  new DeflateAwarePatcher(),
  new ExecAwarePatcher(),
];

/** Every patcher, in wire-id order. */
export function allPatchers(): readonly Patcher[] {
  return PATCHERS;
}

/**
 * The patcher with wire id `id`. Throws UnsupportedError `UNKNOWN_DIFFER` (exit 7) naming the
 * known ids otherwise; `where` (e.g. `partition system op 3`) prefixes the message.
 */
export function patcherByWireId(id: number, where?: string): Patcher {
  const patcher = PATCHERS.find((candidate) => candidate.wireId === id);
  if (patcher === undefined) {
    const known = PATCHERS.map((p) => `${p.wireId} (${p.name})`).join(', ');
    const prefix = where === undefined ? '' : `${where}: `;
    throw new UnsupportedError(
      'UNKNOWN_DIFFER',
      `${prefix}unknown differ id ${String(id)}: this version knows ${known}`,
    );
  }
  return patcher;
}

/**
 * The patcher of the differ called `name` (an op's differ, resolved from its wire id when the
 * manifest was read). Throws UnsupportedError `UNKNOWN_DIFFER` for a name no patcher has.
 */
export function patcherFor(name: string): Patcher {
  const found = PATCHERS.find((candidate) => candidate.name === name);
  if (found === undefined)
    throw new UnsupportedError('UNKNOWN_DIFFER', `unknown differ "${name}": this version has no patcher for it`);
  return found;
}
