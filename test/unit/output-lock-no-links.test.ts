// The output lock on a file system without hard links (FAT, some network mounts), where link()
// fails with EPERM: the lock is created in place with O_EXCL and still holds our pid, a second
// taker sees it, and no private side file is left.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as FsPromises from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const noLinks = vi.hoisted(() =>
  vi.fn(async (): Promise<void> => {
    throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
  }),
);
vi.mock('node:fs/promises', async (original) => {
  const real = await original<typeof FsPromises>();
  return { ...real, default: { ...real, link: noLinks }, link: noLinks };
});

const { lockOutput } = await import('../../src/apply/output-lock.js');

let dir: string;
let lockPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-lock-nolinks-'));
  lockPath = join(dir, '.out.img.ota-lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('output lock without hard links', () => {
  it('is created in place holding our pid, leaves no side file, and is released', async () => {
    const lock = await lockOutput(lockPath, 'out.img');
    expect(noLinks).toHaveBeenCalled(); // the link was tried, and refused as FAT refuses it
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
    expect(readdirSync(dir)).toEqual(['.out.img.ota-lock']);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});
