// properties.json and metadata-only checks (prefix file and URL), inspect/verify over a URL, a
// package replaced on the server mid-download (never mixed: PACKAGE_CHANGED), and SIGKILL at
// random moments of a streamed apply followed by `apply <URL> --resume` (identical output).

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeRun, jsonOf, runCli } from '../helpers/run-cli.js';
import { seededRng } from '../helpers/seeded-random.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { runCliAsync } from './run-cli-async.js';
import { filesIn, makeStreamKit, requireNginx, sha, type StreamKit } from './stream-kit.js';

const run = requireNginx();
const KiB = 1024;
const seed = Number(process.env.OTA_TEST_SEED ?? 9090);
let kit: StreamKit;

beforeAll(async () => {
  if (run) kit = await makeStreamKit(4 * 1024 * KiB, 78);
}, 120_000);
afterAll(async () => kit?.dispose());

describe.runIf(run)('metadata first', () => {
  it('properties.json beside every package describes its bytes', () => {
    for (const target of ['generic', 'mediatek']) {
      const pkgPath = join(kit.served, `update-${target}.otapkg`);
      const p = JSON.parse(readFileSync(join(kit.served, `update-${target}.properties.json`), 'utf8'));
      const bytes = readFileSync(pkgPath);
      expect(p.fileSizeBytes).toBe(bytes.length);
      expect(p.fileSha256).toBe(sha(pkgPath));
      expect(p.targetId).toBe(target);
      expect(p.metadataSizeBytes).toBe(p.blobSection.offsetBytes);
      const inspect = jsonOf(runCli(['inspect', pkgPath, '--json']));
      expect(p.metadataSizeBytes).toBe(
        inspect.sections.metadataSignature.offsetBytes + inspect.sections.metadataSignature.sizeBytes,
      );
      expect(p.blobSection).toEqual(inspect.sections.blobs);
      expect(p.metadataSha256).toBe(createHash('sha256').update(bytes.subarray(0, p.metadataSizeBytes)).digest('hex'));
      expect(p.keyIds).toEqual([inspect.signature.keyId]);
    }
  });

  it('verify --metadata-only passes on a prefix file and a URL; a flipped prefix byte fails', async () => {
    const bytes = readFileSync(join(kit.served, 'update-generic.otapkg'));
    const prefix = join(kit.work, 'prefix.bin');
    writeFileSync(prefix, bytes.subarray(0, kit.props.metadataSizeBytes));
    const ok = runCli(['verify', prefix, '--metadata-only', '--json']);
    expect(ok.status, describeRun(ok)).toBe(0);
    expect(jsonOf(ok).checks).toContain('metadata signature');
    const flipped = Buffer.from(bytes.subarray(0, kit.props.metadataSizeBytes));
    flipped[100]! ^= 1;
    writeFileSync(prefix, flipped);
    expect(runCli(['verify', prefix, '--metadata-only']).status).toBe(6);
    writeFileSync(prefix, bytes.subarray(0, kit.props.metadataSizeBytes - 1));
    expect(runCli(['verify', prefix, '--metadata-only']).status).toBe(4);
    const logBefore = kit.nginx.accessLog().length;
    const url = await runCliAsync(['verify', `${kit.nginx.base}/update-generic.otapkg`, '--metadata-only', '--json']);
    expect(url.status, describeRun(url)).toBe(0);
    const ranges = kit.nginx
      .accessLog()
      .slice(logBefore)
      .map((l) => /"bytes=([^"]*)"/.exec(l)?.[1]);
    expect(ranges).toEqual(['0-63', `64-${kit.props.metadataSizeBytes - 1}`]);
  }, 60_000);

  it('verify <URL> checks the whole package in one pass; inspect <URL> fetches no blob', async () => {
    const logBefore = kit.nginx.accessLog().length;
    const v = await runCliAsync(['verify', `${kit.nginx.base}/update-generic.otapkg`, '--json']);
    expect(v.status, describeRun(v)).toBe(0);
    expect(jsonOf(v).checks).toContain('payload signature');
    expect(jsonOf(v).bytesReceived).toBeLessThanOrEqual(kit.props.fileSizeBytes);
    const i = await runCliAsync(['inspect', `${kit.nginx.base}/update-generic.otapkg`, '--json']);
    expect(i.status, describeRun(i)).toBe(0);
    expect(jsonOf(i).fileSizeBytes).toBe(kit.props.fileSizeBytes);
    expect(jsonOf(i)).toEqual({
      ...jsonOf(runCli(['inspect', join(kit.served, 'update-generic.otapkg'), '--json'])),
      path: jsonOf(i).path,
    });
    const blobAt = kit.props.blobSection.offsetBytes;
    const blobEnd = blobAt + kit.props.blobSection.offsetBytes;
    const log = kit.nginx
      .accessLog()
      .slice(logBefore)
      .map((l) => /"bytes=(\d+)-(\d+)"/.exec(l));
    const inspectRanges = log.slice(-3);
    for (const m of inspectRanges) expect(Number(m![2]) < blobAt || Number(m![1]) >= blobEnd).toBe(true);
  }, 60_000);
});

describe.runIf(run)('interruptions', () => {
  it('a package replaced on the server mid-download is refused with PACKAGE_CHANGED, nothing written', async () => {
    const served = join(kit.served, 'update-generic.otapkg');
    const backup = join(kit.work, 'generic-backup.otapkg');
    copyFileSync(served, backup);
    let replaced = false;
    const sent = { bytes: (): number => 0 };
    const proxy: FaultProxy = await startFaultProxy(kit.nginx.port, () => {
      if (!replaced && sent.bytes() > 200 * KiB) {
        copyFileSync(join(kit.work, 'other', 'update-generic.otapkg'), `${served}.new`);
        renameSync(`${served}.new`, served);
        replaced = true;
      }
      return { cutAfterBytes: 256 * KiB };
    });
    sent.bytes = proxy.bytesSent;
    try {
      const dir = kit.outDir('changed');
      const r = await runCliAsync([
        'apply',
        `${proxy.base}/update-generic.otapkg`,
        '--old',
        kit.oldPath,
        '-o',
        join(dir, 'new.img'),
        '--json',
      ]);
      expect(replaced).toBe(true);
      expect(r.status, describeRun(r)).toBe(8);
      expect(jsonOf(r).error.code).toBe('PACKAGE_CHANGED');
      expect(filesIn(dir)).toEqual([]);
    } finally {
      await proxy.close();
      renameSync(backup, served);
    }
  }, 60_000);

  it('SIGKILL at ≥ 10 random moments of a streamed apply, then apply <URL> --resume: identical output', async () => {
    const rng = seededRng(seed);
    const proxy = await startFaultProxy(kit.nginx.port, () => ({ cutAfterBytes: 256 * KiB }));
    const dir = kit.outDir('kill');
    const out = join(dir, 'new.img');
    const url = `${proxy.base}/update-generic.otapkg`;
    let kills = 0;
    let resumed = 0;
    try {
      for (let round = 0; kills < 10 && round < 30; round++) {
        const delayMs = Math.floor(rng.next() * 400);
        // Killed a random time after the partial output appeared (the download is under way).
        const r = await runCliAsync(
          ['apply', url, '--old', kit.oldPath, '-o', out, '--checkpoint-every', '4096', '--resume'],
          (child) => {
            const poll = setInterval(() => {
              if (child.exitCode !== null) return clearInterval(poll);
              if (filesIn(dir).some((n) => n.includes('partial'))) {
                clearInterval(poll);
                setTimeout(() => child.kill('SIGKILL'), delayMs);
              }
            }, 5);
          },
        );
        if (r.status !== 0) kills++;
        if (existsSync(out)) expect(sha(out), `seed ${seed} round ${round}`).toBe(kit.newSha);
        const again = await runCliAsync(['apply', url, '--old', kit.oldPath, '-o', out, '--resume', '--json']);
        expect(again.status, `seed ${seed} round ${round}: ${describeRun(again)}`).toBe(0);
        if (jsonOf(again).resumedFromOp > 0) resumed++;
        expect(sha(out), `seed ${seed} round ${round}`).toBe(kit.newSha);
        expect(filesIn(dir)).toEqual(['new.img']);
        writeFileSync(out, '');
        renameSync(out, join(kit.work, 'discard.img'));
      }
    } finally {
      await proxy.close();
    }
    expect(kills, `seed ${seed}`).toBeGreaterThanOrEqual(10);
    expect(resumed, `seed ${seed}: no run resumed from a checkpoint`).toBeGreaterThan(0);
  }, 90_000);
});
