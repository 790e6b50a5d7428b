// The one way input files are opened: read-only, and non-blocking so that a FIFO or device
// named as an image cannot hang the open (callers then refuse anything but a regular file).

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Opens `path` for reading only; O_NONBLOCK makes opening a FIFO return at once. */
export function openReadOnly(path: string): Promise<FileHandle> {
  return open(path, constants.O_RDONLY | constants.O_NONBLOCK);
}
