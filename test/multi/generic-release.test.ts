// Release builds end to end with the generic layout (a folder of <partition>.img files) through
// the real CLI: statuses, selection, layouts in inspect, apply into a folder, and refusals that
// leave nothing behind.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticImage } from '../helpers/edit-images.js';
import { describeRun, jsonOf, nonWarningLines, runCli, runCliOk } from '../helpers/run-cli.js';

let work: string;
const v1 = () => join(work, 'v1');
const v2 = () => join(work, 'v2');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-generic-release-'));
  mkdirSync(v1());
  mkdirSync(v2());
  const system = syntheticImage(1024 * 1024, 1);
  const system2 = Buffer.from(system);
  system2.write('new build of libc', 300_000);
  const boot = syntheticImage(64 * 1024, 2);
  const vendor = syntheticImage(256 * 1024, 3);
  writeFileSync(join(v1(), 'system.img'), system);
  writeFileSync(join(v2(), 'system.img'), system2);
  writeFileSync(join(v1(), 'boot.img'), boot);
  writeFileSync(join(v2(), 'boot.img'), Buffer.concat([boot, syntheticImage(16 * 1024, 4)])); // grows
  writeFileSync(join(v1(), 'vendor.img'), vendor);
  writeFileSync(join(v2(), 'vendor.img'), vendor); // unchanged
  writeFileSync(join(v2(), 'dtbo.img'), syntheticImage(8 * 1024, 5)); // new
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('generic folder releases', () => {
  it('build one package with every partition, inspect lists them, apply reproduces each one, verify passes', () => {
    const out = join(work, 'out');
    const built = jsonOf(runCliOk(['build', '--old', v1(), '--new', v2(), '-o', out, '--target', 'generic', '--json']));
    expect(built.input).toBe('generic-folder');
    expect(Object.fromEntries(built.partitions.map((p: any) => [p.name, p.status]))).toEqual({
      boot: 'changed',
      dtbo: 'new',
      system: 'changed',
      vendor: 'unchanged',
    });
    expect(built.warnings.map((w: any) => w.code)).toContain('PARTITION_NEW');
    const pkg = built.packages[0].path;
    const info = jsonOf(runCliOk(['inspect', pkg, '--json']));
    expect(info.formatVersion).toBe('1.1');
    expect(info.target.releaseLayout).toBe('generic-folder');
    const byName = Object.fromEntries(info.partitions.map((p: any) => [p.name, p]));
    expect(byName.vendor).toMatchObject({ kind: 'unchanged', operationCount: 0, layout: [{ fileName: 'vendor.img' }] });
    expect(byName.vendor.source.sha256).toBe(byName.vendor.target.sha256);
    expect(byName.dtbo.kind).toBe('full');
    expect(byName.boot.source.sizeBytes).toBe(64 * 1024);
    expect(byName.boot.target.sizeBytes).toBe(80 * 1024);
    const applied = join(work, 'applied');
    const r = jsonOf(runCliOk(['apply', pkg, '--old', v1(), '-o', applied, '--json']));
    expect(r.partitions.map((p: any) => p.status).sort()).toEqual(['delta', 'delta', 'full', 'unchanged']);
    // A release result is its partitions' results: no single-image fields padded with placeholders.
    expect(r.kind).toBe('release');
    expect(Object.keys(r).filter((k) => ['partition', 'sha256', 'resumedFromOp', 'outputFormat'].includes(k))).toEqual(
      [],
    );
    for (const p of r.partitions) {
      expect(p.sha256).toBe(
        createHash('sha256')
          .update(readFileSync(join(applied, `${p.name}.img`)))
          .digest('hex'),
      );
      expect(p).toMatchObject({ outputKind: 'file', resumedFromOp: 0, outputPath: join(applied, `${p.name}.img`) });
    }
    expect(readdirSync(applied).sort()).toEqual(['boot.img', 'dtbo.img', 'system.img', 'vendor.img']);
    for (const f of readdirSync(v2()))
      expect(readFileSync(join(applied, f)).equals(readFileSync(join(v2(), f))), f).toBe(true);
    // Applied again over the images there: one made private keeps its permissions.
    chmodSync(join(applied, 'boot.img'), 0o640);
    runCliOk(['apply', pkg, '--old', v1(), '-o', applied]);
    expect(statSync(join(applied, 'boot.img')).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(applied, 'boot.img')).equals(readFileSync(join(v2(), 'boot.img')))).toBe(true);
    const v = jsonOf(runCliOk(['verify', pkg, '--old', v1(), '--json']));
    expect(v.checks).toContainEqual({
      id: 'trial-apply',
      text: 'applies to the old release and reproduces the target sha256 of all 4 partitions',
      count: 4,
    });
  });

  it('--partitions and --exclude select; unknown names are usage errors naming what exists', () => {
    const only = jsonOf(
      runCliOk([
        'build',
        '--old',
        v1(),
        '--new',
        v2(),
        '-o',
        join(work, 'only'),
        '--target',
        'generic',
        '--partitions',
        'system,boot',
        '--json',
      ]),
    );
    expect(only.partitions.map((p: any) => p.name)).toEqual(['boot', 'system']);
    const without = jsonOf(
      runCliOk([
        'build',
        '--old',
        v1(),
        '--new',
        v2(),
        '-o',
        join(work, 'without'),
        '--target',
        'generic',
        '--exclude',
        'dtbo',
        '--json',
      ]),
    );
    expect(without.partitions.map((p: any) => p.name)).toEqual(['boot', 'system', 'vendor']);
    const bad = runCli([
      'build',
      '--old',
      v1(),
      '--new',
      v2(),
      '-o',
      join(work, 'bad'),
      '--target',
      'generic',
      '--partitions',
      'modem',
    ]);
    expect(bad.status, describeRun(bad)).toBe(2);
    expect(nonWarningLines(bad.stderr)).toEqual([
      expect.stringMatching(/no partition "modem"; it has boot, dtbo, system, vendor/),
    ]);
  });

  it('refuse a wrong base partition (exit 5, nothing written), the old folder as output (exit 2), and mixed inputs (exit 2)', () => {
    const out = join(work, 'out2');
    const pkg = jsonOf(runCliOk(['build', '--old', v1(), '--new', v2(), '-o', out, '--target', 'generic', '--json']))
      .packages[0].path;
    const tampered = join(work, 'v1-tampered');
    mkdirSync(tampered);
    for (const f of readdirSync(v1())) writeFileSync(join(tampered, f), readFileSync(join(v1(), f)));
    const vendor = readFileSync(join(tampered, 'vendor.img'));
    vendor[1000] = vendor[1000]! ^ 1;
    writeFileSync(join(tampered, 'vendor.img'), vendor);
    const dest = join(work, 'dest');
    const wrong = runCli(['apply', pkg, '--old', tampered, '-o', dest]);
    expect(wrong.status, describeRun(wrong)).toBe(5);
    expect(nonWarningLines(wrong.stderr)).toEqual([
      expect.stringMatching(/partition vendor: old image .*vendor\.img has sha256/),
    ]);
    expect(() => readdirSync(dest)).toThrow();
    const intoOld = runCli(['apply', pkg, '--old', v1(), '-o', v1()]);
    expect(intoOld.status, describeRun(intoOld)).toBe(2);
    expect(intoOld.stderr).toMatch(/old release's folder/);
    const mixed = runCli(['build', '--old', join(v1(), 'system.img'), '--new', v2(), '-o', join(work, 'mixed')]);
    expect(mixed.status, describeRun(mixed)).toBe(2);
    expect(mixed.stderr).toMatch(/is a release but .*system\.img is a single image/);
  });

  /** A delta package of v1 → v2 built into `out` (with `extra` build options); its path. */
  const buildDelta = (out: string, ...extra: string[]): string =>
    jsonOf(
      runCliOk([
        'build',
        '--old',
        v1(),
        '--new',
        v2(),
        '-o',
        join(work, out),
        '--target',
        'generic',
        ...extra,
        '--json',
      ]),
    ).packages[0].path;

  /**
   * `dest` as an interrupted apply of `pkg` leaves it: its staging folder (named after the
   * metadata digest: header + target header + manifest; mode 0700 as the applier makes it, a
   * folder others could write to is discarded) holding a finished system.img. Returns the folder.
   */
  const interrupted = (pkg: string, dest: string, pub: readonly string[] = []): string => {
    const info = jsonOf(runCliOk(['inspect', pkg, ...pub, '--json']));
    const metadata = readFileSync(pkg).subarray(0, info.sections.metadataSignature.offsetBytes);
    const staging = join(dest, `.ota-staging-${createHash('sha256').update(metadata).digest('hex').slice(0, 16)}`);
    mkdirSync(dest);
    mkdirSync(staging, { mode: 0o700 });
    writeFileSync(join(staging, 'system.img'), readFileSync(join(v2(), 'system.img')));
    return staging;
  };

  /** Every image of v2 is in `dest`, byte for byte. */
  const expectV2In = (dest: string): void => {
    for (const f of readdirSync(v2()))
      expect(readFileSync(join(dest, f)).equals(readFileSync(join(v2(), f))), f).toBe(true);
  };

  it('--resume keeps a partition an interrupted run finished (after re-hashing it) and rewrites a damaged one', () => {
    const pkg = buildDelta('resume-out');
    const dest = join(work, 'resume-dest');
    const staging = interrupted(pkg, dest);
    const damaged = readFileSync(join(v2(), 'boot.img'));
    damaged[5] = damaged[5]! ^ 0xff;
    writeFileSync(join(staging, 'boot.img'), damaged);
    const r = runCliOk(['apply', pkg, '--old', v1(), '-o', dest, '--resume', '--json']);
    // The release result carries each partition's real resume point: system was finished, boot was rewritten.
    const byName = Object.fromEntries(jsonOf(r).partitions.map((p: any) => [p.name, p]));
    expect(byName.system.resumedFromOp).toBe(byName.system.operationCount);
    expect(byName.boot.resumedFromOp).toBe(0);
    const resumed = jsonOf(r)
      .warnings.filter((w: any) => w.code === 'RESUMED')
      .map((w: any) => w.message);
    expect(resumed).toEqual([expect.stringMatching(/^partition system was already written/)]);
    expectV2In(dest);
    expect(readdirSync(dest).sort()).toEqual(['boot.img', 'dtbo.img', 'system.img', 'vendor.img']);
  });

  it('--resume --strict: partitions the interrupted run never reached start without a warning; one whose progress is lost is refused, and the staged ones are kept', () => {
    // --strict refuses the public test key: a key of our own, and a timestamp.
    const key = join(work, 'strict-key');
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', key]);
    const pkg = buildDelta('strict-out', '--key', `${key}.pem`, '--timestamp', '1700000000');
    const pub = ['--pubkey', `${key}.pub.pem`];
    // As an interrupted run leaves it: system finished, the others not reached.
    const clean = join(work, 'strict-dest');
    interrupted(pkg, clean, pub);
    const r = runCliOk(['apply', pkg, '--old', v1(), '-o', clean, '--resume', '--strict', ...pub, '--json']);
    expect(jsonOf(r).warnings.map((w: { code: string }) => w.code)).not.toContain('RESUME_RESTART');
    expectV2In(clean);
    // boot was under way but left no checkpoint: its progress is lost, which --strict refuses.
    const lost = join(work, 'strict-lost');
    const staging = interrupted(pkg, lost, pub);
    writeFileSync(join(staging, '.boot.img.ota-partial-0123456789abcdef'), Buffer.alloc(4096));
    const refused = runCli(['apply', pkg, '--old', v1(), '-o', lost, '--resume', '--strict', ...pub]);
    expect(refused.status, describeRun(refused)).toBe(2);
    expect(nonWarningLines(refused.stderr)).toEqual([expect.stringContaining('STRICT_RESUME_RESTART')]);
    expect(readFileSync(join(staging, 'system.img')).equals(readFileSync(join(v2(), 'system.img')))).toBe(true);
    const again = runCliOk(['apply', pkg, '--old', v1(), '-o', lost, '--resume', ...pub, '--json']);
    expect(jsonOf(again).warnings.map((w: { code: string }) => w.code)).toEqual(
      expect.arrayContaining(['RESUMED', 'RESUME_RESTART']),
    );
    expectV2In(lost);
  });

  it('keep the old release out of reach: -o equal to or inside it (even for a full package) exit 2; an image as --old exit 2; a folder where an output goes exit 2', () => {
    const full = jsonOf(runCliOk(['build', '--new', v2(), '-o', join(work, 'full'), '--target', 'generic', '--json']))
      .packages[0].path;
    const before = readFileSync(join(v1(), 'boot.img'));
    for (const out of [v1(), join(v1(), 'sub')]) {
      const r = runCli(['apply', full, '--old', v1(), '-o', out]);
      expect(r.status, describeRun(r)).toBe(2);
      expect(nonWarningLines(r.stderr)).toEqual([
        expect.stringMatching(/OUTPUT_IS_OLD.*inside the old release's folder/),
      ]);
    }
    expect(readFileSync(join(v1(), 'boot.img')).equals(before)).toBe(true);
    expect(readdirSync(v1()).sort()).toEqual(['boot.img', 'system.img', 'vendor.img']);
    // Outside it, the full package applies; --old, which it does not read, is named in a warning.
    const applied = jsonOf(runCliOk(['apply', full, '--old', v1(), '-o', join(work, 'full-out'), '--json']));
    expect(applied.warnings.map((w: { code: string }) => w.code)).toContain('OLD_NOT_USED');
    // verify --old says so too, rather than claim the package applied to the old release.
    const verified = jsonOf(runCliOk(['verify', full, '--old', v1(), '--json']));
    expect(verified.checks.at(-1).text).toMatch(
      /^applies without the old release \(a full package reads none\) and reproduces the target sha256 of all \d+ partitions$/,
    );
    const delta = jsonOf(
      runCliOk(['build', '--old', v1(), '--new', v2(), '-o', join(work, 'guard'), '--target', 'generic', '--json']),
    ).packages[0].path;
    const image = runCli(['apply', delta, '--old', join(v1(), 'system.img'), '-o', join(work, 'guard-out')]);
    expect(image.status, describeRun(image)).toBe(2);
    expect(image.stderr).toMatch(/OLD_NOT_RELEASE.*--old must be the old release/);
    // With the output beside that image too, what is wrong first is still the image.
    const beside = runCli(['apply', delta, '--old', join(v1(), 'system.img'), '-o', join(v1(), 'out')]);
    expect(beside.status, describeRun(beside)).toBe(2);
    expect(beside.stderr).toMatch(/OLD_NOT_RELEASE.*--old must be the old release/);
    expect(existsSync(join(v1(), 'out'))).toBe(false);
    const blocked = join(work, 'blocked');
    mkdirSync(join(blocked, 'system.img'), { recursive: true });
    const dir = runCli(['apply', delta, '--old', v1(), '-o', blocked]);
    expect(dir.status, describeRun(dir)).toBe(2);
    expect(dir.stderr).toMatch(/OUTPUT_NOT_FILE.*system\.img exists and is not a regular file/);
    expect(readdirSync(blocked)).toEqual(['system.img']);
  });

  /** A release folder `name` (under work) holding only `from`'s system.img. */
  const releaseWithSystem = (name: string, from: string): string => {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'system.img'), readFileSync(join(from, 'system.img')));
    return dir;
  };
  /** `build` of the generic target from release `old` to `next` into `<work>/<out>`. */
  const buildGeneric = (old: string, next: string, out: string, ...extra: string[]) => [
    'build',
    '--old',
    old,
    '--new',
    next,
    '-o',
    join(work, out),
    '--target',
    'generic',
    ...extra,
  ];

  it('an image linked out of the release folder stops the build with that error alone, before any warning or work', () => {
    // The old release's vendor.img leads out of its folder; v2 also has a new partition (dtbo,
    // PARTITION_NEW) and no key or timestamp is given (TEST_KEY, NO_TIMESTAMP).
    const linked = releaseWithSystem('v1-linked', v1());
    symlinkSync(join(v1(), 'vendor.img'), join(linked, 'vendor.img'));
    const r = runCli(buildGeneric(linked, v2(), 'linked-out'));
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^ota-build: error \[RELEASE_PATH_ESCAPE\]: vendor\.img in .*v1-linked links to .*, outside the release folder$/,
      ),
    ]);
    expect(existsSync(join(work, 'linked-out'))).toBe(false);
    // The same when vendor is not selected, as for a vendor layout's entry.
    const unselected = runCli(buildGeneric(linked, v2(), 'linked-out', '--partitions', 'system'));
    expect(unselected.status, describeRun(unselected)).toBe(3);
    expect(unselected.stderr).toMatch(/RELEASE_PATH_ESCAPE.*vendor\.img/);
    expect(existsSync(join(work, 'linked-out'))).toBe(false);
  });

  it('a partition gone from the new release is left alone with PARTITIONS_REMOVED, unless --exclude names it or --partitions scopes the update', () => {
    // v1 has system and vendor; the new release only system (changed).
    const old = releaseWithSystem('v1-removed', v1());
    writeFileSync(join(old, 'vendor.img'), readFileSync(join(v1(), 'vendor.img')));
    const next = releaseWithSystem('v2-removed', v2());
    const codes = (run: ReturnType<typeof runCli>) => jsonOf(run).warnings.map((w: any) => w.code);
    // --strict refuses the public test key: a key of our own.
    const key = join(work, 'removed-key');
    runCliOk(['keygen', '--algorithm', 'ed25519', '-o', key]);
    const ownKey = `${key}.pem`;
    const plain = runCliOk(buildGeneric(old, next, 'removed-plain', '--json', '--timestamp', '1'));
    expect(jsonOf(plain).warnings.find((w: any) => w.code === 'PARTITIONS_REMOVED')?.message).toBe(
      'partitions of the old release missing from the new one are left alone: vendor; --exclude vendor says this is meant',
    );
    const strict = runCli(buildGeneric(old, next, 'removed-strict', '--strict', '--key', ownKey));
    expect(strict.status, describeRun(strict)).toBe(2);
    expect(strict.stderr).toMatch(/STRICT_PARTITIONS_REMOVED/);
    expect(existsSync(join(work, 'removed-strict'))).toBe(false);
    // Named on purpose: no warning, so --strict passes; the package is the same.
    for (const scope of [
      ['--exclude', 'vendor'],
      ['--partitions', 'system'],
    ]) {
      const out = `removed-${scope[0]!.slice(2)}`;
      const run = runCliOk(
        buildGeneric(old, next, out, ...scope, '--strict', '--key', ownKey, '--timestamp', '1', '--json'),
      );
      expect(codes(run)).toEqual([]);
      expect(jsonOf(run).partitions.map((p: any) => p.name)).toEqual(['system']);
    }
    // --exclude still refuses a name neither release has.
    const typo = runCli(buildGeneric(old, next, 'removed-typo', '--exclude', 'vendr'));
    expect(typo.status, describeRun(typo)).toBe(2);
    expect(nonWarningLines(typo.stderr)).toEqual([
      expect.stringMatching(/UNKNOWN_PARTITION.*no partition "vendr"; it has system$/),
    ]);
  });

  it('a link to nothing is a missing image: RELEASE_MISSING_FILE (exit 3) before any warning when selected, nothing when left out', () => {
    const dangling = releaseWithSystem('v2-dangling', v2());
    symlinkSync('nothing.img', join(dangling, 'extra.img'));
    const r = runCli(buildGeneric(v1(), dangling, 'dangling-out'));
    expect(r.status, describeRun(r)).toBe(3);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/RELEASE_MISSING_FILE.*extra\.img in .* is a symbolic link to a file that does not exist/),
    ]);
    expect(existsSync(join(work, 'dangling-out'))).toBe(false);
    // A folder named as an image: its own error first, even with --strict (not STRICT_PARTITION_NEW).
    const folderImage = releaseWithSystem('v2-folder-image', v2());
    mkdirSync(join(folderImage, 'bad.img'));
    const strict = runCli(buildGeneric(v1(), folderImage, 'dangling-out', '--strict'));
    expect(strict.status, describeRun(strict)).toBe(3);
    expect(strict.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/IMAGE_NOT_FILE.*bad\.img is not a regular file/),
    ]);
    const left = runCli(buildGeneric(v1(), dangling, 'dangling-out', '--exclude', 'extra'));
    expect(left.status, describeRun(left)).toBe(0);
  });

  it('refuse a FIFO named as an image without hanging, an empty selection, and A/B slots naming different files', () => {
    const fifoDir = join(work, 'v2-fifo');
    mkdirSync(fifoDir);
    writeFileSync(join(fifoDir, 'system.img'), readFileSync(join(v2(), 'system.img')));
    execFileSync('mkfifo', [join(fifoDir, 'boot.img')]);
    const fifo = runCli(['build', '--new', fifoDir, '-o', join(work, 'fifo-out'), '--target', 'generic'], {
      timeoutMs: 20_000,
    });
    expect(fifo.status, describeRun(fifo)).toBe(3);
    expect(fifo.stderr).toMatch(/IMAGE_NOT_FILE.*boot\.img is not a regular file/);
    expect(existsSync(join(work, 'fifo-out'))).toBe(false);
    const none = runCli([
      'build',
      '--old',
      v1(),
      '--new',
      v2(),
      '-o',
      join(work, 'none'),
      '--target',
      'generic',
      '--partitions',
      'boot',
      '--exclude',
      'boot',
    ]);
    expect(none.status, describeRun(none)).toBe(2);
    expect(none.stderr).toMatch(/NO_PARTITIONS/);
    expect(existsSync(join(work, 'none'))).toBe(false);
    const slots = join(work, 'v2-slots');
    mkdirSync(slots);
    writeFileSync(join(slots, 'boot_a.img'), readFileSync(join(v2(), 'boot.img')));
    writeFileSync(join(slots, 'boot_b.img'), readFileSync(join(v1(), 'boot.img')));
    const mismatch = runCli(['build', '--new', slots, '-o', join(work, 'slots-out'), '--target', 'generic']);
    expect(mismatch.status, describeRun(mismatch)).toBe(3);
    expect(mismatch.stderr).toMatch(/RELEASE_SLOT_MISMATCH.*boot_a names boot_a\.img but boot_b names boot_b\.img/);
  });

  it('is deterministic: one worker and two give byte-identical release packages', () => {
    const a = jsonOf(
      runCliOk([
        'build',
        '--old',
        v1(),
        '--new',
        v2(),
        '-o',
        join(work, 'j1'),
        '--target',
        'generic',
        '--jobs',
        '1',
        '--json',
      ]),
    ).packages[0];
    const b = jsonOf(
      runCliOk([
        'build',
        '--old',
        v1(),
        '--new',
        v2(),
        '-o',
        join(work, 'j2'),
        '--target',
        'generic',
        '--jobs',
        '2',
        '--json',
      ]),
    ).packages[0];
    expect(a.sha256).toBe(b.sha256);
  });
});
