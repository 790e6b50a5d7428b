// Registry lookups: every encoder by name (encode side) and every decoder by wire id (decode
// side, the one place ids are resolved); unknown ones are typed errors.

import { describe, expect, it } from 'vitest';
import { CodecWireId } from '../../src/codecs/codec-descriptor.js';
import { allDecoders, decoderByWireId, decoderFor } from '../../src/codecs/decoder-registry.js';
import {
  allEncoders as allCodecs,
  CODEC_NAMES,
  encoderByName as codecByName,
} from '../../src/codecs/encoder-registry.js';
import { OtaError, UnsupportedError, UsageError } from '../../src/errors/ota-error.js';

function thrown(fn: () => unknown): OtaError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OtaError);
    return error as OtaError;
  }
  throw new Error('expected a throw');
}

describe('codec registry', () => {
  it('lists every wire id once, in wire-id order', () => {
    expect(CODEC_NAMES).toEqual(['none', 'gzip', 'brotli', 'zstd', 'xz']);
    for (const name of CODEC_NAMES) {
      const codec = codecByName(name);
      expect(codec.name).toBe(name);
      expect(codec.wireId).toBe(CodecWireId[name]);
      const decoder = decoderByWireId(codec.wireId);
      expect(decoder.name).toBe(name);
      expect(decoderFor(name)).toBe(decoder);
      expect(codec.defaultLevel).toBeGreaterThanOrEqual(codec.minLevel);
      expect(codec.defaultLevel).toBeLessThanOrEqual(codec.maxLevel);
    }
    expect(allCodecs().map((c) => c.wireId)).toEqual([0, 1, 2, 3, 4]);
    expect(allDecoders().map((d) => d.wireId)).toEqual([0, 1, 2, 3, 4]);
  });

  it('rejects an unknown name as a usage error listing the valid names', () => {
    const error = thrown(() => codecByName('lz4'));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('BAD_CODEC');
    expect(error.message).toBe('unknown codec "lz4": expected one of none, gzip, brotli, zstd, xz');
    expect(thrown(() => codecByName('ZSTD')).code).toBe('BAD_CODEC');
  });

  it('rejects an unknown wire id as unsupported (exit 7)', () => {
    for (const id of [5, 255, -1, 1.5]) {
      const error = thrown(() => decoderByWireId(id));
      expect(error).toBeInstanceOf(UnsupportedError);
      expect(error.exitCode).toBe(7);
      expect(error.code).toBe('UNKNOWN_CODEC');
      expect(error.message).toMatch(
        new RegExp(`^unknown codec id ${String(id).replace('.', '\\.')}: this version knows 0 \\(none\\)`),
      );
    }
    const where = thrown(() => decoderByWireId(9, 'partition 0 op 3'));
    expect(where.message).toMatch(/^partition 0 op 3: unknown codec id 9: this version knows 0 \(none\), 1 \(gzip\)/);
    expect(thrown(() => decoderFor('lz4')).code).toBe('UNKNOWN_CODEC');
  });

  it('rejects an out-of-range level as a usage error (exit 2)', async () => {
    for (const codec of allCodecs()) {
      for (const level of [codec.minLevel - 1, codec.maxLevel + 1, codec.defaultLevel + 0.5]) {
        const error = await codec.encode(Buffer.from('x'), level).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(UsageError);
        expect((error as UsageError).code).toBe('BAD_LEVEL');
        expect((error as UsageError).exitCode).toBe(2);
      }
    }
  });
});
