// The buffer a decoder writes its output into: the caller's (an applier's reused buffer, of
// exactly the declared size) or a new one. Shared by every decoder so each checks the same way.

/** `into` when given (it must be exactly `expectedSizeBytes` long), else a new uninitialised buffer. */
export function decodeOutput(expectedSizeBytes: number, into?: Buffer): Buffer {
  if (into === undefined) return Buffer.allocUnsafe(expectedSizeBytes);
  if (into.length !== expectedSizeBytes)
    throw new RangeError(`decode buffer is ${into.length} bytes, not ${expectedSizeBytes}`);
  return into;
}
