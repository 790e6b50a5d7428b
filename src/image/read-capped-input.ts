// Reads a small input that may come through a pipe (a PIN from a secrets manager, CA certificates
// from `<(vault read …)`): opened whatever its kind and read to its end or to one byte past a
// cap, so /dev/zero or a huge file is refused at the cap, never read whole. A folder is IO_EISDIR.

import { open } from 'node:fs/promises';
import { ioError } from '../errors/ota-error.js';

/**
 * The bytes of `path`, at most `maxBytes` + 1 (more than `maxBytes`: the caller refuses it as too
 * large). Throws IoError (exit 8) naming `action` and the path.
 */
export async function readCappedInput(path: string, maxBytes: number, action: string): Promise<Buffer> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(maxBytes + 1);
      let filled = 0;
      // Not readUpTo: that reads at positions, and a pipe has none (reads here follow the stream).
      for (let n = -1; n !== 0 && filled < buf.length; filled += n)
        n = (await fh.read(buf, filled, buf.length - filled, null)).bytesRead;
      return buf.subarray(0, filled);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw ioError(action, path, err);
  }
}
