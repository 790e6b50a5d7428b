// Worker-thread entry: receives EncodeTasks from EncodePool, answers with encoded candidates.

import { parentPort } from 'node:worker_threads';
import { toWire } from '../errors/error-wire.js';
import { encodeChunk, type EncodeTask } from './encode-chunk.js';

parentPort!.on('message', (msg: { id: number; task: EncodeTask }) => void answer(msg));

async function answer(msg: { id: number; task: EncodeTask }): Promise<void> {
  try {
    const result = await encodeChunk(msg.task);
    const transfer = result
      .map((c) => c.bytes.buffer as ArrayBuffer)
      .filter((b, i, all) => all.indexOf(b) === i && b.byteLength > 0);
    const plain = result.map((c) => ({
      spec: c.spec,
      bytes: new Uint8Array(c.bytes.buffer, c.bytes.byteOffset, c.bytes.byteLength),
      decoderMemoryBytes: c.decoderMemoryBytes,
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
