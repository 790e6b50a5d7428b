// The base check: the old image must be the one the package was built from (size, then the image
// sha256 with DONT_CARE blocks as zeros). Run before anything is written (checkBase), or started
// on the second core (startBaseCheck) while a file output is written: a plain old image file is
// hashed by a worker thread through the applier's own descriptor (the very file it reads, never
// reopened by name); any other source is hashed on the main thread between the ops' awaits.

import { Worker } from 'node:worker_threads';
import { ioError, VerificationError } from '../errors/ota-error.js';
import { imageSha256 } from '../hashing/image-sha256.js';
import type { BlockSource } from '../image/block-source.js';
import { RawImageSource } from '../image/raw-image-source.js';
import type { PartitionUpdate } from '../model/manifest.js';

/** Checks the old image against the package's source identity; returns its sha256 (hex). */
export async function checkBase(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  checkBaseSize(old, part);
  // DONT_CARE blocks of the source are undefined on the device: they count as zeros.
  return matchBase(old, part, await imageSha256(old, blockSizeBytes, part.source!.dontCare));
}

/**
 * checkBase, started: the size is checked now (throws), the hash runs on a worker thread when
 * `old` is a plain file. The promise must be settled before `old` is closed (the worker reads its
 * descriptor); it rejects with `WRONG_BASE` like checkBase.
 */
export function startBaseCheck(old: BlockSource, part: PartitionUpdate, blockSizeBytes: number): Promise<string> {
  checkBaseSize(old, part);
  const fd = old instanceof RawImageSource ? old.fileDescriptor() : undefined;
  if (fd === undefined) return checkBase(old, part, blockSizeBytes);
  const zeroed = part.source!.dontCare.map((e) => [e.startBlock * blockSizeBytes, e.blockCount * blockSizeBytes]);
  return new Promise<Buffer>((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, {
      eval: true,
      workerData: { fd, sizeBytes: old.sizeBytes, zeroed },
      // A hash needs little heap: keep the worker's small.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    worker.once('message', (digest: Uint8Array) => resolve(Buffer.from(digest)));
    worker.once('error', (err) => reject(ioError('hash old image', old.path, err)));
    worker.once('exit', (code) => reject(new Error(`old image hash worker exited with code ${code}`)));
  }).then((digest) => matchBase(old, part, digest));
}

function checkBaseSize(old: BlockSource, part: PartitionUpdate): void {
  if (old.sizeBytes !== part.source!.sizeBytes) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} is ${old.sizeBytes} bytes; the package was built from a ${part.source!.sizeBytes}-byte image (sha256 ${expectedOf(part).slice(0, 16)}…)`,
    );
  }
}

function matchBase(old: BlockSource, part: PartitionUpdate, digest: Buffer): string {
  const actual = digest.toString('hex');
  const expected = expectedOf(part);
  if (actual !== expected) {
    throw new VerificationError(
      'WRONG_BASE',
      `old image ${old.path} has sha256 ${actual.slice(0, 16)}…, the package needs ${expected.slice(0, 16)}…`,
    );
  }
  return actual;
}

function expectedOf(part: PartitionUpdate): string {
  return Buffer.from(part.source!.sha256).toString('hex');
}

/**
 * The worker (CommonJS, node built-ins only): the image sha256 of `sizeBytes` bytes read with
 * positional reads from `fd` in 4 MiB chunks, `zeroed` byte ranges ([start, length], DONT_CARE)
 * hashed as zeros; a file that ends early fails (the main thread's source would too).
 */
const HASH_WORKER = `
const { readSync } = require('node:fs');
const { createHash } = require('node:crypto');
const { workerData, parentPort } = require('node:worker_threads');
const { fd, sizeBytes, zeroed } = workerData;
const ranges = zeroed.map(([start, length]) => [start, start + length]).sort((a, b) => a[0] - b[0]);
const hash = createHash('sha256');
const buffer = Buffer.allocUnsafeSlow(Math.min(4 * 1024 * 1024, Math.max(1, sizeBytes)));
for (let at = 0; at < sizeBytes; ) {
  const chunk = buffer.subarray(0, Math.min(buffer.length, sizeBytes - at));
  for (let done = 0; done < chunk.length; ) {
    const n = readSync(fd, chunk, done, chunk.length - done, at + done);
    if (n === 0) throw new Error('old image ended at ' + (at + done) + ' bytes while being hashed');
    done += n;
  }
  for (const [start, end] of ranges) {
    if (end <= at || start >= at + chunk.length) continue;
    chunk.fill(0, Math.max(start, at) - at, Math.min(end, at + chunk.length) - at);
  }
  hash.update(chunk);
  at += chunk.length;
}
parentPort.postMessage(hash.digest());
`;
