// Test helper: a minimal zip writer (local headers with sizes, deflate members made by our zlib
// re-implementation, a central directory), so tests build APK-like archives in-process and fast.
// Interop with real zlib is checked separately (test/diff/zlib-deflate.test.ts uses python3).

import { crc32 } from 'node:zlib';
import { DeflateSink } from '../../src/diff/deflate-sink.js';
import { zlibDeflateRaw } from '../../src/diff/zlib-deflate.js';
import { prng } from './seeded-random.js';

/** One member: its name, content and zlib level (0: stored). */
export interface ZipMember {
  readonly name: string;
  readonly data: Uint8Array;
  readonly level: number;
}

/** Raw deflate of `data` as zlib makes it at `level` (windowBits 15, memLevel 8, default strategy). */
export function zlibRaw(data: Uint8Array, level: number): Buffer {
  const sink = new DeflateSink(data.length + (data.length >> 3) + 1024);
  zlibDeflateRaw(data, { level, windowBits: 15, memLevel: 8, strategy: 0 }, sink);
  return Buffer.from(sink.bytes());
}

/**
 * Raw deflate of `data` as zlib makes it with the filtered strategy at level 6: a stream the
 * parameter search never tries, so deflate-aware re-makes it only from a recipe.
 */
export function filteredRaw(data: Uint8Array): Buffer {
  const sink = new DeflateSink(data.length + (data.length >> 3) + 1024);
  zlibDeflateRaw(data, { level: 6, windowBits: 15, memLevel: 8, strategy: 1 }, sink);
  return Buffer.from(sink.bytes());
}

/** A zlib stream around the raw deflate `raw`: header 78 9c and a placeholder Adler-32 (unchecked here). */
export function zlibWrapped(raw: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([0x78, 0x9c]), raw, Buffer.alloc(4)]);
}

/** A zip archive of `members`, in order. */
export function zipArchive(members: readonly ZipMember[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = Buffer.from(m.name, 'latin1');
    const body = m.level === 0 ? Buffer.from(m.data) : zlibRaw(m.data, m.level);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.level === 0 ? 0 : 8, 8);
    local.writeUInt32LE(crc32(m.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(20, 4);
    entry.writeUInt16LE(20, 6);
    local.copy(entry, 8, 6, 30);
    entry.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(entry, name);
    offset += 30 + name.length + body.length;
  }
  const dir = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, dir, end]);
}

/** JS-like text from a small vocabulary, seeded: deflates to about a third, LZMA-codes far smaller. */
export function jsLikeText(sizeBytes: number, seed: number): Buffer {
  const next = prng(seed);
  const words = ['function', 'return', 'const', 'value', 'module', 'exports', 'require', 'this', 'null', 'if'];
  const pick = () => words[Math.floor(next() * words.length)]!;
  const lines: string[] = [];
  let length = 0;
  while (length < sizeBytes) {
    const line = `  ${pick()} ${pick()}_${Math.floor(next() * 500)} = ${pick()}(${Math.floor(next() * 1e6)});\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, sizeBytes);
}

/**
 * An image of `imageBytes` holding, at 8 KiB, a zip archive of `memberCount` JS-like members of
 * about `memberBytes` (zlib levels 9 and 6): a full package of it uses sourceless deflate-aware
 * DIFF ops.
 */
export function zipTextImage(imageBytes: number, memberCount: number, seed: number, memberBytes = 60_000): Buffer {
  const members: ZipMember[] = Array.from({ length: memberCount }, (_, i) => ({
    name: `lib/m${i}.js`,
    data: jsLikeText(memberBytes + i * 1000, seed + i),
    level: i % 3 === 0 ? 9 : 6,
  }));
  const image = Buffer.alloc(imageBytes);
  zipArchive(members).copy(image, 8192);
  return image;
}
