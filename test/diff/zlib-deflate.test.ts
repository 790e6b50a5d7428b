// Our zlib deflate re-implementation against the real zlib (python3's zlib module, madler's
// 1.2.13 or later, as FORMAT.md requires): the same bytes for every level, memLevel, windowBits
// and strategy we support, on text, machine code, random and zero data, tiny and empty inputs.
// Also its parameter checks and the sink's cap.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DeflateMismatch, DeflateSink } from '../../src/diff/deflate-sink.js';
import { findDeflateParams } from '../../src/diff/deflate-params-search.js';
import { validDeflateParams, zlibDeflateRaw, type DeflateParams } from '../../src/diff/zlib-deflate.js';
import { elfChunk, randomBytes, textLike } from '../codecs/sample-data.js';

/** Raw deflate streams python3's zlib makes of `data`, one per parameter set. */
function pythonDeflate(data: Buffer, params: readonly DeflateParams[]): Buffer[] {
  const script = [
    'import sys, zlib, json',
    'data = sys.stdin.buffer.read()',
    'out = []',
    'for l, w, m, s in json.loads(sys.argv[1]):',
    '    c = zlib.compressobj(l, zlib.DEFLATED, -w, m, s)',
    '    out.append((c.compress(data) + c.flush()).hex())',
    'print(json.dumps(out))',
  ].join('\n');
  const arg = JSON.stringify(params.map((p) => [p.level, p.windowBits, p.memLevel, p.strategy]));
  const r = spawnSync('python3', ['-c', script, arg], { input: data, maxBuffer: 256 * 1024 * 1024 });
  expect(r.status, r.stderr?.toString()).toBe(0);
  return (JSON.parse(r.stdout.toString()) as string[]).map((hex) => Buffer.from(hex, 'hex'));
}

function ours(data: Uint8Array, p: DeflateParams): Buffer {
  const sink = new DeflateSink(data.length * 2 + 1024);
  zlibDeflateRaw(data, p, sink);
  return Buffer.from(sink.bytes());
}

const mixed = Buffer.concat([textLike(60_000, 61), elfChunk(50_000), randomBytes(10_000, 62), Buffer.alloc(20_000)]);

describe('zlib deflate re-implementation', () => {
  it('is compared with a zlib FORMAT.md names (1.2.13 or later: older ones choose blocks differently)', () => {
    const r = spawnSync('python3', ['-c', 'import zlib; print(zlib.ZLIB_RUNTIME_VERSION)']);
    expect(r.status, r.stderr?.toString()).toBe(0);
    const version = r.stdout.toString().trim();
    // madler's numbering only: a fork's (e.g. zlib-ng's "1.3.0.zlib-ng") makes other streams.
    expect(version).toMatch(/^\d+\.\d+(\.\d+)*$/);
    const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
    expect(major * 1e6 + minor * 1e3 + patch, `python3's zlib is ${r.stdout.toString().trim()}`).toBeGreaterThanOrEqual(
      1_002_013,
    );
  });
  it('matches real zlib byte for byte at levels 1-9, memLevel 8/9, windowBits 15 (mixed 140 KB)', () => {
    const params: DeflateParams[] = [];
    for (let level = 1; level <= 9; level++)
      for (const memLevel of [8, 9]) params.push({ level, windowBits: 15, memLevel, strategy: 0 });
    const expected = pythonDeflate(mixed, params);
    params.forEach((p, i) => expect(ours(mixed, p).equals(expected[i]!), JSON.stringify(p)).toBe(true));
  });

  it('matches real zlib for small windows and memLevels, the filtered and fixed strategies, tiny inputs', () => {
    const params: DeflateParams[] = [];
    for (const level of [1, 3, 4, 6, 9])
      for (const [windowBits, memLevel] of [
        [9, 1],
        [12, 4],
        [15, 9],
      ] as const)
        for (const strategy of [0, 1, 4]) params.push({ level, windowBits, memLevel, strategy });
    for (const data of [textLike(20_000, 63), Buffer.alloc(0), Buffer.from('a'), Buffer.from('abcabcabcabc')]) {
      const expected = pythonDeflate(data, params);
      params.forEach((p, i) => expect(ours(data, p).equals(expected[i]!), JSON.stringify(p)).toBe(true));
    }
  });

  it('finds the parameters that reproduce a real zlib stream, and none for a foreign one', () => {
    const data = textLike(80_000, 64);
    const [level9mem9] = pythonDeflate(data, [{ level: 9, windowBits: 15, memLevel: 9, strategy: 0 }]);
    // Several parameter sets may make the same stream; any of them re-makes it.
    const found = findDeflateParams(data, level9mem9!, undefined);
    expect(found).toBeDefined();
    expect(ours(data, found!).equals(level9mem9!)).toBe(true);
    const foreign = Buffer.concat([level9mem9!.subarray(0, 100), Buffer.from([0x03, 0x00])]);
    expect(findDeflateParams(data, foreign, 'max')).toBeUndefined();
  });

  it('makes each stream as a fresh zlib would, whatever streams ran before it on the thread', () => {
    // The deflater keeps its arrays for the next stream and zeroes only the hash heads (as zlib's
    // deflateReset): a long stream (window slid, chains and symbol buffer full) and one cut off
    // late by a mismatch leave stale bytes everywhere else, which must never reach the output.
    // Each state is shared by the parameter sets of one window and memLevel (strategies switch).
    const params: DeflateParams[] = [
      { level: 1, windowBits: 15, memLevel: 8, strategy: 0 },
      { level: 6, windowBits: 15, memLevel: 8, strategy: 0 },
      { level: 6, windowBits: 15, memLevel: 8, strategy: 4 },
      { level: 9, windowBits: 15, memLevel: 9, strategy: 1 },
      { level: 9, windowBits: 9, memLevel: 1, strategy: 4 },
    ];
    const long = Buffer.concat([mixed, randomBytes(40_000, 66)]);
    const after = [
      Buffer.from('abcabcabcabcabc'),
      textLike(3_000, 67),
      Buffer.alloc(600),
      mixed,
      elfChunk(9_000),
      Buffer.alloc(0),
    ];
    const expected = after.map((data) => pythonDeflate(data, params));
    const expectedLong = pythonDeflate(long, params);
    params.forEach((p, i) => {
      ours(long, p);
      // The real stream with one late byte changed: the re-deflate stops there, after slides and blocks.
      const almost = Buffer.from(expectedLong[i]!);
      almost[almost.length - 10]! ^= 0xff;
      expect(() => zlibDeflateRaw(long, p, new DeflateSink(almost.length, almost))).toThrow(DeflateMismatch);
      after.forEach((data, k) =>
        expect(ours(data, p).equals(expected[k]![i]!), `${JSON.stringify(p)} #${k}`).toBe(true),
      );
    });
  });

  it('accepts only the supported parameter ranges', () => {
    const ok = { level: 6, windowBits: 15, memLevel: 8, strategy: 0 };
    expect(validDeflateParams(ok)).toBe(true);
    for (const bad of [
      { level: 0 },
      { level: 10 },
      { windowBits: 8 },
      { windowBits: 16 },
      { memLevel: 0 },
      { memLevel: 10 },
      { strategy: 2 },
      { strategy: 3 },
      { strategy: 5 },
      { level: 1.5 },
    ])
      expect(validDeflateParams({ ...ok, ...bad }), JSON.stringify(bad)).toBe(false);
  });

  it('stops at the first byte past the sink capacity', () => {
    const sink = new DeflateSink(100);
    expect(() =>
      zlibDeflateRaw(randomBytes(10_000, 65), { level: 6, windowBits: 15, memLevel: 8, strategy: 0 }, sink),
    ).toThrow(DeflateMismatch);
    expect(sink.length).toBe(100);
  });
});
