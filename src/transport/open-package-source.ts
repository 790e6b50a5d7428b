// openPackageSource: a package path or URL → the ByteRangeSource to read it through.

import type { ByteRangeSource } from './byte-range-source.js';
import { isPackageUrl, refuseOtherUrl } from './byte-range-source.js';
import { FileRangeSource } from './file-range-source.js';
import { HttpRangeSource, type HttpSourceOptions } from './http-range-source.js';

/** Opens an http(s) URL by ranges, a local path as a file; refuses a URL of any other scheme. */
export async function openPackageSource(where: string, http: HttpSourceOptions = {}): Promise<ByteRangeSource> {
  refuseOtherUrl(where);
  return isPackageUrl(where) ? HttpRangeSource.open(where, http) : FileRangeSource.open(where);
}
