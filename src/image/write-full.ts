// Positional writes that loop until every byte is written: the one place that handles a short
// write (a write may take fewer bytes than given). Failures become IoError naming action and path.

import { ioError } from '../errors/ota-error.js';

/** The positional writes writeFull needs: a FileHandle. */
export interface PositionalWriter {
  /** Writes up to `length` bytes of `buffer` from `offset` at file `position`. */
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
}

/** Writes all of `data` at file position `positionBytes`; errors become `cannot <action> <path>: …`. */
export async function writeFull(
  writer: PositionalWriter,
  data: Uint8Array,
  positionBytes: number,
  purpose: { readonly action: string; readonly path: string },
): Promise<void> {
  try {
    for (let done = 0; done < data.length;) {
      const { bytesWritten } = await writer.write(data, done, data.length - done, positionBytes + done);
      done += bytesWritten;
    }
  } catch (err) {
    throw ioError(purpose.action, purpose.path, err);
  }
}
