// Writes the committed sample releases (sample-images/releases/): v1 and v2 of each vendor layout,
// from the same seeded generators the reader tests use. The Unisoc pair uses BP_R1.0.0 for v1 and
// BP_R2.0.1 for v2, so a v1 → v2 build reads both PAC layouts.

import { join } from 'node:path';
import { makeMediatekRelease } from './make-mediatek-release.js';
import { makeQualcommRelease } from './make-qualcomm-release.js';
import { makeUnisocPac } from './make-unisoc-pac.js';

/** Folder of the committed samples, relative to the repository root. */
export const SAMPLE_RELEASES_DIR = 'sample-images/releases';

/** Writes `<root>/{qualcomm,mediatek,unisoc}/{v1,v2}/`. */
export async function makeSampleReleases(root: string): Promise<void> {
  for (const version of [1, 2] as const) {
    await makeQualcommRelease(join(root, 'qualcomm', `v${version}`), version);
    await makeMediatekRelease(join(root, 'mediatek', `v${version}`), version);
    await makeUnisocPac(join(root, 'unisoc', `v${version}`), version, {
      pacVersion: version === 1 ? 'BP_R1.0.0' : 'BP_R2.0.1',
    });
  }
}
