// Cache of peer build results that are expensive and do not depend on ota-build (issue 17: `hdiffz -s`
// on the 4 GiB repeat pair takes 10-30 minutes). A record is keyed by the tool, its exact command
// line (image and patch paths written as <old>, <new>, <patch>), the sha256 of its binary and the
// sha256 of old.img and new.img. It keeps the patch itself, so the apply (hpatchz) still runs and is
// hashed in every bench run, and the build's figures (wall, CPU, peak RSS, load) with when and where
// they were measured. Used by run.mjs (opt-in per tool and pair size) and seed-peer-cache.mjs.

import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { extname, join } from 'node:path';

/** The key fields' sha256 (hex): tool, args (paths as <old>/<new>/<patch>), binarySha256, oldSha256, newSha256. */
export function peerCacheKey({ tool, args, binarySha256, oldSha256, newSha256 }) {
  const canonical = JSON.stringify({ tool, args, binarySha256, oldSha256, newSha256 });
  return createHash('sha256').update(canonical).digest('hex');
}

/** `args` with the pair's image paths and the patch path replaced by <old>, <new>, <patch>. */
export function cacheArgs(args, { old, nu, patch }) {
  return args.map((a) => (a === old ? '<old>' : a === nu ? '<new>' : a === patch ? '<patch>' : a));
}

/** The folder of one record: DIR/<tool>-<first 24 hex digits of the key>. */
export const recordDir = (cacheDir, fields) => join(cacheDir, `${fields.tool}-${peerCacheKey(fields).slice(0, 24)}`);

/**
 * The stored record for `fields`, or null (with the reason in `why`) when there is none, it names
 * other key fields, or its patch is missing or does not hash to the recorded sha256.
 * `sha256File(path)` is the caller's hasher (a Promise of hex).
 */
export async function lookupPeerCache(cacheDir, fields, sha256File) {
  const dir = recordDir(cacheDir, fields);
  const recFile = join(dir, 'record.json');
  if (!existsSync(recFile)) return { record: null, why: 'no record' };
  let record;
  try {
    record = JSON.parse(readFileSync(recFile, 'utf8'));
  } catch (e) {
    return { record: null, why: `unreadable record (${e.message})` };
  }
  if (peerCacheKey(record.key ?? {}) !== peerCacheKey(fields))
    return { record: null, why: 'record names other inputs' };
  const patchFile = join(dir, record.patchName ?? '');
  if (!record.patchName || !existsSync(patchFile)) return { record: null, why: 'patch file missing' };
  if (statSync(patchFile).size !== record.patchBytes || (await sha256File(patchFile)) !== record.patchSha256)
    return { record: null, why: 'patch file does not match its recorded size/sha256' };
  return { record, patchFile, dir };
}

/**
 * Stores a record for `fields`: the patch (moved when `move`, else copied) and
 * `{ build, measuredAt, machine, measuredCmd?, note? }`. Returns the record's folder.
 */
export function storePeerCache(cacheDir, fields, { patchFile, patchSha256, move, ...info }) {
  const dir = recordDir(cacheDir, fields);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const patchName = `patch${extname(patchFile)}`;
  if (move) renameSync(patchFile, join(dir, patchName));
  else copyFileSync(patchFile, join(dir, patchName));
  const record = {
    key: fields,
    keySha256: peerCacheKey(fields),
    patchName,
    patchBytes: statSync(join(dir, patchName)).size,
    patchSha256,
    ...info,
  };
  writeFileSync(join(dir, 'record.json.tmp'), JSON.stringify(record, null, 2) + '\n');
  renameSync(join(dir, 'record.json.tmp'), join(dir, 'record.json'));
  return dir;
}
