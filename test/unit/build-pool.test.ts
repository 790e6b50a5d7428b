// BuildOptions.pool (src/pipeline/build-options.ts): workers a caller started (the CLI starts them
// before loading the build) hash and encode the build, and the build closes them whether it
// succeeds or fails, so no worker outlives it.

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { OtaError } from '../../src/errors/ota-error.js';
import { buildPackages } from '../../src/pipeline/build-packages.js';
import { EncodePool } from '../../src/pipeline/encode-pool.js';

const samples = new URL('../../sample-images/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ota-build-pool-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a build given a pool', () => {
  it('hashes and encodes on it, and closes it', async () => {
    const pool = EncodePool.create(2);
    const hashed = vi.spyOn(pool, 'hashImage');
    const encoded = vi.spyOn(pool, 'encode');
    const closed = vi.spyOn(pool, 'close');
    const result = await buildPackages({
      pool,
      oldPath: join(samples, 'system-v1.img'),
      newPath: join(samples, 'system-v2.img'),
      outDir: join(work, 'ok'),
      targets: 'generic',
      timestampSeconds: 1,
    });
    expect(result.packages).toHaveLength(1);
    expect(hashed).toHaveBeenCalledTimes(2);
    expect(encoded).toHaveBeenCalled();
    expect(closed).toHaveBeenCalled();
  });

  it('starts one worker per core at once, and more (up to --jobs) only as chunks find none idle', async () => {
    const pool = EncodePool.create(64);
    expect(pool.startedWorkers).toBe(Math.min(64, availableParallelism()));
    const result = await buildPackages({
      pool,
      oldPath: join(samples, 'system-v1.img'),
      newPath: join(samples, 'system-v2.img'),
      outDir: join(work, 'many-jobs'),
      targets: 'generic',
      timestampSeconds: 1,
    });
    expect(result.packages).toHaveLength(1);
    // The sample pair's few chunks, in flight together, need far fewer than 64.
    expect(pool.startedWorkers).toBeGreaterThanOrEqual(Math.min(2, availableParallelism()));
    expect(pool.startedWorkers).toBeLessThan(64);
  });

  it('closes it when the build fails before using it', async () => {
    const pool = EncodePool.create(2);
    const closed = vi.spyOn(pool, 'close');
    const failed = buildPackages({
      pool,
      oldPath: join(samples, 'system-v1.img'),
      newPath: join(work, 'missing.img'),
      outDir: join(work, 'failed'),
      timestampSeconds: 1,
    });
    await expect(failed).rejects.toBeInstanceOf(OtaError);
    await expect(failed).rejects.toMatchObject({ code: 'IO_ENOENT' });
    expect(closed).toHaveBeenCalled();
  });
});
