// Registry lookups: every differ by name (encode side) and every patcher by wire id (decode side,
// the one place ids are resolved); unknown ones are typed errors.

import { describe, expect, it } from 'vitest';
import { DifferWireId } from '../../src/diff/differ-descriptor.js';
import { allDiffers, DIFFER_NAMES, differByName } from '../../src/diff/differ-registry.js';
import { allPatchers, patcherByWireId, patcherFor } from '../../src/diff/patcher-registry.js';
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

describe('differ registry', () => {
  it('lists every wire id once, in wire-id order', () => {
    expect(DIFFER_NAMES).toEqual(['bsdiff', 'zstd-dict', 'bsdf2', 'bsdiff-lzma', 'deflate-aware', 'exec-aware']);
    for (const name of DIFFER_NAMES) {
      const differ = differByName(name);
      expect(differ.wireId).toBe(DifferWireId[name]);
      const patcher = patcherByWireId(differ.wireId);
      expect(patcher.name).toBe(name);
      expect(patcherFor(name)).toBe(patcher);
    }
    expect(allDiffers().map((d) => d.wireId)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(allPatchers().map((p) => p.wireId)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects an unknown name as a usage error listing the valid names', () => {
    const error = thrown(() => differByName('xdelta3'));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.exitCode).toBe(2);
    expect(error.code).toBe('BAD_DIFFER');
    expect(error.message).toBe(
      'unknown differ "xdelta3": expected one of bsdiff, zstd-dict, bsdf2, bsdiff-lzma, deflate-aware, exec-aware',
    );
  });

  it('rejects an unknown wire id as unsupported (exit 7)', () => {
    for (const id of [0, 7, 99]) {
      const error = thrown(() => patcherByWireId(id));
      expect(error).toBeInstanceOf(UnsupportedError);
      expect(error.exitCode).toBe(7);
      expect(error.code).toBe('UNKNOWN_DIFFER');
      expect(error.message).toBe(
        `unknown differ id ${id}: this version knows 1 (bsdiff), 2 (zstd-dict), 3 (bsdf2), 4 (bsdiff-lzma), 5 (deflate-aware), 6 (exec-aware)`,
      );
    }
    expect(thrown(() => patcherByWireId(8, 'partition 1 op 0')).message).toMatch(
      /^partition 1 op 0: unknown differ id 8/,
    );
    expect(thrown(() => patcherFor('xdelta3')).code).toBe('UNKNOWN_DIFFER');
  });
});
