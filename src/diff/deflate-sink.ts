// Where a re-deflate writes its bytes: into a buffer of a fixed capacity (the stream length the
// patch declares), optionally checking each byte against the stream it must reproduce, so a
// wrong parameter set or a lying length stops at the first differing or surplus byte. Pure.

/** Thrown inside a re-deflate when the output departs from what it must be; callers catch it. */
export class DeflateMismatch extends Error {
  constructor(readonly atByte: number) {
    super(`re-deflated stream departs at byte ${atByte}`);
  }
}

/** A bounded byte sink for the deflater. */
export class DeflateSink {
  private readonly out: Uint8Array;
  /** Bytes written so far. */
  length = 0;
  /**
   * Of those, about the bytes of stored and fixed-code blocks (stored ones exactly, fixed ones
   * within 2 bytes over): the part not entropy-coded to fit its data, which a codec may still shrink.
   */
  uncodedBytes = 0;

  /**
   * `capacityBytes`: the most bytes the stream may have (allocated once, unless `into`).
   * `expected`: when given, every byte must equal it (its length is the capacity). `into`: when
   * given (and no `expected`), the bytes are written there (its length is the capacity).
   */
  constructor(
    capacityBytes: number,
    private readonly expected?: Uint8Array,
    into?: Uint8Array,
  ) {
    this.out = expected ?? into ?? new Uint8Array(capacityBytes);
  }

  /** Appends one byte; throws DeflateMismatch past the capacity or on a byte unlike `expected`. */
  put(byte: number): void {
    if (this.length >= this.out.length) throw new DeflateMismatch(this.length);
    if (this.expected) {
      if (this.expected[this.length] !== byte) throw new DeflateMismatch(this.length);
      this.length++;
      return;
    }
    this.out[this.length++] = byte;
  }

  /** Appends `bytes` to a sink that writes (not one that checks against `expected`). */
  putAll(bytes: Uint8Array): void {
    if (this.expected) throw new Error('putAll writes; this sink checks');
    if (this.length + bytes.length > this.out.length) throw new DeflateMismatch(this.out.length);
    this.out.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The bytes written. */
  bytes(): Uint8Array {
    return this.out.subarray(0, this.length);
  }
}
