// A/B slots across the three vendor readers, on the committed v2 samples: every `X_a`/`X_b` pair
// groups into one partition `X` whose image is slot a, and the target header's layouts record
// both slots with their own placement (slot b without a file where the layout gives none).

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { openMediatekRelease } from '../../src/release/mediatek-scatter.js';
import { openQualcommRelease } from '../../src/release/qualcomm-rawprogram.js';
import { groupPartitions, partitionLayouts } from '../../src/release/release-partitions.js';
import type { ReleaseSource } from '../../src/release/release-source.js';
import { openUnisocPac } from '../../src/release/unisoc-pac.js';
import { SAMPLE_RELEASES_DIR } from '../release-fixtures/make-sample-releases.js';

const samples = join(fileURLToPath(new URL('../..', import.meta.url)), SAMPLE_RELEASES_DIR);
const pacIn = (dir: string): string =>
  join(
    dir,
    readdirSync(dir).find((n) => n.endsWith('.pac'))!,
  );

const vendors: ReadonlyArray<[string, () => Promise<ReleaseSource>, readonly string[]]> = [
  ['qualcomm', () => openQualcommRelease(join(samples, 'qualcomm', 'v2')), ['xbl', 'abl', 'boot', 'dtbo', 'vbmeta']],
  ['mediatek', () => openMediatekRelease(join(samples, 'mediatek', 'v2')), ['lk', 'boot', 'dtbo', 'vbmeta']],
  ['unisoc', () => openUnisocPac(pacIn(join(samples, 'unisoc', 'v2'))), ['uboot', 'boot', 'dtbo', 'vbmeta']],
];

describe.each(vendors)('%s v2 sample', (vendor, open, pairs) => {
  test('each A/B pair is one partition with two slots, its image from slot a', async () => {
    const release = await open();
    const groups = groupPartitions(release);
    const slotted = groups.filter((g) => g.slots.length === 2).map((g) => g.name);
    expect(slotted).toEqual(pairs);
    for (const g of groups.filter((x) => x.slots.length === 2)) {
      expect(g.slots.map((s) => s.name)).toEqual([`${g.name}_a`, `${g.name}_b`]);
      expect(g.image?.name, `${vendor} ${g.name}`).toBe(`${g.name}_a`);
      expect(g.image?.upgradable).toBe(true);
    }
    // Non-slotted partitions keep their names; device data is listed like any other partition.
    const names = groups.map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(['super', 'userdata']));
    expect(names.some((n) => /_[ab]$/.test(n))).toBe(false);
    await release.close();
  });

  test('the target header layouts place both slots, each where the layout puts it', async () => {
    const release = await open();
    const groups = groupPartitions(release).filter((g) => pairs.includes(g.name));
    const layouts = partitionLayouts(groups);
    expect(layouts.map((l) => `${l.name}${l.slotSuffix}`)).toEqual(pairs.flatMap((n) => [`${n}_a`, `${n}_b`]));
    for (const name of pairs) {
      const [a, b] = [
        layouts.find((l) => l.name === name && l.slotSuffix === '_a')!,
        layouts.find((l) => l.name === name && l.slotSuffix === '_b')!,
      ];
      expect(a.fileName).not.toBe('');
      expect(b.layoutSizeBytes).toBe(a.layoutSizeBytes);
      const where = (l: typeof a) => [l.lun, l.startSector, l.region, l.addressBytes, l.partitionId].join('/');
      expect(where(b), `${vendor} ${name}: slots must differ in placement`).not.toBe(where(a));
      if (vendor === 'unisoc') expect([a.partitionId, b.partitionId]).toEqual([expect.any(String), `${name}_b`]);
      if (vendor === 'mediatek') expect(b.addressBytes).toBe(a.addressBytes + a.layoutSizeBytes);
    }
    const fileOfB = Object.fromEntries(layouts.filter((l) => l.slotSuffix === '_b').map((l) => [l.name, l.fileName]));
    if (vendor === 'qualcomm')
      expect(fileOfB).toEqual({ xbl: 'xbl.elf', abl: 'abl.elf', boot: '', dtbo: '', vbmeta: '' });
    else expect(Object.values(fileOfB).every((f) => f === '')).toBe(true);
    const xbl = layouts.filter((l) => l.name === 'xbl').map((l) => l.lun);
    if (vendor === 'qualcomm') expect(xbl).toEqual([1, 2]);
    await release.close();
  });
});
