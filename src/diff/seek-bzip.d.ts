// Types for the parts of seek-bzip (pure-JavaScript bzip2 decoder) that bzip2-stream.ts uses.
declare module 'seek-bzip' {
  interface OutputStream {
    writeByte(byte: number): void;
  }
  interface InputStream {
    readByte(): number;
    read(buffer: Uint8Array, offset: number, lengthBytes: number): number;
    seek(pos: number): void;
    eof(): boolean;
  }
  const Bunzip: {
    decode(
      input: Uint8Array | InputStream,
      output?: OutputStream | Uint8Array | number,
      multistream?: boolean,
    ): Buffer | undefined;
  };
  export default Bunzip;
}
