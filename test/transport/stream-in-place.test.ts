// `apply <URL> --in-place <img> --stash-dir <dir>` against a real nginx, through the fault proxy:
// drops are resumed and the image becomes the new one; a flipped metadata byte is refused before
// any body byte or any write; a run that gives up mid-body (retries exhausted) leaves a state that
// the same command, run again, finishes; a bad payload signature (checked after the last write)
// fails the run (exit 6); a blob corrupt on every fetch is refused (exit 5).

import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticImage } from '../helpers/edit-images.js';
import { describeRun, jsonOf, runCliOk } from '../helpers/run-cli.js';
import { seededRng } from '../helpers/seeded-random.js';
import { shuffledBlocks } from '../helpers/shuffled-blocks.js';
import { startFaultProxy, type Fault } from './fault-proxy.mjs';
import { startNginx, type NginxServer } from './nginx-server.mjs';
import { runCliAsync } from './run-cli-async.js';
import { requireNginx, sha } from './stream-kit.js';

const run = requireNginx();
const KiB = 1024;
const MiB = 1024 * KiB;
let work = '';
let oldPath = '';
let oldSha = '';
let newSha = '';
let props: {
  fileSizeBytes: number;
  metadataSizeBytes: number;
  blobSection: { offsetBytes: number; sizeBytes: number };
};
let nginx: NginxServer;
let n = 0;

beforeAll(async () => {
  if (!run) return;
  work = mkdtempSync(join(tmpdir(), 'ota-stream-in-place-'));
  chmodSync(work, 0o755); // nginx started by root serves as `nobody`
  const served = join(work, 'served');
  mkdirSync(served);
  const old = syntheticImage(2 * MiB, 31);
  // Heavy block movement (stashes), and incompressible stretches so the body is cut many times.
  const next = shuffledBlocks(old, 31);
  const rng = seededRng(9031);
  for (let i = 0; i < 6; i++)
    for (let j = 0, at = Math.floor(((i + 0.5) * next.length) / 6); j < 64 * KiB; j++) next[at + j] = rng.int(0, 255);
  [oldPath, oldSha, newSha] = [join(work, 'old.img'), '', ''];
  writeFileSync(oldPath, old);
  writeFileSync(join(work, 'new.img'), next);
  [oldSha, newSha] = [sha(oldPath), sha(join(work, 'new.img'))];
  const built = jsonOf(
    runCliOk(
      ['build', '--old', oldPath, '--new', join(work, 'new.img'), '-o', served, '--target', 'unisoc'].concat([
        '--update-mode',
        'in-place',
        '--json',
      ]),
      { timeoutMs: 120_000 },
    ),
  );
  expect(built.packages[0].inPlace.peakStashBytes).toBeGreaterThan(0);
  props = JSON.parse(readFileSync(join(served, 'update-unisoc.properties.json'), 'utf8'));
  expect(props.blobSection.sizeBytes).toBeGreaterThan(256 * KiB);
  // The same package with a byte of its payload signature flipped: metadata and blobs intact.
  const bad = readFileSync(join(served, 'update-unisoc.otapkg'));
  bad[bad.length - 5] = bad[bad.length - 5]! ^ 0xff;
  writeFileSync(join(served, 'bad-payload.otapkg'), bad);
  nginx = await startNginx(served, join(work, 'nginx'));
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh copy of the old image and a stash folder path (not created). */
function fresh(): { img: string; stash: string } {
  const img = join(work, `img-${n}`);
  copyFileSync(oldPath, img);
  return { img, stash: join(work, `stash-${n++}`) };
}

const applyArgs = (base: string, img: string, stash: string, extra: string[] = [], file = 'update-unisoc.otapkg') =>
  ['apply', `${base}/${file}`, '--in-place', img, '--stash-dir', stash, '--json'].concat(extra);

async function withProxy(
  fault: (i: number) => Fault,
  body: (base: string, p: { bodyBytesSent: (from?: number) => number }) => Promise<void>,
) {
  const proxy = await startFaultProxy(nginx.port, fault);
  try {
    await body(proxy.base, proxy);
  } finally {
    await proxy.close();
  }
}

describe.runIf(run)('apply <URL> --in-place', () => {
  it('through a proxy cutting every 64 KiB: the new image, no body byte twice, stash folder gone', async () => {
    await withProxy(
      () => ({ cutAfterBytes: 64 * KiB }),
      async (base, proxy) => {
        const { img, stash } = fresh();
        const r = await runCliAsync(applyArgs(base, img, stash, ['--retries', '3']));
        expect(r.status, describeRun(r)).toBe(0);
        expect(sha(img)).toBe(newSha);
        expect(existsSync(stash)).toBe(false);
        const j = jsonOf(r);
        expect(j).toMatchObject({ kind: 'in-place', start: 'base', sha256: newSha });
        expect(j.stashBytesWritten).toBeGreaterThan(0);
        expect(j.resumes).toBeGreaterThanOrEqual(Math.floor(props.blobSection.sizeBytes / (64 * KiB)) - 1);
        // Blobs arrive in op order on one response, resumed where a drop left it.
        expect(proxy.bodyBytesSent()).toBeLessThanOrEqual(props.fileSizeBytes);
      },
    );
  }, 60_000);

  it('a flipped metadata byte: exit 6 before a body byte is sent, the image and folder untouched', async () => {
    await withProxy(
      () => ({ flipAtOffset: 70 }),
      async (base, proxy) => {
        const { img, stash } = fresh();
        const r = await runCliAsync(applyArgs(base, img, stash));
        expect(r.status, describeRun(r)).toBe(6);
        expect(jsonOf(r).error.code).toBe('SIG_METADATA_INVALID');
        expect(proxy.bodyBytesSent(props.blobSection.offsetBytes)).toBe(0);
        expect(sha(img)).toBe(oldSha);
        expect(existsSync(stash)).toBe(false);
      },
    );
  }, 60_000);

  it('a server holding only the metadata prefix: PKG_TRUNCATED (exit 4) before any write, the image and folder untouched', async () => {
    const whole = readFileSync(join(work, 'served', 'update-unisoc.otapkg'));
    const prefixBytes = props.metadataSizeBytes;
    writeFileSync(join(work, 'served', 'prefix-only.otapkg'), whole.subarray(0, prefixBytes));
    const { img, stash } = fresh();
    const r = await runCliAsync(applyArgs(nginx.base, img, stash, [], 'prefix-only.otapkg'));
    expect(r.status, describeRun(r)).toBe(4);
    expect(jsonOf(r).error.code).toBe('PKG_TRUNCATED');
    expect(sha(img)).toBe(oldSha);
    expect(existsSync(stash)).toBe(false);
  }, 60_000);

  it('gives up mid-body (HTTP_FAILED), the image half rewritten; the same command again finishes it', async () => {
    const { img, stash } = fresh();
    // Connections 0 and 1 fetch the metadata; the body's first response is cut halfway, then nothing.
    await withProxy(
      (i) =>
        i < 2 ? {} : i === 2 ? { cutAfterBytes: Math.floor(props.blobSection.sizeBytes / 2) } : { cutAfterBytes: 0 },
      async (base) => {
        const r = await runCliAsync(applyArgs(base, img, stash, ['--retries', '0']));
        expect(r.status, describeRun(r)).toBe(8);
        expect(jsonOf(r).error.code).toBe('HTTP_FAILED');
        // The message says what the user now has and what to do.
        expect(jsonOf(r).error.message).toMatch(
          new RegExp(
            `; ${img} is part-way updated: run the same command again to finish it, keeping ${stash} \\(do not use the image before\\)$`,
          ),
        );
      },
    );
    expect(sha(img)).not.toBe(oldSha);
    expect(sha(img)).not.toBe(newSha);
    const r = await runCliAsync(applyArgs(nginx.base, img, stash));
    expect(r.status, describeRun(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({ start: 'interrupted', sha256: newSha });
    expect(sha(img)).toBe(newSha);
    expect(existsSync(stash)).toBe(false);
  }, 60_000);

  it('a bad payload signature is found after the last write: exit 6, and never exit 0 on a re-run', async () => {
    const { img, stash } = fresh();
    for (const start of ['base', 'done']) {
      const r = await runCliAsync(applyArgs(nginx.base, img, stash, [], 'bad-payload.otapkg'));
      expect(r.status, `${start}: ${describeRun(r)}`).toBe(6);
      expect(jsonOf(r).error.code).toBe('SIG_PAYLOAD_INVALID');
      // The image is the new one: no "part-way updated" to finish by a re-run (which cannot).
      expect(jsonOf(r).error.message).not.toMatch(/part-way/);
    }
    // Every block written came from a blob the signed manifest vouches for.
    expect(sha(img)).toBe(newSha);
  }, 60_000);

  it('a blob corrupt on every fetch: BLOB_HASH_MISMATCH exit 5; without the fault, a re-run finishes', async () => {
    const at = props.blobSection.offsetBytes + props.blobSection.sizeBytes - 100;
    await withProxy(
      () => ({ flipAtOffset: at }),
      async (base) => {
        const { img, stash } = fresh();
        const r = await runCliAsync(applyArgs(base, img, stash));
        expect(r.status, describeRun(r)).toBe(5);
        expect(jsonOf(r).error.code).toBe('BLOB_HASH_MISMATCH');
        // The run stopped before the last blob's op: a re-run without the fault finishes.
        const again = await runCliAsync(applyArgs(nginx.base, img, stash));
        expect(again.status, describeRun(again)).toBe(0);
        expect(sha(img)).toBe(newSha);
      },
    );
  }, 60_000);
});
