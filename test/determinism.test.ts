// Deterministic output: the same inputs, options and key give byte-identical packages, with one
// worker thread or two, across separate CLI runs (Ed25519 and RSA test keys).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'bin/ota-build.js');
const v1 = join(root, 'sample-images/system-v1.img');
const v2 = join(root, 'sample-images/system-v2.img');
const work = mkdtempSync(join(tmpdir(), 'ota-determinism-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', ...env },
  });
  expect(r.status, `ota-build ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}
const targets = ['qualcomm', 'mediatek', 'unisoc'];
const read = (dir: string, t: string) => readFileSync(join(dir, `update-${t}.otapkg`));

describe('deterministic packages', () => {
  it('keygen ed25519 then two builds with --key (jobs 2 and jobs 1) are byte-identical', () => {
    cli(['keygen', '--algorithm', 'ed25519', '-o', join(work, 'k')]);
    cli(['build', '--old', v1, '--new', v2, '-o', join(work, 'a'), '--key', join(work, 'k.pem'), '--jobs', '2']);
    cli(['build', '--old', v1, '--new', v2, '-o', join(work, 'b'), '--key', join(work, 'k.pem'), '--jobs', '1']);
    for (const t of targets) {
      const a = read(join(work, 'a'), t);
      expect(a.length).toBeGreaterThan(1000);
      expect(a.equals(read(join(work, 'b'), t)), `${t}: jobs 2 vs jobs 1`).toBe(true);
      cli(['verify', join(work, 'a', `update-${t}.otapkg`), '--pubkey', join(work, 'k.pub.pem')]);
    }
  }, 180_000);

  it('default RSA test keys: two runs with two workers are byte-identical, SOURCE_DATE_EPOCH is honoured', () => {
    cli(['build', '--old', v1, '--new', v2, '-o', join(work, 'c'), '--jobs', '2']);
    cli(['build', '--old', v1, '--new', v2, '-o', join(work, 'd'), '--jobs', '2']);
    for (const t of targets) expect(read(join(work, 'c'), t).equals(read(join(work, 'd'), t)), t).toBe(true);
    const info = JSON.parse(cli(['inspect', join(work, 'c', 'update-qualcomm.otapkg'), '--json']).stdout);
    expect(info.timestampSeconds).toBe(1700000000);
    cli(['build', '--old', v1, '--new', v2, '-o', join(work, 'e'), '--target', 'qualcomm'], {
      SOURCE_DATE_EPOCH: '1800000000',
    });
    expect(read(join(work, 'e'), 'qualcomm').equals(read(join(work, 'c'), 'qualcomm'))).toBe(false);
  }, 180_000);
});
