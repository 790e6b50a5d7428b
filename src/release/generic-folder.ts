// The generic release layout: a folder of `<partition>.img` files (raw or Android sparse), one
// per partition, with no layout file. Partition order is by name; the layout states no sizes.

import { readdir, realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { ImageError, ioError } from '../errors/ota-error.js';
import { openImage } from '../image/open-image.js';
import type { ReleasePartition, ReleaseSource } from './release-source.js';

const IMAGE_FILE = /^([A-Za-z0-9_.-]{1,64})\.img$/;

/** Reads the folder listing; images are opened only when asked. */
export async function openGenericRelease(dir: string): Promise<ReleaseSource> {
  let files: string[];
  let root: string;
  try {
    root = await realpath(dir);
    files = (await readdir(dir, { withFileTypes: true })).filter((d) => (d.isFile() || d.isSymbolicLink()) && IMAGE_FILE.test(d.name)).map((d) => d.name);
  } catch (err) {
    throw ioError('read release folder', dir, err);
  }
  files.sort();
  if (files.length === 0) throw new ImageError('RELEASE_EMPTY', `${dir} holds no <partition>.img files and no rawprogram, scatter or PAC layout`);
  const partitions: ReleasePartition[] = files.map((fileName) => ({
    name: IMAGE_FILE.exec(fileName)![1]!,
    layoutSizeBytes: undefined,
    fileName,
    upgradable: true,
    placement: { kind: 'generic' },
    async open() {
      const path = join(dir, fileName);
      const real = await realpath(path).catch((err) => {
        throw ioError('open image', path, err);
      });
      if (!real.startsWith(root + sep)) throw new ImageError('RELEASE_PATH_ESCAPE', `${fileName} in ${dir} links to ${real}, outside the release folder`);
      return openImage(real);
    },
  }));
  return { layout: 'generic-folder', path: dir, partitions, close: async () => undefined };
}
