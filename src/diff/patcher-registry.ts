// Patcher registry: the only module that imports the concrete patchers, and the one place that
// turns a differ wire id read from a package into a differ (refusing unknown ids). Imports no
// differ. Patchers are stateless, so one instance of each is shared. Each is loaded on its first
// patch: an apply or verify loads only the patchers its package uses (a deflate re-encoder, a
// bzip2 reader and the rest are start-up time a package without them should not pay).

import { UnsupportedError } from '../errors/ota-error.js';
import { loadedOnFirstUse } from '../model/loaded-on-first-use.js';
import { DifferWireId, type DifferName } from '../model/wire-ids.js';
import type { Patcher } from './patcher.js';

/** The patcher called `name`, its module imported by `load` on the first patch. */
function patcherOnFirstUse(name: DifferName, load: () => Promise<Patcher>): Patcher {
  const id = { name, wireId: DifferWireId[name] };
  const loaded = loadedOnFirstUse(id, load);
  return { ...id, patch: async (...args) => (await loaded()).patch(...args) };
}

const PATCHERS: readonly Patcher[] = [
  patcherOnFirstUse('bsdiff', async () => new (await import('./bsdiff-patcher.js')).BsdiffPatcher()),
  patcherOnFirstUse('zstd-dict', async () => new (await import('./zstd-dict-patcher.js')).ZstdDictPatcher()),
  patcherOnFirstUse('bsdf2', async () => new (await import('./bsdf2-patcher.js')).Bsdf2Patcher()),
  patcherOnFirstUse('bsdiff-lzma', async () => new (await import('./bsdiff-lzma-patcher.js')).BsdiffLzmaPatcher()),
  patcherOnFirstUse(
    'deflate-aware',
    async () => new (await import('./deflate-aware-patcher.js')).DeflateAwarePatcher(),
  ),
  patcherOnFirstUse('exec-aware', async () => new (await import('./exec-aware-patcher.js')).ExecAwarePatcher()),
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
