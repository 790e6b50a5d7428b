// readBoundedFile on real files: exactly at the cap is read whole, one byte over is refused with
// the caller's error, a missing file and a folder are IoErrors (IO_ENOENT, IO_EISDIR: the same for
// every kind of small input), and a FIFO is the caller's not-a-file error.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ImageError, OtaError } from '../../src/errors/ota-error.js';
import { readBoundedFile } from '../../src/image/read-bounded-file.js';

const dir = mkdtempSync(join(tmpdir(), 'ota-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const options = {
  maxBytes: 100,
  action: 'read test input',
  notFile: () => new ImageError('IMAGE_NOT_FILE', 'not a file'),
  tooLarge: (sizeBytes: number) => new ImageError('IMAGE_TOO_LARGE', `${sizeBytes} bytes`),
};

async function codeOf(path: string): Promise<string> {
  const err: unknown = await readBoundedFile(path, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OtaError);
  return (err as OtaError).code;
}

describe('readBoundedFile', () => {
  it('reads a file of exactly maxBytes, and an empty one', async () => {
    const p = join(dir, 'at-cap');
    writeFileSync(p, Buffer.alloc(100, 7));
    expect(await readBoundedFile(p, options)).toEqual(Buffer.alloc(100, 7));
    writeFileSync(join(dir, 'empty'), '');
    expect((await readBoundedFile(join(dir, 'empty'), options)).length).toBe(0);
  });

  it('refuses one byte over, a folder, a FIFO and a missing path with the right errors', async () => {
    writeFileSync(join(dir, 'over'), Buffer.alloc(101));
    expect(await codeOf(join(dir, 'over'))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(dir)).toBe('IO_EISDIR');
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    expect(await codeOf(join(dir, 'fifo'))).toBe('IMAGE_NOT_FILE');
    expect(await codeOf(join(dir, 'missing'))).toBe('IO_ENOENT');
  });
});
