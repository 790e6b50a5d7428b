// The `--levels` parser and the codec/differ selection of `compare`: good specs, and every kind of
// bad spec as a UsageError (exit 2) with a message that names what is wrong.

import { describe, expect, it } from 'vitest';
import {
  forbiddenReasons,
  listCombinations,
  resolveSelection,
  unrestrictedProfile,
  autoSpecs,
} from '../../src/compare/compare-combinations.js';
import { DEFAULT_COMPARE_LEVELS, parseLevels } from '../../src/compare/parse-levels.js';
import { UsageError } from '../../src/errors/ota-error.js';
import { resolveTarget } from '../../src/targets/target-registry.js';

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseLevels', () => {
  it.each([
    ['zstd=3,9,19;xz=1,6,9', { zstd: [3, 9, 19], xz: [1, 6, 9] }],
    [' zstd = 19 , 3 ; gzip=1 ;', { zstd: [3, 19], gzip: [1] }],
    ['ZSTD=22;none=0;brotli=0,11', { zstd: [22], none: [0], brotli: [0, 11] }],
    ['xz=0', { xz: [0] }],
  ])('%j', (spec, expected) => {
    expect(Object.fromEntries(parseLevels(spec))).toEqual(expected);
  });

  it.each([
    ['', 'BAD_LEVELS', /empty/],
    [';', 'BAD_LEVELS', /empty/],
    ['zstd=3;;xz=1', 'BAD_LEVELS', /empty part/],
    ['zstd', 'BAD_LEVELS', /expected <codec>=<level>/],
    ['zstd=', 'BAD_LEVELS', /empty level/],
    ['zstd=3,,9', 'BAD_LEVELS', /empty level/],
    ['zstd=fast', 'BAD_LEVELS', /"fast" is not an integer/],
    ['zstd=-1', 'BAD_LEVELS', /not an integer/],
    ['zstd=3.5', 'BAD_LEVELS', /not an integer/],
    ['zstd=0', 'BAD_LEVELS', /outside 1\.\.22/],
    ['zstd=23', 'BAD_LEVELS', /outside 1\.\.22/],
    ['gzip=10', 'BAD_LEVELS', /outside 1\.\.9/],
    ['none=1', 'BAD_LEVELS', /outside 0\.\.0/],
    ['zstd=3,3', 'BAD_LEVELS', /given twice/],
    ['zstd=3;zstd=9', 'BAD_LEVELS', /names zstd twice/],
    ['lz4=1', 'BAD_CODEC', /unknown codec "lz4"/],
    ['xz=9e', 'BAD_LEVELS', /extreme presets .* not supported by the xz codec/],
    ['xz=1,6,9e', 'BAD_LEVELS', /extreme/],
    ['zstd=9e', 'BAD_LEVELS', /not an integer/],
  ])('%j is refused (%s)', (spec, code, message) => {
    const err = usageError(() => parseLevels(spec));
    expect(err.code).toBe(code);
    expect(err.message).toMatch(message);
  });
});

describe('resolveSelection and the combinations', () => {
  it("defaults: every codec at its representative levels, every differ in the profiles' order, then auto", async () => {
    const s = resolveSelection({});
    expect(s.codecs).toEqual(['none', 'gzip', 'brotli', 'zstd', 'xz']);
    expect(Object.fromEntries(s.levels)).toEqual(DEFAULT_COMPARE_LEVELS);
    expect(s.differs).toEqual(['bsdiff-lzma', 'zstd-dict', 'bsdiff', 'bsdf2', 'deflate-aware', 'exec-aware']);
    // Every differ a built-in profile allows, in its order: auto is then what build makes.
    for (const id of ['generic', 'qualcomm', 'mediatek', 'unisoc'])
      expect((await resolveTarget(id)).allowedDiffers, id).toEqual(s.differs);
    const combos = listCombinations(s);
    expect(combos.filter((c) => c.kind === 'replace')).toHaveLength(12);
    expect(combos.slice(-7)).toEqual([...s.differs.map((differ) => ({ kind: 'diff', differ })), { kind: 'auto' }]);
  });

  it('--differs all is the default set; all or none listed with differs is BAD_OPTION', () => {
    expect(resolveSelection({ differs: ' ALL ' }).differs).toEqual(resolveSelection({}).differs);
    for (const differs of ['none,bsdiff', 'bsdiff,all'])
      expect(usageError(() => resolveSelection({ differs }))).toMatchObject({
        code: 'BAD_OPTION',
        message: expect.stringMatching(/^--differs (none|all) stands alone; it cannot be listed with differs/),
      });
  });

  it('--levels overrides only the codecs it names; --codecs narrows; --differs none drops differs', () => {
    const s = resolveSelection({ codecs: 'zstd, xz,zstd', levels: 'xz=6', differs: 'none' });
    expect(s.codecs).toEqual(['zstd', 'xz']);
    expect(Object.fromEntries(s.levels)).toEqual({ zstd: [3, 9, 19], xz: [6] });
    expect(listCombinations(s).map((c) => (c.kind === 'replace' ? `${c.codec}-${c.level}` : c.kind))).toEqual([
      'zstd-3',
      'zstd-9',
      'zstd-19',
      'xz-6',
      'auto',
    ]);
  });

  it.each([
    [{ codecs: 'zstd,lz4' }, 'BAD_CODEC'],
    [{ codecs: ' , ' }, 'BAD_OPTION'],
    [{ differs: 'xdelta' }, 'BAD_DIFFER'],
    [{ codecs: 'zstd', levels: 'xz=6' }, 'BAD_LEVELS'],
    [{ levels: 'xz=9e' }, 'BAD_LEVELS'],
  ])('%j is a usage error %s', (input, code) => {
    expect(usageError(() => resolveSelection(input)).code).toBe(code);
  });

  it('a target that forbids a codec says which and why; the unrestricted copy allows everything', async () => {
    const unisoc = await resolveTarget('unisoc');
    expect(forbiddenReasons(unisoc, [{ kind: 'replace', codec: 'zstd', level: 3 }])).toEqual([]);
    expect(forbiddenReasons(unisoc, [{ kind: 'replace', codec: 'brotli', level: 9 }])).toEqual([
      'unisoc does not allow codec brotli (allowed: none, gzip, zstd, xz)',
    ]);
    const noDiff = { ...unisoc, allowedOperations: ['zero', 'copy', 'replace'] as const, allowedDiffers: [] };
    expect(forbiddenReasons(noDiff, [{ kind: 'diff', differ: 'bsdiff' }])).toEqual([
      'unisoc does not allow DIFF operations',
    ]);
    const open = unrestrictedProfile(noDiff);
    expect(
      forbiddenReasons(open, [
        { kind: 'diff', differ: 'bsdiff' },
        { kind: 'replace', codec: 'brotli', level: 11 },
      ]),
    ).toEqual([]);
    expect(open).toMatchObject({ id: 'unisoc', blockSizeBytes: 4096, maxOperationBytes: unisoc.maxOperationBytes });
    expect(open.decoderMemoryLimitBytes).toBeGreaterThan(unisoc.decoderMemoryLimitBytes);
  });

  it("auto is build's candidate set: compared codecs the target allows at default levels, then its differs", async () => {
    const unisoc = await resolveTarget('unisoc');
    expect(autoSpecs(unisoc, resolveSelection({}), true)).toEqual([
      { kind: 'replace', codec: 'none', level: 0 },
      { kind: 'replace', codec: 'gzip', level: 9 },
      { kind: 'replace', codec: 'zstd', level: 19 },
      { kind: 'replace', codec: 'xz', level: 9 },
      { kind: 'diff', differ: 'bsdiff-lzma' },
      { kind: 'diff', differ: 'zstd-dict' },
      { kind: 'diff', differ: 'bsdiff' },
      { kind: 'diff', differ: 'bsdf2' },
      { kind: 'diff', differ: 'deflate-aware' },
      { kind: 'diff', differ: 'exec-aware' },
    ]);
    // Without an old image: the differs that work without a source, as build's full packages.
    expect(autoSpecs(unisoc, resolveSelection({ codecs: 'xz' }), false)).toEqual([
      { kind: 'replace', codec: 'xz', level: 9 },
      { kind: 'diff', differ: 'deflate-aware' },
    ]);
    // In the profile's order, as build tries them, whatever order the lists give.
    const reversed = {
      ...unisoc,
      allowedCodecs: [...unisoc.allowedCodecs].reverse(),
      allowedDiffers: [...unisoc.allowedDiffers].reverse(),
    };
    expect(autoSpecs(reversed, resolveSelection({ codecs: 'none,xz', differs: 'bsdiff,exec-aware' }), true)).toEqual([
      { kind: 'replace', codec: 'xz', level: 9 },
      { kind: 'replace', codec: 'none', level: 0 },
      { kind: 'diff', differ: 'exec-aware' },
      { kind: 'diff', differ: 'bsdiff' },
    ]);
    expect(autoSpecs(unisoc, resolveSelection({ codecs: 'brotli', differs: 'none' }), false)).toEqual(
      unisoc.allowedCodecs.map((codec) => expect.objectContaining({ codec })),
    );
  });
});
