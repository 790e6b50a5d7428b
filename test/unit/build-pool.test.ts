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

  it('starts one worker per core at once, and more (up to --jobs) only as jobs find none idle', async () => {
    const cores = availableParallelism();
    const pool = EncodePool.create(cores + 3);
    try {
      expect(pool.startedWorkers).toBe(cores);
      // cores + 2 jobs at once: two more workers, not three.
      const job = { path: join(samples, 'system-v1.img'), blockSizeBytes: 4096, withAnchors: false };
      const digests = await Promise.all(Array.from({ length: cores + 2 }, () => pool.hashImage(job)));
      expect(new Set(digests.map((d) => Buffer.from(d.imageSha256).toString('hex'))).size).toBe(1);
      expect(pool.startedWorkers).toBe(cores + 2);
      // A later job takes an idle worker.
      await pool.hashImage(job);
      expect(pool.startedWorkers).toBe(cores + 2);
    } finally {
      await pool.close();
    }
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
