// Hostile exec-aware (differ id 6) blobs inside validly signed packages (the signer is trusted,
// the blob sha256 matches, so only the patcher's own checks stand): an unknown arch byte, a bad
// magic, runs past the regions or a run count past any output, an inner patch that makes
// another size or is cut short, and a patch needing more memory
// than its op declares are refused by verify --old and apply with BLOB_DECODE_FAILED (exit 4),
// with no memory spike; the untouched patch applies. The same for a patch with a label table
// (format 1.5): the table cut, its flag cleared, an interval count past the op's memory or any
// output's, a position past ±2^40.

import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPackage } from '../../src/index.js';
import { BsdiffLzmaDiffer } from '../../src/diff/bsdiff-lzma-differ.js';
import { ExecAwareDiffer } from '../../src/diff/exec-aware-differ.js';
import {
  EXEC_AWARE_HEADER_BYTES,
  execAwarePatchBytes,
  hasLabelTable,
  readExecAwareArch,
  readExecAwareHeader,
} from '../../src/diff/exec-aware-patch.js';
import { encodeLabelMap } from '../../src/diff/label-map.js';
import { elfChunk, x86CallCode } from '../codecs/sample-data.js';
import { wholeImageDiffCase, type HostilePatch } from '../helpers/one-op-package.js';

const work = mkdtempSync(join(tmpdir(), 'ota-exec-signed-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const BLOCK = 4096;
const IMAGE_BYTES = 64 * BLOCK;

/** Real x86-64 code (node's binary, from its ELF header); the new side has 300 bytes inserted. */
function image(edit: boolean): Buffer {
  const code = elfChunk(IMAGE_BYTES, 0);
  const out = Buffer.alloc(IMAGE_BYTES);
  if (!edit) code.copy(out);
  else Buffer.concat([code.subarray(0, 70_000), Buffer.alloc(300, 0x90), code.subarray(70_000)]).copy(out);
  return out;
}

const oldImage = image(false);
const newImage = image(true);
const { oldPath, packageOf, expectAllRefused } = wholeImageDiffCase(work, 'exec-aware', oldImage, newImage);

describe('signed packages with hostile exec-aware blobs', () => {
  const differ = new ExecAwareDiffer();

  it('applies the untouched patch, and refuses each hostile variant with exit 4', async () => {
    const patch = await differ.diff(oldImage, newImage);
    expect(readExecAwareArch(patch)).toBe('x86-64');
    const memory = differ.decoderMemoryBytes(oldImage.length, newImage.length);
    const good = await packageOf('good', patch, memory);
    await applyPackage({ packagePath: good, oldPath, outputPath: join(work, 'good.img') });
    expect(readFileSync(join(work, 'good.img')).equals(newImage)).toBe(true);

    const header = patch.subarray(0, EXEC_AWARE_HEADER_BYTES);
    const withArch = (id: number) => Buffer.concat([header.subarray(0, 8), Buffer.from([id]), patch.subarray(9)]);
    const { innerOffset } = readExecAwareHeader(patch, Infinity, Infinity);
    const runsHeader = patch.subarray(0, innerOffset);
    const inner = patch.subarray(innerOffset);
    const shorter = await new BsdiffLzmaDiffer().diff(oldImage, newImage.subarray(0, IMAGE_BYTES - BLOCK));
    const hostile: HostilePatch[] = [
      ['arch byte 0', withArch(0), memory],
      ['arch byte 255', withArch(255), memory],
      ['bad magic', Buffer.concat([Buffer.from('BSDIFFLZ'), patch.subarray(8)]), memory],
      ['inner patch makes another size', Buffer.concat([runsHeader, shorter]), memory],
      ['runs past the regions', Buffer.concat([header, Buffer.from([2, 0, 0xff, 0xff, 0x03]), inner]), memory],
      [
        'run count past any output',
        Buffer.concat([header, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), inner]),
        memory,
      ],
      ['inner patch cut short', patch.subarray(0, patch.length - 5), memory],
      ['memory under what the apply needs', patch, memory - 1],
    ];
    await expectAllRefused(hostile);
  }, 120_000);

  it('refuses hostile label tables with exit 4, and applies the untouched one', async () => {
    const at = join(work, 'labels');
    mkdirSync(at);
    const code = (edit: boolean) => {
      const out = Buffer.alloc(IMAGE_BYTES);
      (edit ? x86CallCode(9, 100_000, 50_000, 29, 0x1800) : x86CallCode(9, 100_000)).copy(out, 64 * 1024);
      return out;
    };
    const [before, after] = [code(false), code(true)];
    const labelled = wholeImageDiffCase(at, 'exec-aware', before, after);
    const patch = await differ.diff(before, after);
    expect(hasLabelTable(patch)).toBe(true);
    const memory = execAwarePatchBytes(patch, before.length, after.length);
    const good = await labelled.packageOf('good', patch, memory);
    await applyPackage({ packagePath: good, oldPath: labelled.oldPath, outputPath: join(at, 'good.img') });
    expect(readFileSync(join(at, 'good.img')).equals(after)).toBe(true);

    const { innerOffset, labels } = readExecAwareHeader(patch, Infinity, Infinity);
    const tableAt = innerOffset - encodeLabelMap(labels).length;
    const withTable = (table: Buffer) =>
      Buffer.concat([patch.subarray(0, tableAt), table, patch.subarray(innerOffset)]);
    const flagOff = Buffer.from(patch);
    flagOff[8] = flagOff[8]! & 0x7f;
    const farStart = encodeLabelMap({
      start: Float64Array.of(2 ** 40),
      end: Float64Array.of(2 ** 40 + 8),
      shift: Float64Array.of(16),
    });
    const hostile: HostilePatch[] = [
      ['label flag cleared', flagOff, memory],
      ['label table cut', withTable(encodeLabelMap(labels).subarray(0, 3)), memory],
      ['label count past any output', withTable(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), memory],
      ['label intervals past the declared memory', patch, memory - 1],
      ['label position past 2^40', withTable(farStart), memory],
    ];
    await labelled.expectAllRefused(hostile);
  }, 120_000);
});
