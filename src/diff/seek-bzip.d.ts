// Types for the parts of seek-bzip (pure-JavaScript bzip2 decoder) that bzip2-stream.ts uses.
declare module 'seek-bzip' {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  const Bunzip: {
    decode(input: Uint8Array, output?: OutputStream | Uint8Array | number, multistream?: boolean): Buffer | undefined;
  };
  export default Bunzip;
}
