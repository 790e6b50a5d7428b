// Generates a small Qualcomm UFS A/B release (4096-byte sectors) the way QFIL expects it:
// rawprogram0, 1, 2 and 4 .xml (LUN 0 device data and super, LUNs 1/2 the xbl boot LUNs, LUN 4 the
// A/B firmware), patch<N>.xml beside them, GPT files per LUN, and the images. Every A/B partition
// lists both slots, as real layouts do: xbl_b/abl_b name the same file as slot a, boot_b/dtbo_b/
// vbmeta_b have filename="" (flashed by the first boot's OTA). Non-slotted: splash (raw), super,
// persist and userdata (Android sparse), and ssd/misc/frp/metadata/devinfo/modemst1/modemst2/fsg
// without files. v1 → v2: boot, dtbo, vbmeta, splash and userdata get small edits, super GROWS
// (more sectors, so userdata moves), xbl/abl/persist unchanged.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KiB,
  editedImage,
  grownImage,
  partitionImage,
  sparseBytes,
  type GeneratedPartition,
  type GeneratedRelease,
} from './partition-images.js';

const SECTOR = 4096;

/** One <program> entry to write. */
interface Program {
  readonly label: string;
  readonly fileName: string;
  readonly sectors: number;
  /** A number, or an expression such as NUM_DISK_SECTORS-5. */
  readonly start: number | string;
  readonly sparse: boolean;
  readonly image: Buffer | undefined;
  readonly upgradable: boolean;
}

/** Options for makeQualcommRelease. */
export interface QualcommReleaseOptions {
  /** Leave out the patch<N>.xml files. */
  readonly noPatchFiles?: boolean;
}

/** A generated Qualcomm release plus its per-LUN programs (for layout assertions). */
export interface QualcommRelease extends GeneratedRelease {
  readonly luns: ReadonlyMap<
    number,
    readonly { label: string; start: number | string; sectors: number; fileName: string }[]
  >;
}

/** Writes release `version` (1 or 2) into `dir` (created) and describes it. */
export async function makeQualcommRelease(
  dir: string,
  version: 1 | 2,
  opts: QualcommReleaseOptions = {},
): Promise<QualcommRelease> {
  mkdirSync(dir, { recursive: true });
  const v2 = version === 2;
  const xbl = partitionImage('qcom/xbl', 96 * KiB);
  const abl = partitionImage('qcom/abl', 64 * KiB);
  const persist = partitionImage('qcom/persist', 64 * KiB, 0.75);
  const bootV1 = partitionImage('qcom/boot', 192 * KiB);
  const dtboV1 = partitionImage('qcom/dtbo', 32 * KiB);
  const vbmetaV1 = partitionImage('qcom/vbmeta', 8 * KiB);
  const splashV1 = partitionImage('qcom/splash', 64 * KiB, 0.25);
  const superV1 = partitionImage('qcom/super', 448 * KiB, 0.45);
  const userdataV1 = partitionImage('qcom/userdata', 256 * KiB, 0.9);
  const boot = v2 ? editedImage(bootV1, 'qcom/boot') : bootV1;
  const dtbo = v2 ? editedImage(dtboV1, 'qcom/dtbo', 3) : dtboV1;
  const vbmeta = v2 ? editedImage(vbmetaV1, 'qcom/vbmeta', 2) : vbmetaV1;
  const splash = v2 ? editedImage(splashV1, 'qcom/splash', 4, 32 * KiB) : splashV1;
  const superImage = v2
    ? grownImage(editedImage(superV1, 'qcom/super', 10, 240 * KiB), 'qcom/super', 576 * KiB, 64 * KiB)
    : superV1;
  const userdata = v2 ? editedImage(userdataV1, 'qcom/userdata', 3, 24 * KiB) : userdataV1;
  const superSectors = v2 ? 160 : 128;

  const files = new Map<string, Buffer>([
    ['xbl.elf', xbl],
    ['abl.elf', abl],
    ['boot.img', boot],
    ['dtbo.img', dtbo],
    ['vbmeta.img', vbmeta],
    ['splash.img', splash],
    ['persist.img', await sparseBytes(persist)],
    ['super.img', await sparseBytes(superImage)],
    ['userdata.img', await sparseBytes(userdata)],
  ]);
  const raw = (
    label: string,
    fileName: string,
    sectors: number,
    image: Buffer | undefined,
    sparse = false,
  ): Omit<Program, 'start'> => ({ label, fileName, sectors, sparse, image, upgradable: fileName !== '' });
  const none = (label: string, sectors: number): Omit<Program, 'start'> => raw(label, '', sectors, undefined);
  const lunPrograms = new Map<number, Array<Omit<Program, 'start'>>>([
    [
      0,
      [
        none('ssd', 2),
        raw('persist', 'persist.img', 16, persist, true),
        none('misc', 4),
        none('frp', 2),
        none('metadata', 4),
        raw('super', 'super.img', superSectors, superImage, true),
        raw('userdata', 'userdata.img', 64, userdata, true),
      ],
    ],
    [1, [raw('xbl_a', 'xbl.elf', 32, xbl)]],
    [2, [raw('xbl_b', 'xbl.elf', 32, xbl)]],
    [
      4,
      [
        raw('abl_a', 'abl.elf', 16, abl),
        raw('abl_b', 'abl.elf', 16, abl),
        raw('boot_a', 'boot.img', 64, boot),
        none('boot_b', 64),
        raw('dtbo_a', 'dtbo.img', 16, dtbo),
        none('dtbo_b', 16),
        raw('vbmeta_a', 'vbmeta.img', 4, vbmeta),
        none('vbmeta_b', 4),
        none('devinfo', 1),
        raw('splash', 'splash.img', 24, splash),
        none('modemst1', 8),
        none('modemst2', 8),
        none('fsg', 8),
      ],
    ],
  ]);

  const partitions: GeneratedPartition[] = [];
  const luns = new Map<number, Array<{ label: string; start: number | string; sectors: number; fileName: string }>>();
  for (const [lun, body] of lunPrograms) {
    let cursor = 6;
    const placed: Program[] = body.map((p) => {
      const start = cursor;
      cursor += p.sectors;
      return { ...p, start };
    });
    const gptNames = placed.map((p) => p.label);
    const gptMain = gptBytes(lun, gptNames, version, 6);
    const gptBackup = gptBytes(lun, gptNames, version, 5);
    files.set(`gpt_main${lun}.bin`, gptMain);
    files.set(`gpt_backup${lun}.bin`, gptBackup);
    const programs: Program[] = [
      {
        label: 'PrimaryGPT',
        fileName: `gpt_main${lun}.bin`,
        sectors: 6,
        start: 0,
        sparse: false,
        image: gptMain,
        upgradable: false,
      },
      ...placed,
      {
        label: 'BackupGPT',
        fileName: `gpt_backup${lun}.bin`,
        sectors: 5,
        start: 'NUM_DISK_SECTORS-5.',
        sparse: false,
        image: gptBackup,
        upgradable: false,
      },
    ];
    writeFileSync(join(dir, `rawprogram${lun}.xml`), rawprogramXml(lun, programs));
    if (!opts.noPatchFiles) writeFileSync(join(dir, `patch${lun}.xml`), patchXml(lun));
    luns.set(
      lun,
      programs.map((p) => ({ label: p.label, start: p.start, sectors: p.sectors, fileName: p.fileName })),
    );
    for (const p of programs) {
      const gpt = p.label.endsWith('GPT');
      partitions.push({
        name: gpt ? `${p.label}.lun${lun}` : p.label,
        fileName: p.fileName || undefined,
        layoutSizeBytes: p.sectors * SECTOR,
        upgradable: p.upgradable,
        sparse: p.sparse,
        image: p.image,
      });
    }
  }
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
  return { path: dir, partitions, luns };
}

function rawprogramXml(lun: number, programs: readonly Program[]): string {
  const lines = programs.map((p) => {
    const startHex =
      typeof p.start === 'number'
        ? `0x${(p.start * SECTOR).toString(16)}`
        : `(${SECTOR}*NUM_DISK_SECTORS)-${5 * SECTOR}.`;
    return `  <program SECTOR_SIZE_IN_BYTES="${SECTOR}" file_sector_offset="0" filename="${p.fileName}" label="${p.label}" num_partition_sectors="${p.sectors}" partofsingleimage="${p.label.endsWith('GPT')}" physical_partition_number="${lun}" readbackverify="false" size_in_KB="${((p.sectors * SECTOR) / 1024).toFixed(1)}" sparse="${p.sparse}" start_byte_hex="${startHex}" start_sector="${p.start}"/>`;
  });
  return `<?xml version="1.0" ?>\n<data>\n  <!--NOTE: This is an ** Autogenerated file **-->\n  <!--NOTE: Sector size is ${SECTOR}bytes-->\n${lines.join('\n')}\n</data>\n`;
}

function patchXml(lun: number): string {
  const patch = (what: string, offset: number, value: string): string =>
    `  <patch SECTOR_SIZE_IN_BYTES="${SECTOR}" byte_offset="${offset}" filename="DISK" physical_partition_number="${lun}" size_in_bytes="8" start_sector="1" value="${value}" what="${what}"/>`;
  return `<?xml version="1.0" ?>\n<patches>\n  <!--NOTE: This is an ** Autogenerated file **-->\n${patch('Update Primary Header with LastUseableLBA.', 48, 'NUM_DISK_SECTORS-6.')}\n${patch('Update Primary Header with Location of Backup Header.', 32, 'NUM_DISK_SECTORS-1.')}\n${patch('Update Primary Header with CRC of Partition Array.', 88, 'CRC32(2,4096)')}\n</patches>\n`;
}

/** A GPT-shaped blob (protective MBR, "EFI PART" header, partition names): not upgradable, just realistic. */
function gptBytes(lun: number, names: readonly string[], version: number, sectors: number): Buffer {
  const out = Buffer.alloc(sectors * SECTOR);
  out[SECTOR - 2] = 0x55;
  out[SECTOR - 1] = 0xaa;
  out.write('EFI PART', SECTOR, 'latin1');
  out.writeUInt32LE(0x00010000, SECTOR + 8);
  out.writeUInt32LE(lun * 100 + version, SECTOR + 56);
  names.forEach((n, i) => out.write(n, 2 * SECTOR + i * 128 + 56, 'utf16le'));
  return out;
}
