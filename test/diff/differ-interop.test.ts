// Interop with the real tools: our bsdiff patches apply with Debian's `bspatch`, `bsdiff` CLI
// patches apply with us, and zstd-dict patches decode with `zstd -D` / `--patch-from`.
// Missing tools fail these tests (see cli-tool.ts); CI installs bsdiff and zstd.

import bsdiffNode from 'bsdiff-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BsdiffDiffer } from '../../src/diff/bsdiff-differ.js';
import { ZstdDictDiffer } from '../../src/diff/zstd-dict-differ.js';
import { runToolOk, scratchDir } from '../codecs/cli-tool.js';
import { editedCopy, elfChunk, randomBytes } from '../codecs/sample-data.js';
import { craftBsdiffPatch } from './bzip2-test-encoder.js';
import { pairDiffer } from './differ-pairs.js';

const MiB = 1024 * 1024;
const scratch = scratchDir();
afterAll(() => scratch.cleanup());
const source = elfChunk(MiB);
const target = editedCopy(source, 51);

function files(name: string, contents: Record<string, Uint8Array>): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const [key, bytes] of Object.entries(contents)) {
    paths[key] = join(scratch.dir, `${name}.${key}`);
    writeFileSync(paths[key], bytes);
  }
  return paths;
}

describe('bsdiff interop', () => {
  const bsdiff = pairDiffer(new BsdiffDiffer());

  it('our patch applies with Debian `bspatch`', async () => {
    const patch = await bsdiff.diff(source, target);
    const paths = files('ours', { old: source, patch });
    runToolOk('bspatch', [paths.old as string, join(scratch.dir, 'ours.new'), paths.patch as string]);
    expect(readFileSync(join(scratch.dir, 'ours.new')).equals(target)).toBe(true);
  });

  it('a Debian `bsdiff` patch applies with ours', async () => {
    const paths = files('cli', { old: source, new: target });
    runToolOk('bsdiff', [paths.old as string, paths.new as string, join(scratch.dir, 'cli.patch')]);
    const patch = readFileSync(join(scratch.dir, 'cli.patch'));
    expect((await bsdiff.patch(source, patch, target.length)).equals(target)).toBe(true);
  });

  it('a hand-crafted patch (our test bzip2 encoder) applies identically with `bspatch`', async () => {
    const old = randomBytes(64, 52);
    const patch = craftBsdiffPatch(
      40,
      [
        [16, 8, 4],
        [10, 6, -30],
      ],
      Buffer.alloc(26, 3),
      Buffer.from('abcdefghijklmn'),
    );
    const paths = files('crafted', { old, patch });
    runToolOk('bspatch', [paths.old as string, join(scratch.dir, 'crafted.new'), paths.patch as string]);
    expect((await bsdiff.patch(old, patch, 40)).equals(readFileSync(join(scratch.dir, 'crafted.new')))).toBe(true);
  });

  it('agrees with bsdiff-node’s own native bspatch on a valid patch', async () => {
    const patch = await bsdiff.diff(source, target);
    const paths = files('native', { old: source, patch });
    await bsdiffNode.patch(paths.old as string, join(scratch.dir, 'native.new'), paths.patch as string);
    expect(
      (await bsdiff.patch(source, patch, target.length)).equals(readFileSync(join(scratch.dir, 'native.new'))),
    ).toBe(true);
  });
});

describe('zstd-dict interop', () => {
  const differ = pairDiffer(new ZstdDictDiffer());

  it('our patch decodes with `zstd -D <source> -d` and with `--patch-from`, without --long', async () => {
    const patch = await differ.diff(source, target);
    const paths = files('zd', { src: source, patch });
    expect(runToolOk('zstd', ['-D', paths.src as string, '-d', '-c', paths.patch as string]).equals(target)).toBe(true);
    expect(
      runToolOk('zstd', ['-d', `--patch-from=${paths.src as string}`, '-c', paths.patch as string]).equals(target),
    ).toBe(true);
  });

  it('a window larger than 8 MiB (4 MiB source + 4 MiB target) still needs no --long', async () => {
    const big = randomBytes(4 * MiB, 53);
    const bigTarget = editedCopy(big, 54);
    const patch = await pairDiffer(new ZstdDictDiffer({ level: 3 })).diff(big, bigTarget);
    const paths = files('zdbig', { src: big, patch });
    expect(runToolOk('zstd', ['-D', paths.src as string, '-d', '-c', paths.patch as string]).equals(bigTarget)).toBe(
      true,
    );
  });

  it('a `zstd --patch-from` CLI patch applies with ours', async () => {
    const paths = files('zdcli', { src: source, new: target });
    runToolOk('zstd', [
      '-19',
      '-q',
      '-f',
      `--patch-from=${paths.src as string}`,
      paths.new as string,
      '-o',
      join(scratch.dir, 'zdcli.zst'),
    ]);
    const patch = readFileSync(join(scratch.dir, 'zdcli.zst'));
    expect((await differ.patch(source, patch, target.length)).equals(target)).toBe(true);
  });
});
