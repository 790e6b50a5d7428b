// BuildOptions.pool (src/pipeline/build-options.ts): workers a caller started (the CLI starts them
// before loading the build) hash and encode the build, and the build closes them whether it
// succeeds or fails, so no worker outlives it. Closing while a worker encodes ends the process
// cleanly, and a closed pool answers every job.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

describe('closing the pool', () => {
  const xzTask = (sizeBytes: number) => ({
    newData: new Uint8Array(sizeBytes).map((_, i) => Math.imul(i, 2654435761) >>> 24),
    sourceData: new Uint8Array(0),
    specs: [{ kind: 'replace' as const, codec: 'xz', level: 6 }],
    replaceRequired: true,
  });

  it('during an LZMA encode on a worker: the process goes on and exits 0 (a terminated encode used to abort it)', () => {
    // In a child process, as a failed build would: both workers loaded, a 2 MiB xz encode (over a
    // second of LZMA on the libuv pool), close 300 ms in. Terminating that worker made lzma-native
    // throw a C++ exception during the thread's teardown: SIGABRT, the build's own error lost.
    const pool = new URL('../../dist/pipeline/encode-pool.js', import.meta.url).href;
    const script = `
      const { EncodePool } = await import(${JSON.stringify(pool)});
      // xorshift noise: LZMA finds nothing to match, so 2 MiB take over a second
      const noise = (n) => { const b = new Uint8Array(n); let x = 1; for (let i = 0; i < n; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; b[i] = x; } return b; };
      const task = (n) => ({ newData: noise(n), sourceData: new Uint8Array(0), specs: [{ kind: 'replace', codec: 'xz', level: 6 }], replaceRequired: true });
      const pool = EncodePool.create(2);
      await Promise.all([pool.encode(task(4096)), pool.encode(task(4096))]);
      const long = pool.encode(task(2 << 20)).then(() => 'encoded', (e) => 'refused: ' + e.message);
      await new Promise((r) => setTimeout(r, 300));
      await pool.close();
      console.log(await long);
    `;
    // A file, not --input-type: the workers would inherit that flag and refuse their own file.
    const file = join(work, 'close-during-lzma.mjs');
    writeFileSync(file, script);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/terminate called/);
    expect(r.stdout.trim()).toMatch(/^(encoded|refused: an encode worker ended)/);
  });

  it('replaces workers that ended (killed): a later job still gets an answer', async () => {
    const pool = EncodePool.create(2);
    try {
      const job = { path: join(samples, 'system-v1.img'), blockSizeBytes: 4096, withAnchors: false };
      const first = await pool.hashImage(job);
      // Both threads killed from outside the pool (as a crash would end them).
      const workers = (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers;
      await Promise.all(workers.map((w) => w.terminate()));
      const again = await pool.hashImage(job);
      expect(Buffer.from(again.imageSha256)).toEqual(Buffer.from(first.imageSha256));
    } finally {
      await pool.close();
    }
  });

  it('refuses the jobs still queued at close, and any job after it', async () => {
    const pool = EncodePool.create(2);
    const jobs = Array.from({ length: 6 }, () => pool.encode(xzTask(64 * 1024)));
    await pool.close();
    const settled = await Promise.allSettled(jobs);
    // Taken by a worker before the close: answered or refused; never left waiting.
    expect(settled.filter((s) => s.status === 'rejected').length).toBeGreaterThanOrEqual(4);
    await expect(pool.encode(xzTask(4096))).rejects.toThrow(/closed/);
    await pool.close(); // again: harmless
  });
});
