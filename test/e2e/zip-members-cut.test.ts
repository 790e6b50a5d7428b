// Targets built together share one plan cut to the smallest op size: a changed zip member longer
// than unisoc's 1 MiB ops is diffed as bytes for qualcomm too. The build says so (warning
// ZIP_MEMBERS_CUT, on stderr and in --json, naming both), and the qualcomm package built alone,
// which keeps the member whole for deflate-aware, is indeed smaller and warns nothing.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/run-cli.js';
import { jsLikeText, zipArchive } from '../helpers/zip-archive.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'ota-members-cut-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 4 MiB image holding, at 8 KiB, a zip of one JS-like member (~1.3 MiB deflated) and a small one. */
function image(text: Buffer): Buffer {
  const out = Buffer.alloc(4 * MiB);
  zipArchive([
    { name: 'lib/big.js', data: text, level: 6 },
    { name: 'lib/small.js', data: jsLikeText(20_000, 7), level: 6 },
  ]).copy(out, 8192);
  return out;
}

describe('ZIP_MEMBERS_CUT', () => {
  it('warns when a target with smaller ops cuts a changed member, and the larger-op target alone is smaller', () => {
    const text = jsLikeText(5_000_000, 11);
    const edited = Buffer.from(text);
    edited.write('/* edited */', 2_500_000, 'latin1');
    const oldPath = join(dir, 'old.img');
    const newPath = join(dir, 'new.img');
    writeFileSync(oldPath, image(text));
    writeFileSync(newPath, image(edited));
    const build = (targets: string, out: string) => {
      const r = runCli(['build', '--old', oldPath, '--new', newPath, '--target', targets, '-o', out, '--json']);
      expect(r.status).toBe(0);
      const json = JSON.parse(r.stdout) as { warnings: { code: string; message: string }[] };
      return { json, stderr: r.stderr, qualcommBytes: statSync(join(out, 'update-qualcomm.otapkg')).size };
    };

    const together = build('qualcomm,unisoc', join(dir, 'together'));
    const warning = together.json.warnings.find((w) => w.code === 'ZIP_MEMBERS_CUT');
    expect(warning?.message).toMatch(/1 changed zip member \(1\.\d\d MiB\) is longer than the 1\.00 MiB ops of unisoc/);
    expect(warning?.message).toMatch(/so qualcomm got byte diffs for it too; build qualcomm without unisoc/);
    expect(together.stderr).toContain('ZIP_MEMBERS_CUT');

    const alone = build('qualcomm', join(dir, 'alone'));
    expect(alone.json.warnings.map((w) => w.code)).not.toContain('ZIP_MEMBERS_CUT');
    // What the warning claims: alone, the member is one deflate-aware op and the package far
    // smaller (1,755 bytes against 185,745 when written).
    expect(alone.qualcommBytes * 4).toBeLessThan(together.qualcommBytes);
  }, 180_000);
});
