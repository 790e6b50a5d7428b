// Type declarations for bsdiff-node 2.x (no bundled types). Declarations only: the runtime is
// the package's CommonJS module (default import). Both calls take file paths and reject with
// a plain string, not an Error.

declare module 'bsdiff-node' {
  /** Progress callback: percent done and, on failure, an error text. */
  type BsdiffProgress = (percent: number, error: string) => void;

  /** The module object (CommonJS `module.exports`). */
  interface BsdiffNode {
    diff(oldFile: string, newFile: string, patchFile: string, progress?: BsdiffProgress): Promise<void>;
    patch(oldFile: string, newFile: string, patchFile: string, progress?: BsdiffProgress): Promise<void>;
  }

  const bsdiff: BsdiffNode;
  export default bsdiff;
}
