// Interop with the real CLIs: our streams decode with zstd / xz / gzip, and theirs with us.
// Missing tools fail these tests (see cli-tool.ts); CI installs zstd, xz-utils and gzip.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codecByName } from './codec-pairs.js';
import { runTool, runToolOk, scratchDir } from './cli-tool.js';
import { expectBlobError } from './expect-blob-error.js';
import { elfChunk, textLike } from './sample-data.js';

const MiB = 1024 * 1024;
const scratch = scratchDir();
afterAll(() => scratch.cleanup());
const data = elfChunk(MiB);

describe('zstd interop', () => {
  const zstd = codecByName('zstd');

  it('our frame decodes with `zstd -d` and carries content size and checksum', async () => {
    const frame = await zstd.encode(data, zstd.defaultLevel);
    expect(runToolOk('zstd', ['-d', '-c'], frame).equals(data)).toBe(true);
    const file = join(scratch.dir, 'ours.zst');
    writeFileSync(file, frame);
    const listing = runToolOk('zstd', ['-lv', file]).toString();
    expect(listing).toMatch(/Check: XXH64/);
    expect(listing).toMatch(/Decompressed Size: .*\(1048576 B\)/);
  });

  it('a `zstd -19` CLI frame decodes with our codec', async () => {
    const file = join(scratch.dir, 'cli-input.bin');
    writeFileSync(file, data);
    runToolOk('zstd', ['-19', '-q', '-f', file, '-o', `${file}.zst`]);
    const frame = runToolOk('cat', [`${file}.zst`]);
    expect((await zstd.decode(frame, data.length)).equals(data)).toBe(true);
  });

  it('refuses CLI frames without content size (stdin) or without checksum, and two frames', async () => {
    const noSize = runToolOk('zstd', ['-3', '-c'], data);
    expect((await expectBlobError(zstd.decode(noSize, data.length))).message).toMatch(/content size/);
    const file = join(scratch.dir, 'nocheck.bin');
    writeFileSync(file, data);
    runToolOk('zstd', ['-3', '--no-check', '-q', '-f', file, '-o', `${file}.zst`]);
    const noCheck = runToolOk('cat', [`${file}.zst`]);
    expect((await expectBlobError(zstd.decode(noCheck, data.length))).message).toMatch(/checksum/);
    const half = await zstd.encode(data.subarray(0, MiB / 2), 3);
    await expectBlobError(zstd.decode(Buffer.concat([half, half]), MiB / 2));
  });
});

describe('xz interop', () => {
  const xz = codecByName('xz');

  it('our stream decodes with `xz -d`, passes `xz -t`, and has a CRC64 check', async () => {
    const stream = await xz.encode(data, xz.defaultLevel);
    expect(runToolOk('xz', ['-d', '-c'], stream).equals(data)).toBe(true);
    const file = join(scratch.dir, 'ours.xz');
    writeFileSync(file, stream);
    runToolOk('xz', ['-t', file]);
    const listing = runToolOk('xz', ['--robot', '-lvv', file]).toString();
    const streamLine = listing.split('\n').find((line) => line.startsWith('stream\t')) ?? '';
    expect(streamLine.split('\t')).toContain('CRC64');
    // Dictionary fitted to the input: 1 MiB, so the decoder needs ~1 MiB, not 64 MiB.
    const memoryLine = listing.split('\n').find((line) => line.startsWith('summary\t')) ?? '';
    expect(Number(memoryLine.split('\t')[1])).toBeLessThanOrEqual(2 * MiB);
  });

  it('an `xz` CLI stream with a dictionary that fits decodes with our codec', async () => {
    const stream = runToolOk('xz', ['-c', '--format=xz', '--check=crc32', '--lzma2=preset=6,dict=1MiB'], data);
    expect((await xz.decode(stream, data.length)).equals(data)).toBe(true);
  });

  it('refuses a stream without integrity check and one whose dictionary exceeds the memlimit', async () => {
    const small = textLike(64 * 1024);
    const noCheck = runToolOk('xz', ['-c', '--check=none', '-6'], small);
    expect((await expectBlobError(xz.decode(noCheck, small.length))).message).toMatch(/integrity check/);
    const bigDict = runToolOk('xz', ['-c', '-9'], small);
    expect((await expectBlobError(xz.decode(bigDict, small.length))).message).toMatch(/[Mm]emory/);
  });

  it('refuses the legacy .lzma format', async () => {
    const small = textLike(4096);
    await expectBlobError(xz.decode(runToolOk('xz', ['-c', '--format=lzma'], small), small.length));
  });
});

describe('gzip interop', () => {
  const gzip = codecByName('gzip');

  it('our member decodes with `gzip -d`', async () => {
    const member = await gzip.encode(data, gzip.defaultLevel);
    expect(runToolOk('gzip', ['-d', '-c'], member).equals(data)).toBe(true);
  });

  it('a `gzip -9` CLI member decodes with our codec', async () => {
    const member = runToolOk('gzip', ['-9', '-c'], data);
    expect((await gzip.decode(member, data.length)).equals(data)).toBe(true);
  });
});

it('interop tools report versions (fails when missing)', () => {
  for (const tool of ['zstd', 'xz', 'gzip']) expect(runTool(tool, ['--version']).status).toBe(0);
});
