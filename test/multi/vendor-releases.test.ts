// Whole vendor releases through the real CLI (issue 7): for each committed sample release
// (Qualcomm rawprogram, MediaTek scatter, Unisoc PAC) build v1 → v2, inspect lists every
// partition with its layout data, apply reproduces every partition byte for byte, verify --old
// passes; and each bad layout is refused with exit 3 and a message naming the entry.

import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openImage } from '../../src/image/open-image.js';
import { openRelease } from '../../src/release/open-release.js';
import { groupPartitions } from '../../src/release/release-partitions.js';
import {
  PAC_ENTRY_BYTES,
  PAC_HEADER_BYTES,
  PAC_HEADER_CRC_OFFSET,
  PAC_PAYLOAD_CRC_OFFSET,
  crc16Arc,
} from '../../src/release/pac-format.js';
import { sha256Hex } from '../helpers/package-bytes.js';
import { ROOT, describeRun, jsonOf, nonWarningLines, runCli, runCliOk } from '../helpers/run-cli.js';

const SAMPLES = join(ROOT, 'sample-images', 'releases');
const VENDORS = ['qualcomm', 'mediatek', 'unisoc'] as const;
/** Layout fields inspect must show for every partition of each vendor. */
const LAYOUT_KEYS = {
  qualcomm: ['lun', 'startSector', 'sectorSizeBytes'],
  mediatek: ['region', 'addressBytes'],
  unisoc: ['partitionId'],
} as const;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-vendor-releases-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** sha256 of a partition's expanded new image, read through the release reader. */
async function expandedSha256(releasePath: string): Promise<Map<string, string>> {
  const release = await openRelease(releasePath);
  const out = new Map<string, string>();
  try {
    for (const p of groupPartitions(release)) {
      if (!p.image) continue;
      const source = await p.image.open().catch(() => undefined);
      if (!source) continue;
      out.set(p.name, sha256Hex(await source.read(0, source.sizeBytes)));
      await source.close();
    }
  } finally {
    await release.close();
  }
  return out;
}

describe.each(VENDORS)('%s sample release', (vendor) => {
  const v1 = join(SAMPLES, vendor, 'v1');
  const v2 = join(SAMPLES, vendor, 'v2');

  it('builds one package whose inspect lists every partition with its layout; apply and verify reproduce every partition', async () => {
    const out = join(work, `${vendor}-out`);
    const built = jsonOf(runCliOk(['build', '--old', v1, '--new', v2, '-o', out, '--json']));
    expect(built.packages.map((p: any) => p.target)).toEqual([vendor]);
    expect(built.partitions.some((p: any) => p.status === 'changed')).toBe(true);
    expect(built.partitions.some((p: any) => p.status === 'unchanged')).toBe(true);
    expect(built.warnings.map((w: any) => w.code)).toContain('PARTITIONS_LEFT_OUT');
    const names = built.partitions.map((p: any) => p.name);
    expect(names).not.toContain('userdata');
    const pkg = built.packages[0].path;
    const info = jsonOf(runCliOk(['inspect', pkg, '--json']));
    expect(info.formatVersion).toBe('1.1');
    expect(info.target.releaseLayout).toBe(built.input);
    // The layout's storage wins over the profile default (MediaTek's is eMMC; this scatter says UFS).
    expect(info.target.storage).toBe(vendor === 'unisoc' ? 'emmc' : 'ufs');
    expect(info.partitions.map((p: any) => p.name)).toEqual(names);
    for (const p of info.partitions) {
      expect(p.layout.length, p.name).toBeGreaterThan(0);
      for (const l of p.layout)
        for (const key of LAYOUT_KEYS[vendor]) expect(l, `${p.name} ${key}`).toHaveProperty(key);
    }
    const html = join(out, 'inspect.html');
    runCliOk(['inspect', pkg, '--html', html]);
    for (const n of names) expect(readFileSync(html, 'utf8')).toContain(`Block map of ${n}<`);
    const text = runCliOk(['inspect', pkg]).stdout;
    for (const n of names) expect(text).toContain(`partition ${n} (`);

    const applied = join(out, 'applied');
    const r = jsonOf(runCliOk(['apply', pkg, '--old', v1, '-o', applied, '--device-target', vendor, '--json']));
    expect(readdirSync(applied).sort()).toEqual(names.map((n: string) => `${n}.img`).sort());
    const wanted = await expandedSha256(v2);
    for (const a of r.partitions) {
      const img = await openImage(join(applied, `${a.name}.img`));
      const actual = sha256Hex(await img.read(0, img.sizeBytes));
      await img.close();
      expect(actual, `${vendor} ${a.name}`).toBe(wanted.get(a.name));
    }
    const v = jsonOf(runCliOk(['verify', pkg, '--old', v1, '--device-target', vendor, '--json']));
    expect(v.checks.at(-1)).toMatchObject({ id: 'trial-apply', count: names.length });
    expect(v.checks.at(-1).text).toMatch(new RegExp(`all ${names.length} partitions`));
  });

  it('refuses a package for another chipset target (exit 2) and an old release of another build (exit 5)', () => {
    const other = vendor === 'qualcomm' ? 'mediatek' : 'qualcomm';
    const r = runCli(['build', '--old', v1, '--new', v2, '-o', join(work, `${vendor}-other`), '--target', other]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(nonWarningLines(r.stderr)).toEqual([expect.stringMatching(new RegExp(`release; target ${other} expects`))]);
    const pkg = jsonOf(runCliOk(['build', '--old', v1, '--new', v2, '-o', join(work, `${vendor}-base`), '--json']))
      .packages[0].path;
    const wrongBase = runCli(['apply', pkg, '--old', v2, '-o', join(work, `${vendor}-wrong-base`)]);
    expect(wrongBase.status, describeRun(wrongBase)).toBe(5);
    expect(nonWarningLines(wrongBase.stderr)).toEqual([
      expect.stringMatching(/^ota-build: error \[WRONG_BASE\]: partition \S+: /),
    ]);
    expect(existsSync(join(work, `${vendor}-wrong-base`))).toBe(false);
  });
});

/** Copies a sample release into a fresh folder for mutation. */
function copyOf(vendor: string, version: string, name: string): string {
  const dir = join(work, name);
  cpSync(join(SAMPLES, vendor, version), dir, { recursive: true });
  return dir;
}

/** Builds from a mutated release and expects exit 3 with one line matching `message`. */
function expectBadLayout(args: { old: string; next: string }, message: RegExp): void {
  const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
  const r = runCli(['build', '--old', args.old, '--new', args.next, '-o', out]);
  expect(r.status, describeRun(r)).toBe(3);
  expect(nonWarningLines(r.stderr), describeRun(r)).toEqual([expect.stringMatching(message)]);
  expect(existsSync(out) ? readdirSync(out).filter((f) => f.endsWith('.otapkg')) : []).toEqual([]);
}

describe('bad layouts → exit 3 naming the entry', () => {
  const v1 = (vendor: string) => join(SAMPLES, vendor, 'v1');

  it('qualcomm: path escapes (../ and absolute), overlapping entries, an image larger than its partition', () => {
    const secret = join(work, 'outside-secret.img');
    writeFileSync(secret, Buffer.alloc(8192, 7));
    const edit = (name: string, f: (xml: string) => string) => {
      const dir = copyOf('qualcomm', 'v2', name);
      const file = join(dir, 'rawprogram0.xml');
      writeFileSync(file, f(readFileSync(file, 'utf8')));
      return dir;
    };
    expectBadLayout(
      {
        old: v1('qualcomm'),
        next: edit('q-escape', (x) => x.replace('filename="super.img"', 'filename="../outside-secret.img"')),
      },
      /super: file name "\.\.\/outside-secret\.img" has a "\.\." segment/,
    );
    expectBadLayout(
      {
        old: v1('qualcomm'),
        next: edit('q-absolute', (x) => x.replace('filename="super.img"', `filename="${secret}"`)),
      },
      /super: file name ".*outside-secret\.img" is an absolute path/,
    );
    expectBadLayout(
      {
        old: v1('qualcomm'),
        next: edit('q-overlap', (x) => x.replace(/(label="userdata"[^>]*start_sector=")\d+/, '$1100')),
      },
      /RELEASE_OVERLAP.*userdata .* overlaps .*super/,
    );
    expectBadLayout(
      {
        old: v1('qualcomm'),
        next: edit('q-small', (x) => x.replace(/(label="super" num_partition_sectors=")\d+/, '$12')),
      },
      /RELEASE_TOO_BIG.*super: .* larger than the 8192 bytes the layout gives/,
    );
  });

  it('qualcomm: one rawprogram file against a release folder → exit 2 MIXED_INPUTS (one LUN against every LUN), nothing written', () => {
    const out = join(work, 'q-mixed');
    for (const [old, next] of [
      [join(v1('qualcomm'), 'rawprogram4.xml'), join(SAMPLES, 'qualcomm', 'v2')],
      [v1('qualcomm'), join(SAMPLES, 'qualcomm', 'v2', 'rawprogram4.xml')],
    ]) {
      const r = runCli(['build', '--old', old!, '--new', next!, '-o', out, '--target', 'qualcomm']);
      expect(r.status, describeRun(r)).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([
        expect.stringMatching(
          /MIXED_INPUTS.*rawprogram4\.xml is one rawprogram file \(that LUN only\) but .* is a release folder/,
        ),
      ]);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a missing image stops a build only when its partition is built: userdata (left out) no; --partitions userdata or a missing boot image, exit 3 before any work', () => {
    const out = join(work, 'm-missing');
    const [old, next] = [copyOf('mediatek', 'v1', 'm-missing-v1'), copyOf('mediatek', 'v2', 'm-missing-v2')];
    for (const dir of [old, next]) rmSync(join(dir, 'userdata.img'));
    const ok = jsonOf(runCliOk(['build', '--old', old, '--new', next, '-o', out, '--json']));
    expect(ok.partitions.map((p: { name: string }) => p.name)).not.toContain('userdata');
    rmSync(out, { recursive: true, force: true });
    const named = runCli(['build', '--old', old, '--new', next, '-o', out, '--partitions', 'userdata,boot']);
    expect(named.status, describeRun(named)).toBe(3);
    expect(nonWarningLines(named.stderr)).toEqual([
      expect.stringMatching(/RELEASE_MISSING_FILE.*userdata.*userdata\.img/),
    ]);
    expect(existsSync(out)).toBe(false);
    rmSync(join(next, 'boot.img'));
    const boot = runCli(['build', '--old', old, '--new', next, '-o', out]);
    expect(boot.status, describeRun(boot)).toBe(3);
    expect(nonWarningLines(boot.stderr)).toEqual([expect.stringMatching(/RELEASE_MISSING_FILE.*boot.*boot\.img/)]);
    expect(existsSync(out)).toBe(false);
    // The error comes first, before the left-out partitions' warning (which --strict turns into its own error).
    const strict = runCli(['build', '--old', old, '--new', next, '-o', out, '--strict']);
    expect(strict.status, describeRun(strict)).toBe(3);
    expect(strict.stderr.trim().split('\n')).toEqual([expect.stringMatching(/RELEASE_MISSING_FILE.*boot.*boot\.img/)]);
    expect(existsSync(out)).toBe(false);
  });

  it('mediatek: a path escape, overlapping partitions, an image larger than partition_size', () => {
    const edit = (name: string, f: (s: string) => string) => {
      const dir = copyOf('mediatek', 'v2', name);
      const file = readdirSync(dir).find((n) => n.endsWith('_Android_scatter.txt'))!;
      writeFileSync(join(dir, file), f(readFileSync(join(dir, file), 'utf8')));
      return dir;
    };
    expectBadLayout(
      {
        old: v1('mediatek'),
        next: edit('m-escape', (s) => s.replace('file_name: boot.img', 'file_name: ../../etc/passwd')),
      },
      /boot_a.*\.\.\/\.\.\/etc\/passwd/,
    );
    expectBadLayout(
      {
        old: v1('mediatek'),
        next: edit('m-small', (s) =>
          s.replace(/(partition_name: super\n(?:.*\n)*?\s*partition_size: )0x[0-9a-fA-F]+/, '$10x1000'),
        ),
      },
      /RELEASE_TOO_BIG.*super: .* larger than the 4096 bytes/,
    );
    expectBadLayout(
      {
        old: v1('mediatek'),
        next: edit('m-overlap', (s) => {
          const addr = /partition_name: boot_a\n(?:.*\n)*?\s*linear_start_addr: (0x[0-9a-fA-F]+)/.exec(s)![1]!;
          return s.replace(/(partition_name: vbmeta_a\n(?:.*\n)*?\s*linear_start_addr: )0x[0-9a-fA-F]+/, `$1${addr}`);
        }),
      },
      /RELEASE_OVERLAP.*vbmeta_a .* overlaps .*boot_a/,
    );
  });

  it('unisoc: a header or payload CRC mismatch, and an entry offset past the end (CRCs recomputed)', () => {
    const pacIn = (dir: string) =>
      join(
        dir,
        readdirSync(dir).find((n) => n.endsWith('.pac'))!,
      );
    const edit = (name: string, f: (pac: Buffer) => void, fixCrcs: boolean) => {
      const dir = copyOf('unisoc', 'v2', name);
      const path = pacIn(dir);
      const pac = readFileSync(path);
      f(pac);
      if (fixCrcs) {
        pac.writeUInt16LE(crc16Arc(pac.subarray(0, PAC_HEADER_CRC_OFFSET)), PAC_HEADER_CRC_OFFSET);
        pac.writeUInt16LE(crc16Arc(pac.subarray(PAC_HEADER_BYTES)), PAC_PAYLOAD_CRC_OFFSET);
      }
      writeFileSync(path, pac);
      return dir;
    };
    expectBadLayout(
      {
        old: v1('unisoc'),
        next: edit(
          'u-crc1',
          (p) => {
            p[100] = p[100]! ^ 0xff;
          },
          false,
        ),
      },
      /PAC_BAD_CRC.*header CRC \(wCRC1 at offset 2120\)/,
    );
    expectBadLayout(
      {
        old: v1('unisoc'),
        next: edit(
          'u-crc2',
          (p) => {
            p[p.length - 10] = p[p.length - 10]! ^ 0xff;
          },
          false,
        ),
      },
      /PAC_BAD_CRC.*payload CRC \(wCRC2 at offset 2122\)/,
    );
    // The first entry's 32-bit data offset (low word at 1552 in both layouts) pointed past the file.
    expectBadLayout(
      {
        old: v1('unisoc'),
        next: edit('u-offset', (p) => p.writeUInt32LE(p.length + 4096, PAC_HEADER_BYTES + 1552), true),
      },
      /PAC_BAD_OFFSET.*entry 0 \(\w+\): data at bytes/,
    );
    expect(PAC_ENTRY_BYTES).toBe(2580);
  });
});
