// Power loss at any moment, approximated by SIGKILL: `apply --in-place` is killed at ≥ 30 random
// moments — random times, and (where strace can trace) the random n-th image write (pwrite64) or
// n-th fsync, where strace delivers the SIGKILL inside that very system call — then the same
// command is run again (and sometimes killed again); each chain ends with a run to completion and
// the image must then be the new image, byte for byte, and the stash folder gone. What each kill
// interrupted is read off the disk when it happened: a stash temp file present (a stash write), an
// op's destination half new (a block write), a mid-run image with neither (between ops). The suite
// fails unless every kind was hit. Nothing in the applier is stubbed.

import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Operation } from '../../src/model/operation.js';
import { PackageReader } from '../../src/package/package-reader.js';
import { isIdentityCopy } from '../../src/format/in-place-proof.js';
import { syntheticImage } from '../helpers/edit-images.js';
import { BIN, runCli, runCliOk } from '../helpers/run-cli.js';
import { seededRng, suiteSeed } from '../helpers/seeded-random.js';
import { shuffledBlocks } from '../helpers/shuffled-blocks.js';

const SEED = suiteSeed(16);
const BS = 4096;
const IMAGE_BYTES = 4 * 1024 * 1024;
const MIN_KILLS = 30;
/** A safety cap: the suite normally needs well under a minute. */
const TIME_BUDGET_MS = 150_000;
const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const work = mkdtempSync(join(base, 'ota-in-place-kill-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const oldPath = join(work, 'old.img');
const imgPath = join(work, 'image.img');
const stashDir = join(work, 'stash');
let pkg = '';
let oldImage: Buffer = Buffer.alloc(0);
let newImage: Buffer = Buffer.alloc(0);
let ops: Operation[] = [];
const applyArgs = () => ['apply', pkg, '--in-place', imgPath, '--stash-dir', stashDir];

/** Whether strace can trace (and inject signals into) a child here. */
const straceWorks = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '-e', 'trace=pwrite64', 'true']).status === 0;

beforeAll(async () => {
  oldImage = syntheticImage(IMAGE_BYTES, SEED);
  newImage = shuffledBlocks(oldImage, SEED);
  writeFileSync(oldPath, oldImage);
  const newPath = join(work, 'new.img');
  writeFileSync(newPath, newImage);
  const built = runCliOk([
    'build',
    '--old',
    oldPath,
    '--new',
    newPath,
    '-o',
    join(work, 'out'),
    '--target',
    'generic',
    '--update-mode',
    'in-place',
    '--json',
  ]);
  pkg = JSON.parse(built.stdout).packages[0].path;
  const reader = await PackageReader.open(pkg);
  ops = [...reader.manifest.partitions[0]!.operations];
  await reader.close();
}, 240_000);

type Kind = 'stash write' | 'block write' | 'between ops' | 'before the first write' | 'after the last write';

/** What a kill interrupted, read off the disk. */
function classify(byStrace: 'pwrite64' | 'fsync' | undefined): Kind {
  const names = existsSync(stashDir) ? readdirSync(stashDir) : [];
  if (names.some((n) => /\.tmp-[0-9a-f]{16}$/.test(n))) return 'stash write';
  const img = readFileSync(imgPath);
  if (img.equals(newImage)) return 'after the last write';
  if (byStrace === 'pwrite64') return 'block write';
  for (const op of ops) {
    if (op.type === 'stash' || op.type === 'free' || isIdentityCopy(op)) continue;
    let changed = 0;
    let done = 0;
    for (const e of op.dst)
      for (let b = e.startBlock; b < e.startBlock + e.blockCount; b++) {
        const at = b * BS;
        if (oldImage.compare(newImage, at, at + BS, at, at + BS) === 0) continue;
        changed++;
        if (img.compare(newImage, at, at + BS, at, at + BS) === 0) done++;
      }
    if (done > 0 && done < changed) return 'block write';
  }
  return img.equals(oldImage) ? 'before the first write' : 'between ops';
}

/** One run of the apply, killed by a timer or by strace at the n-th syscall; true when it was killed. */
function killedRun(rng: ReturnType<typeof seededRng>): Promise<{ killed: boolean; kind?: Kind; how: string }> {
  const mode = straceWorks ? rng.int(0, 2) : 0;
  const syscall = mode === 1 ? 'pwrite64' : 'fsync';
  const n = rng.int(1, mode === 1 ? 6 : 12);
  const child =
    mode === 0
      ? spawn(process.execPath, [BIN, ...applyArgs()], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn(
          'strace',
          [
            '-f',
            '-qq',
            '-o',
            '/dev/null',
            '-e',
            `trace=${syscall}`,
            '-e',
            `inject=${syscall}:signal=KILL:when=${n}`,
            process.execPath,
            BIN,
            ...applyArgs(),
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const delayMs = rng.int(250, 900);
  const timer = mode === 0 ? setTimeout(() => child.kill('SIGKILL'), delayMs) : undefined;
  const how = mode === 0 ? `SIGKILL after ${delayMs} ms` : `SIGKILL in ${syscall} #${n} (strace)`;
  return new Promise((resolve, reject) =>
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ killed: false, how });
      // strace reports its tracee's death by SIGKILL as status 137.
      if (signal === 'SIGKILL' || code === 137)
        return resolve({ killed: true, kind: classify(mode === 0 ? undefined : syscall), how });
      reject(new Error(`apply exited ${code} (${how}):\n${stderr}`));
    }),
  );
}

describe('apply --in-place under SIGKILL', () => {
  it(`converges after ≥ ${MIN_KILLS} kills at random moments (seed ${SEED})`, async () => {
    const rng = seededRng(SEED);
    const started = Date.now();
    const hits = new Map<Kind, number>();
    let kills = 0;
    let chains = 0;
    const log: string[] = [];
    const needed: Kind[] = ['stash write', 'block write', 'between ops'];
    const allHit = () => needed.every((k) => (hits.get(k) ?? 0) > 0);
    while ((kills < MIN_KILLS || !allHit()) && Date.now() - started < TIME_BUDGET_MS) {
      copyFileSync(oldPath, imgPath);
      chains++;
      for (let run = 0; run < 8; run++) {
        const r = await killedRun(rng);
        log.push(`chain ${chains} run ${run}: ${r.how}: ${r.killed ? r.kind : 'finished'}`);
        if (!r.killed) break;
        kills++;
        hits.set(r.kind!, (hits.get(r.kind!) ?? 0) + 1);
      }
      // The same command, to completion: the image must be the new one, every time.
      const done = runCli(applyArgs(), { timeoutMs: 60_000 });
      expect(done.status, `${log.slice(-5).join('\n')}\n${done.stderr}`).toBe(0);
      expect(readFileSync(imgPath).equals(newImage), `chain ${chains}: final image differs\n${log.join('\n')}`).toBe(
        true,
      );
      expect(existsSync(stashDir), `chain ${chains}: stash folder left`).toBe(false);
    }
    const summary = `${kills} kills in ${chains} chains: ${JSON.stringify(Object.fromEntries(hits))} (strace ${straceWorks ? 'used' : 'unavailable'})`;
    console.log(summary);
    expect(kills, summary).toBeGreaterThanOrEqual(MIN_KILLS);
    for (const k of needed) {
      // CI installs strace (.ci/run): there a missing strace is a failure, not luck.
      if (k === 'block write' && !straceWorks && !hits.get(k) && !process.env.CI) {
        // Without strace a kill inside a block write is luck; say so instead of passing silently.
        console.warn(`no kill landed inside a block write and strace is unavailable here: ${summary}`);
        continue;
      }
      expect(hits.get(k) ?? 0, `no kill hit "${k}": ${summary}\n${log.join('\n')}`).toBeGreaterThan(0);
    }
  }, 240_000);
});
