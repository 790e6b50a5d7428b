// The build's self-check: every kept blob is decoded (or patched) by the decode-side half and
// compared with the new data before any package is written. A deliberately broken encoder or
// differ, injected through the build's test-only `plugins` option (the self-check itself is the
// real one), must stop the build with SELF_CHECK_FAILED (exit 1) and leave nothing behind; a
// real build reports how much it proved.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Encoder } from '../src/codecs/encoder.js';
import { encoderByName } from '../src/codecs/encoder-registry.js';
import type { Differ } from '../src/diff/differ.js';
import { differByName } from '../src/diff/differ-registry.js';
import { buildPackages, OtaError } from '../src/index.js';
import { runCli } from './helpers/run-cli.js';
import { writeImagePair } from './helpers/synthetic-images.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-selfcheck-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pair = writeImagePair(dir, 41, 512 * 1024);

/** Flips the last byte of a blob: what an encoder bug that still "succeeds" looks like. */
function flipLast(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out[out.length - 1] = out[out.length - 1]! ^ 0x5a;
  return out;
}

/** The registered encoder called `name`, except that its output has one byte flipped. */
function brokenEncoder(name: string): Encoder {
  const real = encoderByName(name);
  const broken = Object.create(real) as Encoder & { encode: Encoder['encode'] };
  broken.encode = async (data, level) => flipLast(await real.encode(data, level));
  return broken;
}

/** The registered differ called `name`, except that its patches have one byte flipped. */
function brokenDiffer(name: string): Differ {
  const real = differByName(name);
  const broken = Object.create(real) as Differ & { diff: Differ['diff'] };
  broken.diff = async (source, target) => flipLast(await real.diff(source, target));
  return broken;
}

async function buildError(run: Promise<unknown>): Promise<OtaError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OtaError);
  return error as OtaError;
}

describe('build self-check', () => {
  it('refuses a package whose encoder output does not decode back to the new data; no output folder is left', async () => {
    const outDir = join(dir, 'out-broken-encoder');
    const error = await buildError(
      buildPackages({
        newPath: pair.newPath,
        outDir,
        targets: 'generic',
        codec: 'none',
        timestampSeconds: 1,
        plugins: { encoders: [brokenEncoder('none')] },
      }),
    );
    expect(error.code).toBe('SELF_CHECK_FAILED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(
      /^self-check: replace\/none-0 for blocks \d+\+\d+( and \d+ more extents)? decodes to different bytes than the new data: first difference at byte \d+/,
    );
    expect(existsSync(outDir)).toBe(false);
  });

  it('refuses a delta whose differ makes a bad patch; an existing output folder stays empty', async () => {
    const outDir = join(dir, 'out-broken-differ');
    mkdirSync(outDir);
    const error = await buildError(
      buildPackages({
        oldPath: pair.oldPath,
        newPath: pair.newPath,
        outDir,
        targets: 'generic',
        differ: 'bsdiff-lzma',
        timestampSeconds: 1,
        plugins: { differs: [brokenDiffer('bsdiff-lzma')] },
      }),
    );
    expect(error.code).toBe('SELF_CHECK_FAILED');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(
      /^self-check: diff\/bsdiff-lzma for blocks \d+\+\d+ (does not decode|decodes to different bytes)/,
    );
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('build --json reports per package how many ops it decoded and how many new bytes it compared', () => {
    const outDir = join(dir, 'out-cli');
    const r = runCli([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      outDir,
      '--target',
      'generic,mediatek',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as {
      packages: { operationCounts: Record<string, number>; selfCheck: { opsDecoded: number; bytesCompared: number } }[];
    };
    expect(result.packages).toHaveLength(2);
    for (const p of result.packages) {
      const blobOps = (p.operationCounts.replace ?? 0) + (p.operationCounts.diff ?? 0);
      expect(p.operationCounts.diff ?? 0).toBeGreaterThan(0);
      expect(p.selfCheck.opsDecoded).toBe(blobOps);
      expect(p.selfCheck.bytesCompared).toBeGreaterThan(0);
      expect(p.selfCheck.bytesCompared % 4096).toBe(0);
      expect(p.selfCheck.bytesCompared).toBeLessThanOrEqual(pair.newImage.length);
    }
  });
});
