// Refuses, before any work, an output that names one of the command's input files (the same file
// through any name or link): writing it would destroy what the user gave (a report over an image,
// a package over the image it was built from).

import { UsageError } from '../errors/ota-error.js';
import { sameFile } from './same-file.js';
import { isPackageUrl } from '../transport/byte-range-source.js';

/** An option and the path it was given (undefined: not given). */
export interface NamedPath {
  readonly option: string;
  readonly path: string | undefined;
}

/** Throws OUTPUT_IS_INPUT (exit 2) when an output names an input file. */
export async function refuseOutputOverInput(
  outputs: readonly NamedPath[],
  inputs: readonly NamedPath[],
): Promise<void> {
  for (const out of outputs) {
    if (out.path === undefined) continue;
    for (const input of inputs) {
      if (input.path === undefined || isPackageUrl(input.path)) continue;
      if (await sameFile(input.path, out.path))
        throw new UsageError(
          'OUTPUT_IS_INPUT',
          `${out.option} ${out.path} is the input ${input.option} ${input.path}: an output never replaces an input`,
        );
    }
  }
}
