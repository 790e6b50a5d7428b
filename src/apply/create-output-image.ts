// Creates the output the applier writes into, by format: a raw file or a streamed sparse image.

import type { PartitionUpdate } from '../model/manifest.js';
import type { OutputFormat, OutputImage } from './output-image.js';
import { RawOutput } from './raw-output.js';
import { SparseOutput } from './sparse-output.js';

/** Creates a new output of `format` at `path`, which must not exist yet (O_EXCL), for `part`. */
export async function createOutputImage(
  format: OutputFormat,
  path: string,
  part: PartitionUpdate,
  blockSizeBytes: number,
): Promise<OutputImage> {
  return format === 'raw'
    ? RawOutput.open(path, part, blockSizeBytes)
    : SparseOutput.create(path, part, blockSizeBytes);
}
