// The generic release layout: a folder of `<partition>.img` files (raw or Android sparse), one
// per partition, with no layout file. Partition order is by name; the layout states no sizes.

import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import { openImage } from '../image/open-image.js';
import { isPartitionName } from '../model/partition-name.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';

const IMAGE_FILE = /^(.+)\.img$/;

/** Reads the folder listing and resolves its links; images are opened only when asked. */
export async function openGenericRelease(dir: string): Promise<ReleaseSource> {
  let files: string[];
  let root: string;
  try {
    root = await realpath(dir);
    // Every *.img counts, whatever its type: a FIFO or folder is refused (when selected), not skipped.
    files = (await readdir(dir)).filter((n) => IMAGE_FILE.test(n));
  } catch (err) {
    throw ioError('read release folder', dir, err);
  }
  files.sort();
  if (files.length === 0)
    throw new ImageError(
      'RELEASE_EMPTY',
      `${dir} holds no <partition>.img files and no rawprogram, scatter or PAC layout`,
    );
  for (const f of files) {
    if (!isPartitionName(IMAGE_FILE.exec(f)![1]!))
      throw new ImageError(
        'RELEASE_BAD_NAME',
        `${dir}: ${JSON.stringify(f)} does not name a partition (1-64 of A-Z a-z 0-9 _ . -, then .img)`,
      );
  }
  const outside = (fileName: string, real: string): ImageError =>
    new ImageError('RELEASE_PATH_ESCAPE', `${fileName} in ${dir} links to ${real}, outside the release folder`);
  // Links are resolved now, so a file that leads out of the folder stops the build before any
  // warning about it or any work, whether or not its partition is selected (as a vendor layout's
  // file would), the first such file by name. open() resolves the link again: it may have changed
  // since. What is missing or no regular file is known now too (see `unavailable` below).
  const probes = await Promise.all(files.map((fileName) => probe(join(dir, fileName))));
  files.forEach((fileName, i) => {
    const real = probes[i]!.realPath;
    if (real !== undefined && !real.startsWith(root + sep)) throw outside(fileName, real);
  });
  const partitions: ReleasePartition[] = files.map((fileName, i) => {
    // A link to nothing is a missing image, as a vendor layout's missing file is, and a folder or
    // FIFO is no image: either stops a build only when its partition is selected (release-jobs.ts).
    const unavailable = probes[i]!.missing
      ? new ImageError('RELEASE_MISSING_FILE', `${fileName} in ${dir} is a symbolic link to a file that does not exist`)
      : !probes[i]!.regular
        ? new ImageError(
            'IMAGE_NOT_FILE',
            `${join(dir, fileName)} is not a regular file (block devices, FIFOs and folders are not supported as images)`,
          )
        : undefined;
    return {
      name: IMAGE_FILE.exec(fileName)![1]!,
      layoutSizeBytes: undefined,
      fileName,
      upgradable: true,
      placement: { kind: 'generic' },
      ...(unavailable ? { unavailable } : {}),
      async open() {
        if (unavailable) throw unavailable;
        const path = join(dir, fileName);
        const real = await realpath(path).catch((err) => {
          throw ioError('open image', path, err);
        });
        if (!real.startsWith(root + sep)) throw outside(fileName, real);
        return openImage(real);
      },
    };
  });
  return { layout: 'generic-folder', path: dir, partitions, close: async () => undefined };
}

/** An entry's link target, whether it leads nowhere, and whether it is a regular file (unknown: true, open() says). */
interface EntryProbe {
  readonly realPath?: string;
  readonly missing: boolean;
  readonly regular: boolean;
}

async function probe(path: string): Promise<EntryProbe> {
  let realPath: string;
  try {
    realPath = await realpath(path);
  } catch (err) {
    // ENOENT: a link to nothing; any other error is open()'s to report.
    return { missing: (err as NodeJS.ErrnoException).code === 'ENOENT', regular: true };
  }
  const regular = await stat(realPath).then(
    (st) => st.isFile(),
    () => true,
  );
  return { realPath, missing: false, regular };
}
