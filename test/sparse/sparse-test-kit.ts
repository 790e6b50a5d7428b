// Shared helpers for the sparse suites: real-tool runs (a missing tool FAILS with an install
// hint), a hand builder that emits any chunk sequence (valid or not) together with its expected
// expansion, a chunk lister for written files, and an assertion for one-line ImageErrors.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ImageError } from '../../src/errors/ota-error.js';
import {
  SPARSE_CHUNK_HEADER_BYTES,
  SPARSE_FILE_HEADER_BYTES,
  SparseChunkType,
  decodeSparseChunkHeader,
  decodeSparseFileHeader,
  encodeSparseChunkHeader,
  encodeSparseFileHeader,
  sparseFileHeader,
  type SparseFileHeader,
} from '../../src/image/sparse-format.js';
import { crc32 } from '../../src/hashing/crc32.js';

const PACKAGES: Record<string, string> = {
  img2simg: 'android-sdk-libsparse-utils',
  simg2img: 'android-sdk-libsparse-utils',
  mke2fs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
};

/** Asserts `tool` can be spawned (a missing tool is a failure, never a skip). */
export function requireTool(tool: string): void {
  const run = spawnSync(tool, ['-V']);
  expect(run.error, `${tool} is required: apt-get install ${PACKAGES[tool] ?? tool}`).toBeUndefined();
}

/** Runs `tool args…`, failing the test with its stderr unless it exits 0. */
export function runTool(tool: string, args: readonly string[]): { status: number | null; stderr: string } {
  requireTool(tool);
  const run = spawnSync(tool, args, { maxBuffer: 64 * 1024 * 1024 });
  return { status: run.status, stderr: `${run.stderr?.toString() ?? ''}${run.stdout?.toString() ?? ''}` };
}

/** Runs `tool args…` and asserts it exited 0. */
export function runToolOk(tool: string, args: readonly string[]): void {
  const run = runTool(tool, args);
  expect(run.status, `${tool} ${args.join(' ')}: ${run.stderr}`).toBe(0);
}

/** A temp directory and its cleanup. */
export function scratchDir(prefix = 'ota-sparse-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Emits sparse chunks by hand and tracks the expanded image and its running crc32 (libsparse
 * reader semantics: FILL expanded, DONT_CARE as zeros). Only for small images.
 */
export class SparseBuilder {
  readonly parts: Buffer[] = [];
  /** Byte offset of each chunk header in the built file. */
  readonly chunkOffsets: number[] = [];
  private readonly expandedParts: Buffer[] = [];
  blocks = 0;
  crc = 0;
  private fileBytes = SPARSE_FILE_HEADER_BYTES;

  constructor(readonly blockSizeBytes = 4096) {}

  /** A RAW chunk of whole blocks. */
  raw(data: Buffer): this {
    this.expand(data);
    return this.chunk(
      SparseChunkType.raw,
      data.length / this.blockSizeBytes,
      SPARSE_CHUNK_HEADER_BYTES + data.length,
      data,
    );
  }

  /** A FILL chunk of `blocks` blocks of `value`. */
  fill(value: number, blocks: number): this {
    const pattern = Buffer.alloc(4);
    pattern.writeUInt32LE(value >>> 0, 0);
    this.expand(Buffer.alloc(blocks * this.blockSizeBytes, pattern));
    return this.chunk(SparseChunkType.fill, blocks, SPARSE_CHUNK_HEADER_BYTES + 4, pattern);
  }

  /** A DONT_CARE chunk of `blocks` blocks. */
  dontCare(blocks: number): this {
    this.expand(Buffer.alloc(blocks * this.blockSizeBytes));
    return this.chunk(SparseChunkType.dontCare, blocks, SPARSE_CHUNK_HEADER_BYTES);
  }

  /** A CRC32 chunk carrying `value` (default: the correct running crc32). */
  crc32(value = this.crc): this {
    const v = Buffer.alloc(4);
    v.writeUInt32LE(value >>> 0, 0);
    return this.chunk(SparseChunkType.crc32, 0, SPARSE_CHUNK_HEADER_BYTES + 4, v);
  }

  /** Any chunk header with any payload (does not touch the expected expansion). */
  chunk(chunkType: number, chunkBlocks: number, totalBytes: number, payload: Buffer = Buffer.alloc(0)): this {
    this.chunkOffsets.push(this.fileBytes);
    this.parts.push(encodeSparseChunkHeader({ chunkType, reserved: 0, chunkBlocks, totalBytes }), payload);
    this.fileBytes += SPARSE_CHUNK_HEADER_BYTES + payload.length;
    this.blocks += chunkBlocks;
    return this;
  }

  /** The file: header (defaults from what was built, overridable) + chunks. */
  build(overrides: Partial<SparseFileHeader> & { checksum?: boolean } = {}): Buffer {
    const { checksum, ...fields } = overrides;
    const header = {
      ...sparseFileHeader(this.blockSizeBytes, this.blocks, this.chunkOffsets.length, checksum ? this.crc : 0),
      ...fields,
    };
    return Buffer.concat([encodeSparseFileHeader(header), ...this.parts]);
  }

  /** The expected expanded image. */
  expanded(): Buffer {
    return Buffer.concat(this.expandedParts);
  }

  private expand(data: Buffer): void {
    this.expandedParts.push(data);
    this.crc = crc32(data, this.crc);
  }
}

/** One chunk of a sparse file as listed by `listChunks`. */
export interface ListedChunk {
  readonly type: number;
  readonly blocks: number;
  readonly offsetBytes: number;
  readonly fillValue?: number;
}

/** Parses a (valid) sparse file's header and chunk headers. */
export function listChunks(file: Buffer): { header: SparseFileHeader; chunks: ListedChunk[] } {
  const header = decodeSparseFileHeader(file);
  const chunks: ListedChunk[] = [];
  for (let pos = SPARSE_FILE_HEADER_BYTES; pos < file.length;) {
    const c = decodeSparseChunkHeader(file, pos);
    const fillValue =
      c.chunkType === SparseChunkType.fill ? file.readUInt32LE(pos + SPARSE_CHUNK_HEADER_BYTES) : undefined;
    chunks.push({
      type: c.chunkType,
      blocks: c.chunkBlocks,
      offsetBytes: pos,
      ...(fillValue === undefined ? {} : { fillValue }),
    });
    pos += c.totalBytes;
  }
  return { header, chunks };
}

/** Whether a block is one 32-bit value repeated. */
export function isPeriodicBlock(block: Buffer): boolean {
  return block.subarray(4).equals(block.subarray(0, block.length - 4));
}

/** Asserts `promise` rejects with a one-line ImageError (exit 3) of `code` whose message contains every `parts`. */
export async function expectImageError(
  promise: Promise<unknown>,
  code: string,
  ...parts: string[]
): Promise<ImageError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ImageError ${code}, but it resolved`).toBeInstanceOf(ImageError);
  const err = caught as ImageError;
  expect(err.code, err.message).toBe(code);
  expect(err.exitCode).toBe(3);
  expect(err.message).not.toMatch(/\n/);
  for (const p of parts) expect(err.message).toContain(p);
  return err;
}
