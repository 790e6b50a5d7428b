// ByteRangeSource: the role a package reader reads through — random reads of byte ranges from a
// package whose total size is known. File-backed (file-range-source.ts) and HTTP-backed
// (http-range-source.ts). Decode side only: nothing here knows the package format.

import { UnsupportedError } from '../errors/ota-error.js';

/** Random-read access to the bytes of one package. */
export interface ByteRangeSource {
  /** What to name in messages (a path or a URL). */
  readonly name: string;
  /** Total size of the package in bytes (the file size, or the size the server reported). */
  readonly sizeBytes: number;
  /**
   * Reads exactly `lengthBytes` bytes from `offsetBytes`; memory is the returned buffer. Throws
   * PKG_TRUNCATED when the range runs past the end.
   */
  read(offsetBytes: number, lengthBytes: number): Promise<Buffer>;
  /** true when a second read of a range may return other bytes (a network copy: refetch once). */
  readonly refetchable: boolean;
  /** Told when a range is read again because its bytes were corrupt (counted as a retry). */
  noteRefetch?(): void;
  /** Releases the file handle or connection. */
  close(): Promise<void>;
}

/** true when `where` names an http(s) URL rather than a file. */
export function isPackageUrl(where: string): boolean {
  return /^https?:\/\//i.test(where);
}

/**
 * Refuses a package named by a URL of another scheme (`ftp://`, `s3://`, `file://`…), which would
 * otherwise be opened as a local path and fail as a missing file. Throws UnsupportedError
 * `URL_UNSUPPORTED` (exit 7); the URL is named without its user name and password.
 */
export function refuseOtherUrl(where: string): void {
  // Two characters at least: `C://dir/x.otapkg` is a Windows path, not a URL of scheme C.
  const scheme = /^([a-z][a-z0-9+.-]+):\/\//i.exec(where)?.[1];
  if (scheme === undefined || isPackageUrl(where)) return;
  const named = withoutCredentials(where);
  throw new UnsupportedError(
    'URL_UNSUPPORTED',
    `${named}: ${scheme}:// URLs are not read; a package URL is http:// or https:// (a local file whose path looks like a URL: start it with ./)`,
  );
}

/** A URL with its user name and password (up to the last `@` of the authority) shown as `***`. */
export function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
}

/**
 * `where` as messages and results name it: an http(s) URL without its user name and password
 * (they are sent, never printed: `***` stands for them); a path as it is.
 */
export function displayName(where: string): string {
  if (!isPackageUrl(where)) return where;
  let url: URL;
  try {
    url = new URL(where);
  } catch {
    return withoutCredentials(where);
  }
  if (url.username === '' && url.password === '') return where;
  url.username = '***';
  url.password = '';
  return url.href;
}
