// `apply <URL>` against a real nginx, directly and through a fault-injecting proxy: the output is
// the new image, the metadata is checked before a body byte is asked for, drops/resets/stalls are
// resumed, corrupt bytes are caught, and nothing but the output is left on disk.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KEYS, describeRun, jsonOf } from '../helpers/run-cli.js';
import { startFaultProxy, type Fault } from './fault-proxy.mjs';
import { runCliAsync } from './run-cli-async.js';
import { SLACK_BYTES, filesIn, makeStreamKit, requireNginx, sha, type StreamKit } from './stream-kit.js';

const run = requireNginx();
const KiB = 1024;
const MiB = 1024 * KiB;
let kit: StreamKit;

beforeAll(async () => {
  if (run) kit = await makeStreamKit(4 * MiB, 77);
}, 120_000);
afterAll(async () => kit?.dispose());

/** apply <base>/update-generic.otapkg into a fresh folder; returns the run and the folder. */
async function applyFrom(base: string, extra: string[] = [], file = 'update-generic.otapkg') {
  const dir = kit.outDir('apply');
  const out = join(dir, 'new.img');
  const r = await runCliAsync(['apply', `${base}/${file}`, '--old', kit.oldPath, '-o', out, '--json', ...extra]);
  return { r, dir, out };
}

/** A proxy in front of nginx with `fault` on every connection. */
const proxyWith = (fault: (n: number) => Fault) => startFaultProxy(kit.nginx.port, fault);

describe.runIf(run)('apply from a URL', () => {
  it('streams the package: header range, then one metadata range, then the blobs; output only', async () => {
    const logBefore = kit.nginx.accessLog().length;
    const { r, dir, out } = await applyFrom(kit.nginx.base);
    expect(r.status, describeRun(r)).toBe(0);
    expect(sha(out)).toBe(kit.newSha);
    expect(filesIn(dir)).toEqual(['new.img']);
    const ranges = kit.nginx
      .accessLog()
      .slice(logBefore)
      .map((l) => /"bytes=([^"]*)"/.exec(l)?.[1]);
    const blobAt = kit.props.blobSection.offsetBytes;
    expect(ranges.slice(0, 3)).toEqual(['0-63', `64-${blobAt - 1}`, `${blobAt}-${kit.props.fileSizeBytes - 1}`]);
    const j = jsonOf(r);
    expect(j.bytesReceived).toBeLessThanOrEqual(kit.props.fileSizeBytes);
    expect(j.retries).toBe(0);
  }, 60_000);

  it('a proxy cutting every 256 KiB: resumed by ranges, new image, bounded bytes, no stored package', async () => {
    const proxy = await proxyWith(() => ({ cutAfterBytes: 256 * KiB }));
    try {
      // Every name that appears in the output folder while the apply runs (sampled every 2 ms).
      const seen = new Set<string>();
      const dir = kit.outDir('cut');
      const out = join(dir, 'new.img');
      const r = await runCliAsync(
        ['apply', `${proxy.base}/update-generic.otapkg`, '--old', kit.oldPath, '-o', out, '--json', '--retries', '3'],
        (child) => {
          const poll = setInterval(() => {
            for (const n of filesIn(dir)) seen.add(n);
            if (child.exitCode !== null) clearInterval(poll);
          }, 2);
        },
      );
      expect(r.status, describeRun(r)).toBe(0);
      expect(sha(out)).toBe(kit.newSha);
      expect(filesIn(dir)).toEqual(['new.img']);
      // Only the output (under its partial name), its checkpoint and its lock (with the private
      // name its pid is written under before the lock is linked), never a package copy.
      for (const n of seen)
        expect(n).toMatch(
          /^(new\.img|\.new\.img\.ota-(partial-[0-9a-f]+|checkpoint(\.tmp-[0-9a-f]+)?|lock(\.\d+\.[0-9a-f]{16}\.new)?))$/,
        );
      expect(proxy.bytesSent()).toBeLessThanOrEqual(kit.props.fileSizeBytes * 1.1 + 2 * MiB);
      // A drop is resumed at the first byte not received: no package byte arrives twice.
      expect(proxy.bodyBytesSent()).toBeLessThanOrEqual(kit.props.fileSizeBytes);
      const j = jsonOf(r);
      expect(j.resumes).toBeGreaterThanOrEqual(Math.floor(kit.props.fileSizeBytes / (256 * KiB)) - 1);
      expect(j.retries).toBeGreaterThan(0);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('resets, a stall and a slow first byte are survived', async () => {
    const proxy = await proxyWith((n) =>
      n === 1
        ? { resetAfterBytes: 200 * KiB }
        : n === 2
          ? { stallAfterBytes: 100 * KiB }
          : n === 3
            ? { delayFirstByteMs: 1500 }
            : {},
    );
    try {
      const { r, out } = await applyFrom(proxy.base, ['--timeout', '1']);
      expect(r.status, describeRun(r)).toBe(0);
      expect(sha(out)).toBe(kit.newSha);
      expect(jsonOf(r).retries).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('a flipped metadata byte: exit 6 before the body is fetched', async () => {
    const proxy = await proxyWith(() => ({ flipAtOffset: 70 }));
    try {
      const { r, dir } = await applyFrom(proxy.base);
      expect(r.status, describeRun(r)).toBe(6);
      expect(proxy.bytesSent()).toBeLessThan(kit.props.blobSection.offsetBytes + SLACK_BYTES);
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('a blob byte flipped once is refetched; flipped every time: BLOB_HASH_MISMATCH exit 5', async () => {
    const at = kit.props.blobSection.offsetBytes + 1000;
    const once: Fault = { flipAtOffset: at, flipCount: 1 };
    let proxy = await proxyWith(() => once);
    try {
      const { r, out } = await applyFrom(proxy.base);
      expect(r.status, describeRun(r)).toBe(0);
      expect(sha(out)).toBe(kit.newSha);
      expect(once.flipCount).toBe(0);
    } finally {
      await proxy.close();
    }
    proxy = await proxyWith(() => ({ flipAtOffset: at }));
    try {
      const { r, dir } = await applyFrom(proxy.base);
      expect(r.status, describeRun(r)).toBe(5);
      expect(jsonOf(r).error.code).toBe('BLOB_HASH_MISMATCH');
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('wrong base and another target: exit 5 without a body request', async () => {
    const logBefore = kit.nginx.accessLog().length;
    const dir = kit.outDir('wrong');
    const wrongBase = await runCliAsync([
      'apply',
      `${kit.nginx.base}/update-generic.otapkg`,
      '--old',
      join(kit.served, 'update-mediatek.otapkg'),
      '-o',
      join(dir, 'new.img'),
    ]);
    expect(wrongBase.status, describeRun(wrongBase)).toBe(5);
    const target = await runCliAsync([
      'apply',
      `${kit.nginx.base}/update-mediatek.otapkg`,
      '--old',
      kit.oldPath,
      '-o',
      join(dir, 'new.img'),
      '--pubkey',
      join(TEST_KEYS, 'rsa-2048.pub.pem'),
      '--device-target',
      'generic',
    ]);
    expect(target.status, describeRun(target)).toBe(5);
    const ranges = kit.nginx
      .accessLog()
      .slice(logBefore)
      .map((l) => /"bytes=(\d+)-/.exec(l)?.[1]);
    const blobAt = kit.props.blobSection.offsetBytes;
    expect(ranges.filter((start) => Number(start) >= blobAt)).toEqual([]);
    expect(filesIn(dir)).toEqual([]);
  }, 60_000);

  it('a wrong Content-Range or Content-Length is refused: HTTP_BAD_RANGE, exit 8', async () => {
    for (const rewriteHead of [
      (h: string) => h.replace(/Content-Range: bytes 0-63\//i, 'Content-Range: bytes 1-64/'),
      (h: string) => h.replace(/Content-Length: 64\b/i, 'Content-Length: 65'),
      (h: string) => h.replace(/Content-Length: 64\b/i, 'Content-Length: 63'),
    ]) {
      const proxy = await proxyWith(() => ({ rewriteHead }));
      try {
        const { r, dir } = await applyFrom(proxy.base);
        expect(r.status, describeRun(r)).toBe(8);
        expect(jsonOf(r).error.code).toBe('HTTP_BAD_RANGE');
        expect(filesIn(dir)).toEqual([]);
      } finally {
        await proxy.close();
      }
    }
  }, 60_000);

  it('a server that ignores Range is refused (exit 7); a redirect is followed', async () => {
    const { r } = await applyFrom(`${kit.nginx.base}/norange`);
    expect(r.status, describeRun(r)).toBe(7);
    expect(jsonOf(r).error.code).toBe('HTTP_RANGE_UNSUPPORTED');
    const redirected = await applyFrom(`${kit.nginx.base}/redirect`);
    expect(redirected.r.status, describeRun(redirected.r)).toBe(0);
    expect(sha(redirected.out)).toBe(kit.newSha);
  }, 60_000);

  it('a server file shorter than the header (10 bytes, empty), than its metadata, or only its metadata prefix: PKG_TRUNCATED, no retries', async () => {
    const whole = readFileSync(join(kit.served, 'update-generic.otapkg'));
    writeFileSync(join(kit.served, 'short.otapkg'), whole.subarray(0, 10));
    writeFileSync(join(kit.served, 'empty.otapkg'), Buffer.alloc(0));
    writeFileSync(join(kit.served, 'prefix.otapkg'), whole.subarray(0, kit.props.metadataSizeBytes - 100));
    // Exactly the metadata prefix: enough for inspect and verify --metadata-only, not for an apply.
    writeFileSync(join(kit.served, 'just-prefix.otapkg'), whole.subarray(0, kit.props.metadataSizeBytes));
    for (const file of ['short.otapkg', 'empty.otapkg', 'prefix.otapkg', 'just-prefix.otapkg']) {
      const logBefore = kit.nginx.accessLog().length;
      const { r, dir } = await applyFrom(kit.nginx.base, ['--retries', '3'], file);
      expect(r.status, `${file}: ${describeRun(r)}`).toBe(4);
      expect(jsonOf(r).error.code, file).toBe('PKG_TRUNCATED');
      expect(filesIn(dir)).toEqual([]);
      // Refused at once: one request (the header's), no retries.
      const requests = kit.nginx
        .accessLog()
        .slice(logBefore)
        .filter((l) => l.includes(file));
      expect(requests.length, `${file}: ${requests.join('\n')}`).toBe(1);
      // The prefix alone is what verify --metadata-only checks (inspect also reads the payload signatures).
      const checks = file === 'just-prefix.otapkg' ? [] : [['inspect'], ['verify', '--metadata-only']];
      for (const args of checks) {
        const v = await runCliAsync([args[0]!, `${kit.nginx.base}/${file}`, ...args.slice(1), '--json']);
        expect(v.status, `${file}: ${describeRun(v)}`).toBe(4);
        expect(jsonOf(v).error.code, file).toBe('PKG_TRUNCATED');
      }
      if (file === 'just-prefix.otapkg') {
        const v = await runCliAsync(['verify', `${kit.nginx.base}/${file}`, '--metadata-only', '--json']);
        expect(v.status, describeRun(v)).toBe(0);
      }
    }
  }, 60_000);
});
