// A release (multi-partition) package applied from a URL through a real nginx: every partition
// equals the one a file apply makes, the body is downloaded once (not once to check the payload
// signature and again to apply), drops are resumed, and a kill -9 is resumed with --resume.

import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, describeRun, jsonOf, runCliOk } from '../helpers/run-cli.js';
import { startFaultProxy } from './fault-proxy.mjs';
import { startNginx, type NginxServer } from './nginx-server.mjs';
import { runCliAsync } from './run-cli-async.js';
import { requireNginx } from './stream-kit.js';

const run = requireNginx();
const KiB = 1024;
const SAMPLES = join(ROOT, 'sample-images', 'releases', 'qualcomm');
let work: string;
let nginx: NginxServer;
let fileSizeBytes: number;
/** The partition images a file apply makes: name → bytes. */
let expected: Map<string, Buffer>;

beforeAll(async () => {
  if (!run) return;
  work = mkdtempSync(join(tmpdir(), 'ota-stream-release-'));
  chmodSync(work, 0o755);
  const built = jsonOf(
    runCliOk(['build', '--old', join(SAMPLES, 'v1'), '--new', join(SAMPLES, 'v2'), '-o', join(work, 'out'), '--json']),
  );
  const served = join(work, 'served');
  mkdirSync(served);
  copyFileSync(built.packages[0].path, join(served, 'update.otapkg'));
  fileSizeBytes = readFileSync(join(served, 'update.otapkg')).length;
  const local = join(work, 'from-file');
  runCliOk(['apply', join(served, 'update.otapkg'), '--old', join(SAMPLES, 'v1'), '-o', local]);
  expected = new Map(readdirSync(local).map((f) => [f, readFileSync(join(local, f))]));
  nginx = await startNginx(served, join(work, 'nginx'));
}, 120_000);
afterAll(async () => {
  await nginx?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Asserts a folder holds exactly the partitions of the file apply, byte for byte. */
function expectSameRelease(dir: string): void {
  expect(readdirSync(dir).sort()).toEqual([...expected.keys()].sort());
  for (const [name, bytes] of expected) expect(readFileSync(join(dir, name)).equals(bytes), name).toBe(true);
}

describe.runIf(run)('a release package from a URL', () => {
  it('applies every partition as a file apply does, downloading the body once', async () => {
    const out = join(work, 'direct');
    const r = await runCliAsync([
      'apply',
      `${nginx.base}/update.otapkg`,
      '--old',
      join(SAMPLES, 'v1'),
      '-o',
      out,
      '--json',
    ]);
    expect(r.status, describeRun(r)).toBe(0);
    expect(jsonOf(r).kind).toBe('release');
    expectSameRelease(out);
    expect(expected.size).toBeGreaterThan(2);
    expect(jsonOf(r).bytesReceived).toBeLessThanOrEqual(fileSizeBytes);
  }, 60_000);

  it('through a proxy cutting every 4 KiB: same partitions, bytes ≤ size × 1.1 + 64 KiB', async () => {
    const proxy = await startFaultProxy(nginx.port, () => ({ cutAfterBytes: 4 * KiB }));
    try {
      const out = join(work, 'cut');
      const r = await runCliAsync([
        'apply',
        `${proxy.base}/update.otapkg`,
        '--old',
        join(SAMPLES, 'v1'),
        '-o',
        out,
        '--json',
      ]);
      expect(r.status, describeRun(r)).toBe(0);
      expectSameRelease(out);
      expect(jsonOf(r).resumes).toBeGreaterThan(0);
      expect(proxy.bytesSent()).toBeLessThanOrEqual(fileSizeBytes * 1.1 + 64 * KiB);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('kill -9 mid-download, then apply <URL> --resume: same partitions, no staging or lock left', async () => {
    const proxy = await startFaultProxy(nginx.port, () => ({ bytesPerSecond: 256 * KiB }));
    const out = join(work, 'killed');
    const args = ['apply', `${proxy.base}/update.otapkg`, '--old', join(SAMPLES, 'v1'), '-o', out, '--json'];
    try {
      const killed = await runCliAsync([...args, '--checkpoint-every', '4096'], (child) => {
        const poll = setInterval(() => {
          if (child.exitCode !== null) return clearInterval(poll);
          if (proxy.bodyBytesSent() > fileSizeBytes / 2) {
            clearInterval(poll);
            child.kill('SIGKILL');
          }
        }, 2);
      });
      expect(killed.status, describeRun(killed)).toBe(null);
      const r = await runCliAsync([...args, '--resume']);
      expect(r.status, describeRun(r)).toBe(0);
      expectSameRelease(out);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
