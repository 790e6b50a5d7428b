// Shared fixtures of the transport tests: a built package pair served by a real nginx from a temp
// folder (generic and mediatek targets, plus a second generic package of other images for the
// "package replaced mid-download" case), and small helpers. Tests FAIL without nginx when CI is set.

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inDestinationOrder } from '../../src/apply/staged-sparse-output.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { jsonOf, runCliOk } from '../helpers/run-cli.js';
import { seededRng } from '../helpers/seeded-random.js';
import { nginxAvailable, startNginx, type NginxServer } from './nginx-server.mjs';

const KiB = 1024;

/** Everything a transport test needs. */
export interface StreamKit {
  readonly work: string;
  readonly served: string;
  readonly oldPath: string;
  readonly newSha: string;
  /** The generic package's properties.json. */
  readonly props: {
    fileSizeBytes: number;
    metadataSizeBytes: number;
    blobSection: { offsetBytes: number; sizeBytes: number };
  };
  readonly nginx: NginxServer;
  /** A fresh empty folder for an output. */
  outDir(name: string): string;
  dispose(): Promise<void>;
}

/** sha256 of a file, hex. */
export const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Files in a folder (names). */
export const filesIn = (dir: string) => readdirSync(dir).sort();

/** Throws (fails the suite) without nginx on CI; else says whether to run. */
export function requireNginx(): boolean {
  if (nginxAvailable()) return true;
  if (process.env.CI) throw new Error('nginx is required for the transport tests on CI (apt-get install nginx-light)');
  return false;
}

/** Builds images of `sizeBytes` and packages for generic and mediatek, and starts nginx. */
export async function makeStreamKit(sizeBytes: number, seed: number): Promise<StreamKit> {
  const work = mkdtempSync(join(tmpdir(), 'ota-stream-'));
  const served = join(work, 'served');
  mkdirSync(served);
  // nginx started by root serves as `nobody`: the folders must be readable by others.
  chmodSync(work, 0o755);
  const old = syntheticImage(sizeBytes, seed);
  const oldPath = join(work, 'old.img');
  const newPath = join(work, 'new.img');
  writeFileSync(oldPath, old);
  const edits = Array.from({ length: 12 }, (_, i) => ({
    kind: 'random' as const,
    at: Math.floor((i * sizeBytes) / 12),
    length: Math.floor(sizeBytes / 30),
  }));
  const next = applyEdits(old, edits, seed);
  // Random stretches, so the blob section is large enough to be cut many times. They draw from the
  // same seed as the edits above, so a 1.6 package codes most of them against those edits, written
  // before (4 MiB kit: ~250 KiB), and the streamed ops read back target blocks.
  const rng = seededRng(seed);
  const stretchAt = (i: number) => Math.floor(((i + 0.5) * sizeBytes) / 6 / 4096) * 4096;
  for (let i = 0; i < 6; i++) {
    const at = stretchAt(i);
    for (let j = 0; j < 256 * KiB && at + j < sizeBytes; j++) next[at + j] = rng.int(0, 255);
  }
  // The last stretch repeats the second: it joins that stretch's op (repeated content is coded
  // once), so the package has an op that writes out of destination order, streamed like any other.
  next.copy(
    next,
    stretchAt(5),
    stretchAt(1),
    Math.min(stretchAt(1) + 256 * KiB, sizeBytes - stretchAt(5) + stretchAt(1)),
  );
  writeFileSync(newPath, next);
  const build = (oldImg: string, newImg: string, out: string, targets: string) =>
    jsonOf(
      runCliOk(
        ['build', '--old', oldImg, '--new', newImg, '-o', out, '--target', targets, '--codec', 'zstd', '--json'],
        { timeoutMs: 120_000 },
      ),
    );
  build(oldPath, newPath, served, 'generic,mediatek');
  // Another package for the same target from other images (replaces the served one in one test).
  const otherNew = join(work, 'other-new.img');
  writeFileSync(otherNew, applyEdits(old, edits.slice(0, 6), seed + 1));
  mkdirSync(join(work, 'other'));
  build(oldPath, otherNew, join(work, 'other'), 'generic');
  const props = JSON.parse(readFileSync(join(served, 'update-generic.properties.json'), 'utf8'));
  if (!(await writesOutOfOrder(join(served, 'update-generic.otapkg'))))
    throw new Error('stream kit: the generic package was meant to have an op writing out of destination order');
  const nginx = await startNginx(
    served,
    join(work, 'nginx'),
    'location /norange/ { alias ' + served + '/; max_ranges 0; }',
  );
  let n = 0;
  return {
    work,
    served,
    oldPath,
    newSha: sha(newPath),
    props,
    nginx,
    outDir: (name: string) => {
      const d = join(work, `${name}-${n++}`);
      mkdirSync(d);
      return d;
    },
    dispose: async () => {
      await nginx.stop();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Whether the ops of the package at `path` write out of destination order (repeated content). */
async function writesOutOfOrder(path: string): Promise<boolean> {
  const reader = await PackageReader.open(path);
  try {
    return reader.manifest.partitions.some((part) => !inDestinationOrder(part.operations));
  } finally {
    await reader.close();
  }
}

/** 64 KiB, for "fewer bytes than" bounds. */
export const SLACK_BYTES = 64 * KiB;
