// `apply <URL>` of a package whose ops read back what earlier ops wrote (format 1.6), from a real
// nginx through a proxy that cuts every connection after 64 KiB: the op that reads back starts
// only once the blocks it reads are written, whatever the download does; raw and sparse outputs.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPackages } from '../../src/index.js';
import { openImage } from '../../src/image/open-image.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { repeatedContentPair } from '../helpers/repeated-content.js';
import { describeRun } from '../helpers/run-cli.js';
import { startFaultProxy } from './fault-proxy.mjs';
import { startNginx, type NginxServer } from './nginx-server.mjs';
import { runCliAsync } from './run-cli-async.js';
import { filesIn, requireNginx, sha } from './stream-kit.js';

const run = requireNginx();
const KiB = 1024;
const work = mkdtempSync(join(tmpdir(), 'ota-stream-target-'));
const served = join(work, 'served');
const oldPath = join(work, 'old.img');
const newPath = join(work, 'new.img');
const pair = repeatedContentPair();
let nginx: NginxServer | undefined;

beforeAll(async () => {
  if (!run) return;
  // nginx started by root serves as `nobody`: the folders must be readable by others.
  chmodSync(work, 0o755);
  mkdirSync(served);
  writeFileSync(oldPath, pair.old);
  writeFileSync(newPath, pair.next);
  const built = await buildPackages({
    oldPath,
    newPath,
    outDir: served,
    targets: 'generic',
    jobs: 1,
    timestampSeconds: 1,
  });
  const reader = await PackageReader.open(built.packages[0]!.path);
  await reader.close();
  const reads = reader.manifest.partitions[0]!.operations.some(
    (op) => op.type === 'diff' && (op.targetSrc?.length ?? 0) > 0,
  );
  if (!reads) throw new Error('the package was meant to have an op reading back blocks written before');
  nginx = await startNginx(served, join(work, 'nginx'));
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe.runIf(run)('apply from a URL, ops reading back', () => {
  it('a proxy cutting every 64 KiB: the raw and the sparse output are the new image', async () => {
    const proxy = await startFaultProxy(nginx!.port, () => ({ cutAfterBytes: 64 * KiB }));
    try {
      for (const format of ['raw', 'sparse']) {
        const dir = join(work, `out-${format}`);
        mkdirSync(dir);
        const out = join(dir, 'new.img');
        const url = `${proxy.base}/update-generic.otapkg`;
        const r = await runCliAsync([
          'apply',
          url,
          '--old',
          oldPath,
          '-o',
          out,
          '--output-format',
          format,
          '--json',
          '--retries',
          '8',
        ]);
        expect(r.status, describeRun(r)).toBe(0);
        expect(filesIn(dir)).toEqual(['new.img']);
        if (format === 'raw') expect(sha(out)).toBe(sha(newPath));
        else {
          const image = await openImage(out);
          expect((await image.read(0, pair.next.length)).equals(pair.next)).toBe(true);
          await image.close();
        }
        expect(JSON.parse(r.stdout).resumes).toBeGreaterThan(0);
      }
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
