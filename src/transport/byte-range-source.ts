// ByteRangeSource: the role a package reader reads through — random reads of byte ranges from a
// package whose total size is known. File-backed (file-range-source.ts) and HTTP-backed
// (http-range-source.ts). Decode side only: nothing here knows the package format.

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
 * `where` as messages and results name it: an http(s) URL without its user name and password
 * (they are sent, never printed: `***` stands for them); a path as it is.
 */
export function displayName(where: string): string {
  if (!isPackageUrl(where)) return where;
  let url: URL;
  try {
    url = new URL(where);
  } catch {
    return where.replace(/^(https?:\/\/)[^/?#]*@/i, '$1***@');
  }
  if (url.username === '' && url.password === '') return where;
  url.username = '***';
  url.password = '';
  return url.href;
}
