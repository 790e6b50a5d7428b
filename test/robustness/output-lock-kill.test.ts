// The output lock under SIGKILL: processes that take and release the lock in a tight loop are killed
// at random moments; after every kill the next apply gets the lock at once (never OUTPUT_BUSY from
// a dead owner), and no side file of a dead process is left once it has.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { lockOutput } from '../../src/apply/output-lock.js';
import { ROOT } from '../helpers/run-cli.js';
import { seededRng, suiteSeed } from '../helpers/seeded-random.js';

const KILLS = 40;
const SEED = suiteSeed(7);
const dir = mkdtempSync(join(tmpdir(), 'ota-lock-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOCK_MODULE = pathToFileURL(join(ROOT, 'dist/apply/output-lock.js')).href;
/** Takes and releases the lock forever; prints "go" once it has held it once. */
const LOOP = `
const { lockOutput } = await import(${JSON.stringify(LOCK_MODULE)});
let said = false;
for (;;) {
  try {
    const lock = await lockOutput(process.argv[1], 'out.img');
    if (!said) { said = true; process.stdout.write('go\\n'); }
    await lock.release();
  } catch (err) {
    if (err.code !== 'OUTPUT_BUSY') throw err;
  }
}`;

/** Runs the loop until it has held the lock once, then kills it after `delayMs`; resolves once it is dead. */
function killedLooper(lockPath: string, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', LOOP, lockPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
  return new Promise((resolve, reject) =>
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`the lock loop exited without a kill:\n${stderr}`)),
    ),
  );
}

describe('output lock under SIGKILL', () => {
  it(`${KILLS} owners killed at random moments never block the next apply (seed ${SEED})`, async () => {
    const rng = seededRng(SEED);
    const lockPath = join(dir, '.out.img.ota-lock');
    for (let kill = 0; kill < KILLS; kill++) {
      await killedLooper(lockPath, rng.int(0, 20));
      const lock = await lockOutput(lockPath, 'out.img');
      expect(readdirSync(dir)).toEqual(['.out.img.ota-lock']);
      await lock.release();
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});
