// The output lock's file states: a lock appears with its owner's pid, a live owner refuses, a dead or
// empty one is taken over (a zombie's too), and the side files a killed apply leaves are cleared once it is dead.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockOutput } from '../../src/apply/output-lock.js';

/** A pid no process has (above Linux's default pid_max ceiling). */
const DEAD_PID = 4_194_000;

let dir: string;
let lockPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ota-lock-'));
  lockPath = join(dir, '.out.img.ota-lock');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('output lock', () => {
  it('appears holding our pid with one link, leaves no side file, and release removes it', async () => {
    const lock = await lockOutput(lockPath, 'out.img');
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
    expect(statSync(lockPath).nlink).toBe(1);
    expect(readdirSync(dir)).toEqual(['.out.img.ota-lock']);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses with OUTPUT_BUSY while a live process holds it, and leaves its lock alone', async () => {
    writeFileSync(lockPath, `${process.ppid}\n`);
    await expect(lockOutput(lockPath, 'out.img')).rejects.toMatchObject({
      code: 'OUTPUT_BUSY',
      message: expect.stringContaining(`pid ${process.ppid}`),
    });
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.ppid}\n`);
  });

  it.each([
    ['a dead pid', `${DEAD_PID}\n`],
    ['no pid, 10 s old (an apply killed between create and write, where there are no hard links)', ''],
    ['garbage', 'not a pid at all\n'],
  ])('takes over a lock holding %s at once', async (_what, text) => {
    writeFileSync(lockPath, text);
    const tenSecondsAgo = new Date(Date.now() - 10_000);
    utimesSync(lockPath, tenSecondsAgo, tenSecondsAgo);
    const lock = await lockOutput(lockPath, 'out.img');
    expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('takes over a lock whose holder is a zombie (killed, not yet reaped by its parent)', async () => {
    // sh starts a short sleep in the background and becomes a long one, which never reaps it: the
    // short one ends (after the exec, so sh cannot reap it either) and stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = Number((await once(parent.stdout, 'data'))[0].toString().trim());
      for (let i = 0; i < 200 && !/\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'latin1')); i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(readFileSync(`/proc/${pid}/stat`, 'latin1')).toMatch(/\) Z /);
      writeFileSync(lockPath, `${pid}\n`);
      const lock = await lockOutput(lockPath, 'out.img');
      expect(readFileSync(lockPath, 'utf8')).toBe(`${process.pid}\n`);
      await lock.release();
    } finally {
      parent.kill();
    }
  });

  it("removes a dead apply's side files and keeps a live one's and other names", async () => {
    const dead = [
      `.out.img.ota-lock.${DEAD_PID}.0123456789abcdef.new`,
      `.out.img.ota-lock.${DEAD_PID}.fedcba9876543210.stale`,
    ];
    const kept = [
      `.out.img.ota-lock.${process.ppid}.0123456789abcdef.new`,
      `.out.img.ota-lock.${DEAD_PID}.short.new`,
      `.other.img.ota-lock.${DEAD_PID}.0123456789abcdef.new`,
      'out.img',
    ];
    for (const name of [...dead, ...kept]) writeFileSync(join(dir, name), `${DEAD_PID}\n`);
    const lock = await lockOutput(lockPath, 'out.img');
    await lock.release();
    expect(readdirSync(dir).sort()).toEqual([...kept].sort());
  });

  it('an empty lock made just now is an apply starting: busy, and left alone', async () => {
    writeFileSync(lockPath, '');
    await expect(lockOutput(lockPath, 'out.img')).rejects.toMatchObject({
      code: 'OUTPUT_BUSY',
      message: expect.stringContaining('an apply that is starting'),
    });
    expect(readFileSync(lockPath, 'utf8')).toBe('');
  });

  it('never removes a lock that is a symlink: busy, and the link stays', async () => {
    writeFileSync(join(dir, 'target'), `${DEAD_PID}\n`);
    symlinkSync(join(dir, 'target'), lockPath);
    await expect(lockOutput(lockPath, 'out.img')).rejects.toMatchObject({ code: 'OUTPUT_BUSY' });
    expect(lstatSync(lockPath).isSymbolicLink()).toBe(true);
  });
});
