// What `apply -o` does with what is already at the path: a character device, FIFO, folder or a
// symlink to one is refused (exit 2, OUTPUT_NOT_FILE) before the package is even opened, and the
// node is left as it was; a block device (a real loop device where the kernel allows one, else a
// regular file through the library's block-device path) is written in place and read back; side
// files are created with O_EXCL at unpredictable names, so planted symlinks are never followed.
// A report destination (--html, --csv) that is a FIFO or device is written into, not replaced;
// a symbolic link stays a link, and the process's own standard output (/dev/fd/1) redirected to a
// file gets a report after what the process wrote (apply refuses it).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  lchownSync,
  lstatSync,
  openSync,
  readlinkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPackage, OtaError } from '../../src/index.js';
import { createOutputImage } from '../../src/apply/create-output-image.js';
import type { PartitionUpdate } from '../../src/model/manifest.js';
import { sha256Hex } from '../helpers/package-bytes.js';
import { BIN, describeRun, EPOCH, jsonOf, nonWarningLines, ROOT, runCli, runCliOk } from '../helpers/run-cli.js';
import { suiteSeed } from '../helpers/seeded-random.js';
import { writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const SEED = suiteSeed(0x0de71ce);
const GARBAGE = 0xab;

let work: string;
let pair: ImagePair;
let pkg: string;
let newSha: string;
/** Loop devices this suite attached (detached in afterAll). */
const loops: string[] = [];

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-output-nodes-'));
  pair = writeImagePair(work, SEED);
  newSha = sha256Hex(pair.newImage);
  runCliOk(['build', '--old', pair.oldPath, '--new', pair.newPath, '-o', join(work, 'pkg'), '--target', 'generic']);
  pkg = join(work, 'pkg', 'update-generic.otapkg');
});

afterAll(() => {
  for (const dev of loops) spawnSync('losetup', ['-d', dev]);
  rmSync(work, { recursive: true, force: true });
});

/** A file of `sizeBytes` garbage bytes (a device never reads as zeros). */
function garbageFile(name: string, sizeBytes: number): string {
  const path = join(work, name);
  writeFileSync(path, Buffer.alloc(sizeBytes, GARBAGE));
  return path;
}

/** Attaches `backing` to a free loop device, or undefined when this machine cannot (not root, no loop driver). */
function attachLoop(backing: string): string | undefined {
  if (!LOOP) return undefined;
  const r = spawnSync('losetup', ['-f', '--show', backing], { encoding: 'utf8' });
  const dev = r.status === 0 ? r.stdout.trim() : '';
  if (!dev || !statSync(dev).isBlockDevice()) return undefined;
  loops.push(dev);
  return dev;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Whether this machine attaches loop devices (probed once at load, so the test names can say which variant runs). */
function loopDevicesWork(): boolean {
  // OTA_TEST_NO_LOOP=1 runs the fake-device variant on a machine that could attach one.
  if (process.env.OTA_TEST_NO_LOOP || !existsSync('/dev/loop-control')) return false;
  const probeDir = mkdtempSync(join(tmpdir(), 'ota-loop-probe-'));
  try {
    writeFileSync(join(probeDir, 'probe.bin'), Buffer.alloc(4096));
    const r = spawnSync('losetup', ['-f', '--show', join(probeDir, 'probe.bin')], { encoding: 'utf8' });
    const dev = r.status === 0 ? r.stdout.trim() : '';
    if (dev) spawnSync('losetup', ['-d', dev]);
    return dev !== '';
  } finally {
    rmSync(probeDir, { recursive: true, force: true });
  }
}
const LOOP = loopDevicesWork();
const VARIANT = LOOP ? 'a loop device' : 'fake device: a regular file through outputAsBlockDevice';

describe('outputs that are no image are refused before any work', () => {
  it('-o /dev/null (a character device) exits 2 with OUTPUT_NOT_FILE, even before the package is opened', () => {
    for (const p of [pkg, join(work, 'no-such-package.otapkg')]) {
      const r = runCli(['apply', p, '--old', pair.oldPath, '-o', '/dev/null']);
      expect(r.status, describeRun(r)).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([
        expect.stringMatching(/OUTPUT_NOT_FILE.*\/dev\/null is a character device/),
      ]);
    }
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    symlinkSync('/dev/null', join(work, 'null-link.img'));
    const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', join(work, 'null-link.img'), '--json']);
    expect(r.status, describeRun(r)).toBe(2);
    expect(jsonOf(r).error).toMatchObject({
      code: 'OUTPUT_NOT_FILE',
      message: expect.stringMatching(/null-link\.img is a symlink to a character device/),
    });
    expect(lstatSync(join(work, 'null-link.img')).isSymbolicLink()).toBe(true);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });

  it('a FIFO (or a symlink to one) is refused with exit 2 without being opened, and stays a FIFO', () => {
    const fifo = join(work, 'pipe.img');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(work, 'pipe-link.img'));
    for (const [out, type] of [
      [fifo, 'a FIFO'],
      [join(work, 'pipe-link.img'), 'a symlink to a FIFO'],
    ] as const) {
      // Opening a FIFO with no reader blocks: a hang here would hit runCli's timeout and fail.
      const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', out], { timeoutMs: 30_000 });
      expect(r.status, describeRun(r)).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([expect.stringContaining(`OUTPUT_NOT_FILE`)]);
      expect(r.stderr).toContain(`${out} is ${type}`);
    }
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  });

  it('a folder as the output of a single-image package exits 2 and is left empty', () => {
    const dir = join(work, 'a-folder');
    mkdirSync(dir);
    const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', dir]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/OUTPUT_NOT_FILE.*a-folder is a folder/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a report destination that is no regular file is written into, never replaced', () => {
  it('inspect --html into a FIFO (and a symlink to it): the reader gets the report, the FIFO stays', async () => {
    const html = join(work, 'report.html');
    runCliOk(['inspect', pkg, '--html', html]);
    const fifo = join(work, 'report.pipe');
    execFileSync('mkfifo', [fifo]);
    symlinkSync(fifo, join(work, 'report-link.pipe'));
    for (const dest of [fifo, join(work, 'report-link.pipe')]) {
      const got = join(work, 'from-pipe.html');
      // The reader copies the FIFO to a file (a pipe back to this process would fill while runCli blocks).
      const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, got]);
      const done = new Promise<number | null>((resolve) => reader.on('exit', resolve));
      const r = runCli(['inspect', pkg, '--html', dest], { timeoutMs: 30_000 });
      expect(r.status, describeRun(r)).toBe(0);
      // A FIFO replaced by a file leaves the reader waiting for a writer that never comes.
      const stuck = setTimeout(() => reader.kill(), 10_000);
      expect(await done).toBe(0);
      clearTimeout(stuck);
      expect(readFileSync(got).equals(readFileSync(html))).toBe(true);
      expect(lstatSync(fifo).isFIFO()).toBe(true);
    }
    expect(lstatSync(join(work, 'report-link.pipe')).isSymbolicLink()).toBe(true);
  });
});

/** Runs the CLI with its standard output redirected to the file `stdoutPath` (as `> file` does). */
function runCliToFile(args: readonly string[], stdoutPath: string): { status: number | null; stderr: string } {
  const fd = openSync(stdoutPath, 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH },
      stdio: ['ignore', fd, 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.error) throw r.error;
    return { status: r.status, stderr: r.stderr };
  } finally {
    closeSync(fd);
  }
}

describe('a symbolic link stays a link; an open file of the process is written through its descriptor', () => {
  it('a report to /dev/fd/1 (or a link to /proc/self/fd/1) with stdout redirected to a file: the report, then the JSON', () => {
    const html = join(work, 'reference.html');
    runCliOk(['inspect', pkg, '--html', html]);
    const link = join(work, 'stdout-link');
    symlinkSync('/proc/self/fd/1', link);
    for (const dest of ['/dev/fd/1', link]) {
      const out = join(work, 'stdout.txt');
      const r = runCliToFile(['inspect', pkg, '--html', dest, '--json'], out);
      expect(r.status, r.stderr).toBe(0);
      const got = readFileSync(out);
      const report = readFileSync(html);
      // Written where the process was writing, not over it from the start of the file.
      expect(got.subarray(0, report.length).equals(report), dest).toBe(true);
      expect(JSON.parse(got.subarray(report.length).toString('utf8')).path).toBe(pkg);
    }
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('/proc/self/fd/1');
  });

  it("a report to a link to a file replaces the file, keeps the link and the file's permissions", () => {
    const html = join(work, 'reference2.html');
    runCliOk(['inspect', pkg, '--html', html]);
    const file = join(work, 'private-report.html');
    writeFileSync(file, 'old report', { mode: 0o600 });
    chmodSync(file, 0o600);
    const link = join(work, 'report-link.html');
    symlinkSync(file, link);
    runCliOk(['inspect', pkg, '--html', link]);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(file).equals(readFileSync(html))).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('apply -o a link to an image file: the file gets the image and keeps its permissions, the link stays', () => {
    const file = join(work, 'private.img');
    writeFileSync(file, 'an older image', { mode: 0o600 });
    chmodSync(file, 0o600);
    const link = join(work, 'image-link.img');
    symlinkSync(file, link);
    const result = jsonOf(runCliOk(['apply', pkg, '--old', pair.oldPath, '-o', link, '--json']));
    expect(result.outputPath).toBe(link); // named as given
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(sha256Hex(readFileSync(file))).toBe(newSha);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(work).filter((n) => n.startsWith('.private.img') || n.startsWith('.image-link'))).toEqual([]);
  });

  it("a link another user planted in a sticky shared folder (/tmp's kind) is not followed: report and image refused, its target untouched", () => {
    const shared = join(work, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'precious', { mode: 0o600 });
    const planted = join(shared, 'out.html');
    symlinkSync(victim, planted);
    // As fs.protected_symlinks judges: the link belongs to nobody (65534), not to this user or the folder's owner.
    lchownSync(planted, 65534, 65534);
    const report = runCli(['inspect', pkg, '--html', planted]);
    expect(report.status, describeRun(report)).toBe(2);
    expect(report.stderr).toMatch(/OUTPUT_NOT_FILE.*symbolic link of another user in the shared folder/);
    const image = runCli(['apply', pkg, '--old', pair.oldPath, '-o', planted]);
    expect(image.status, describeRun(image)).toBe(2);
    expect(image.stderr).toMatch(/OUTPUT_NOT_FILE.*symbolic link of another user in the shared folder/);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(statSync(victim).mode & 0o7777).toBe(0o600);
    expect(readdirSync(shared)).toEqual(['out.html']);
    // The folder's owner's link (here this user's) is followed, as the kernel would.
    lchownSync(planted, process.getuid!(), process.getgid!());
    runCliOk(['inspect', pkg, '--html', planted]);
    expect(readFileSync(victim, 'utf8')).toContain('<html');
  });

  it('a replaced file keeps its read and write bits, never set-id bits; a dangling link is no report destination', () => {
    const file = join(work, 'setuid.img');
    writeFileSync(file, 'old');
    chmodSync(file, 0o4750);
    runCliOk(['apply', pkg, '--old', pair.oldPath, '-o', file]);
    expect(statSync(file).mode & 0o7777).toBe(0o750);
    const dangling = join(work, 'dangling.html');
    symlinkSync(join(work, 'no-such-folder', 'r.html'), dangling);
    const r = runCli(['inspect', pkg, '--html', dangling]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/OUTPUT_NOT_FILE.*dangling\.html is a dangling symlink/);
  });

  it('apply -o /dev/fd/1 (or a link to it) with stdout redirected to a file: exit 2, OUTPUT_NOT_FILE, nothing written', () => {
    const link = join(work, 'apply-stdout-link');
    symlinkSync('/proc/self/fd/1', link);
    for (const dest of ['/dev/fd/1', link]) {
      const out = join(work, 'apply-stdout.txt');
      const r = runCliToFile(['apply', pkg, '--old', pair.oldPath, '-o', dest], out);
      expect(r.status, r.stderr).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([
        expect.stringMatching(/OUTPUT_NOT_FILE.*a file a process holds open/),
      ]);
      expect(readFileSync(out).length).toBe(0);
    }
    expect(readlinkSync(link)).toBe('/proc/self/fd/1');
  });
});

describe(`a block device is written in place (${VARIANT})`, () => {
  it(`is written, read back and verified; the node stays; bytes past the image are untouched`, async () => {
    const backingBytes = roundUp(pair.newImage.length, 4096) + 8192;
    const backing = garbageFile('device-backing.bin', backingBytes);
    const dev = attachLoop(backing);
    const variant = dev ? `loop device ${dev}` : 'fake device: regular file through outputAsBlockDevice';
    console.log(`output-nodes: block-device variant = ${variant}`);
    let result: Record<string, unknown>;
    if (dev) {
      const r = runCliOk(['apply', pkg, '--old', pair.oldPath, '-o', dev, '--json']);
      result = jsonOf(r);
      expect(statSync(dev).isBlockDevice(), variant).toBe(true);
      execFileSync('sync');
      expect(sha256Hex(readFileSync(dev).subarray(0, pair.newImage.length)), variant).toBe(newSha);
    } else {
      result = {
        ...(await applyPackage({
          packagePath: pkg,
          oldPath: pair.oldPath,
          outputPath: backing,
          outputAsBlockDevice: true,
        })),
      };
    }
    expect(result, variant).toMatchObject({
      kind: 'image',
      outputKind: 'block-device',
      sha256: newSha,
      resumedFromOp: 0,
    });
    const bytes = readFileSync(backing);
    expect(bytes.length, `${variant}: the device was truncated or grown`).toBe(backingBytes);
    expect(sha256Hex(bytes.subarray(0, pair.newImage.length)), variant).toBe(newSha);
    expect(
      bytes.subarray(pair.newImage.length).every((b) => b === GARBAGE),
      `${variant}: wrote past the image`,
    ).toBe(true);
    expect(
      readdirSync(work).filter((n) => n.includes('.ota-')),
      `${variant}: side files`,
    ).toEqual([]);
  });

  it('a device smaller than the image is refused (exit 2, OUTPUT_TOO_SMALL) before any write', async () => {
    const backing = garbageFile('small-backing.bin', roundUp(pair.newImage.length / 2, 4096));
    const before = sha256Hex(readFileSync(backing));
    const dev = attachLoop(backing);
    const variant = dev ? `loop device ${dev}` : 'fake device: regular file through outputAsBlockDevice';
    if (dev) {
      const r = runCli(['apply', pkg, '--old', pair.oldPath, '-o', dev]);
      expect(r.status, describeRun(r)).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([expect.stringMatching(/OUTPUT_TOO_SMALL.*nothing was written/)]);
    } else {
      const err = await applyPackage({
        packagePath: pkg,
        oldPath: pair.oldPath,
        outputPath: backing,
        outputAsBlockDevice: true,
      }).catch((e: unknown) => e);
      expect(err, variant).toBeInstanceOf(OtaError);
      expect((err as OtaError).code, variant).toBe('OUTPUT_TOO_SMALL');
    }
    expect(sha256Hex(readFileSync(backing)), `${variant}: the device changed`).toBe(before);
  });
});

describe('side files never follow a planted symlink', () => {
  it('symlinks planted at the checkpoint and at the old predictable temp names leave their target untouched', () => {
    const dir = join(work, 'planted');
    mkdirSync(dir);
    const victim = garbageFile('victim.bin', 4096);
    for (const name of ['.new.img.ota-checkpoint', '.new.img.ota-checkpoint.tmp', '.new.img.ota-partial'])
      symlinkSync(victim, join(dir, name));
    const out = join(dir, 'new.img');
    const r = runCliOk(['apply', pkg, '--old', pair.oldPath, '-o', out, '--checkpoint-every', '4096', '--json']);
    expect(jsonOf(r).sha256).toBe(newSha);
    expect(sha256Hex(readFileSync(out))).toBe(newSha);
    expect(
      readFileSync(victim).every((b) => b === GARBAGE),
      'the victim behind a planted link was written',
    ).toBe(true);
  });

  it('a new output is created with O_EXCL: a symlink already at its path makes the create fail, not write through', async () => {
    const victim = garbageFile('victim2.bin', 4096);
    const link = join(work, 'planted-partial');
    symlinkSync(victim, link);
    const part = { name: 'p', target: { sizeBytes: 8192, sha256: new Uint8Array(32), version: '', dontCare: [] } };
    const err = await createOutputImage('raw', link, part as unknown as PartitionUpdate, 4096).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OtaError);
    expect((err as OtaError).code).toBe('IO_EEXIST');
    expect(readFileSync(victim).every((b) => b === GARBAGE)).toBe(true);
    expect(statSync(victim).size).toBe(4096);
  });
});
