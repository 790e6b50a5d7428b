// Worker-thread entry: receives EncodeTasks from EncodePool and answers with encoded candidates,
// or hashes a whole image (HashJob) so the two images of a build are hashed on two threads.
// A build's first job is hashing, so the encoders and differs are loaded only after it (while
// the main thread plans) or for the first task: hashing starts as soon as the thread is up.
// Asked to stop, it ends itself once no native work is in flight (native-work.ts), never
// while an LZMA encode runs on the libuv pool.

import { parentPort } from 'node:worker_threads';
import { whenNoNativeWork } from '../codecs/native-work.js';
import { toWire } from '../errors/error-wire.js';
import type * as EncodeChunkModule from './encode-chunk.js';
import type { EncodeTask } from './encode-task.js';
import { hashImageFile, transferablesOf, type HashJob } from './hash-image-file.js';

type Request = { id: number; task: EncodeTask } | { id: number; hash: HashJob };

/** EncodePool.close's request: end the thread (the job under way, if any, is abandoned). */
export interface StopRequest {
  readonly stop: true;
}

parentPort!.on('message', (msg: Request | StopRequest) => {
  if ('stop' in msg) whenNoNativeWork(() => process.exit(0));
  else void answer(msg);
});

let encoder: Promise<typeof EncodeChunkModule> | undefined;

/** The encoding module, imported once. */
function loadEncoder(): Promise<typeof EncodeChunkModule> {
  return (encoder ??= import('./encode-chunk.js'));
}

async function answer(msg: Request): Promise<void> {
  try {
    if ('hash' in msg) {
      const progress = (done: number, total: number) =>
        parentPort!.postMessage({ id: msg.id, progress: [done, total] });
      const digests = await hashImageFile(msg.hash, progress);
      parentPort!.postMessage({ id: msg.id, digests }, transferablesOf(digests));
      void loadEncoder().catch(() => undefined); // a failure is reported by the first task that needs it
      return;
    }
    const { encodeChunk } = await loadEncoder();
    const result = await encodeChunk(msg.task);
    const transfer = result
      .map((c) => c.bytes.buffer as ArrayBuffer)
      .filter((b, i, all) => all.indexOf(b) === i && b.byteLength > 0);
    const plain = result.map((c) => ({
      spec: c.spec,
      bytes: new Uint8Array(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength),
      decoderMemoryBytes: c.decoderMemoryBytes,
      ...(c.formatMinor !== undefined ? { formatMinor: c.formatMinor } : {}),
      selfCheckedBytes: c.selfCheckedBytes,
      selfCheckMs: c.selfCheckMs,
    }));
    try {
      parentPort!.postMessage({ id: msg.id, result: plain }, transfer);
    } catch {
      parentPort!.postMessage({ id: msg.id, result: plain });
    }
  } catch (err) {
    parentPort!.postMessage({ id: msg.id, error: toWire(err) });
  }
}
