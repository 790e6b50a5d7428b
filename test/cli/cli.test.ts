// End-to-end tests of the real `bin/ota-build.js`: help and version, `targets`, the JSON shapes
// of build / inspect / verify / apply, the labels that flow into a package, per-target keys,
// --strict, progress only on request when stderr is not a TTY, and one-line errors.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sectionsOf } from '../helpers/package-bytes.js';
import { BIN, EPOCH, ROOT, describeRun, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { suiteSeed } from '../helpers/seeded-random.js';
import { deltaBuildArgs, writeImagePair, type ImagePair } from '../helpers/synthetic-images.js';

const SEED = suiteSeed(0xc11e2e);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let work: string;
let pair: ImagePair;
let edKey: string;
let ecKey: string;
/** `build --json` of a labelled delta build for qualcomm and generic (test keys). */
let built: any;
let builtRun: ReturnType<typeof runCli>;
let deltaDir: string;
let fullDir: string;
let keyedDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-cli-'));
  pair = writeImagePair(work, SEED);
  edKey = join(work, 'ed');
  ecKey = join(work, 'ec');
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', edKey]);
  runCliOk(['keygen', '--algorithm', 'ecdsa-p256', '-o', ecKey]);
  deltaDir = join(work, 'delta');
  builtRun = runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    deltaDir,
    '--target',
    'qcom,generic',
    '--jobs',
    '1',
    '--json',
    '--platform',
    'sm8650',
    '--source-version',
    'AP1A.240305.019',
    '--target-version',
    'AP1A.240405.002',
    '--partition-name',
    'vendor_boot',
  ]);
  built = jsonOf(builtRun);
  fullDir = join(work, 'full');
  runCliOk([
    'build',
    '--new',
    pair.newPath,
    '-o',
    fullDir,
    '--target',
    'generic',
    '--jobs',
    '1',
    '--codec',
    'zstd',
    '--level',
    '3',
  ]);
  keyedDir = join(work, 'keyed');
  runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    keyedDir,
    '--target',
    'qualcomm,generic',
    '--jobs',
    '1',
    '--key',
    `qualcomm=${ecKey}.pem`,
    '--key',
    `${edKey}.pem`,
  ]);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('help and version', () => {
  it('--help exits 0 and lists every command and the exit codes', () => {
    for (const args of [['--help'], ['-h'], ['help']]) {
      const r = runCliOk(args);
      for (const cmd of ['build', 'apply', 'verify', 'inspect', 'keygen', 'targets'])
        expect(r.stdout, `${args.join(' ')}: ${cmd}`).toContain(cmd);
      expect(r.stdout).toMatch(/Exit codes: 0 ok, 1 internal error, 2 usage/);
      expect(r.stderr).toBe('');
    }
  });

  it.each([
    [
      'build',
      [
        '--old',
        '--new',
        '--out',
        '--target',
        '--codec',
        '--level',
        '--differ',
        '--key',
        '--platform',
        '--source-version',
        '--target-version',
        '--partition-name',
        '--timestamp',
        '--jobs',
        '--update-mode',
        '--progress',
        '--strict',
        '--json',
      ],
    ],
    [
      'apply',
      [
        '--old',
        '--out',
        '--pubkey',
        '--device-target',
        '--json',
        '<package>',
        '--in-place',
        '--stash-dir',
        'run the same command again',
      ],
    ],
    ['verify', ['--pubkey', '--old', '--device-target', '--json', '<package>']],
    ['inspect', ['--pubkey', '--json', '<package>']],
    ['keygen', ['--algorithm', '--out', '--json', 'ed25519', 'ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096']],
    ['targets', ['--json']],
  ])('%s --help exits 0 and mentions its options', (cmd, options) => {
    for (const args of [
      [cmd, '--help'],
      ['help', cmd],
    ]) {
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(0);
      expect(r.stdout).toContain(`Usage: ota-build ${cmd}`);
      for (const o of options) expect(r.stdout, `${args.join(' ')} mentions ${o}`).toContain(o);
    }
  });

  it('--version and -V print the package.json version', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = runCliOk([flag]);
      expect(r.stdout.trim()).toBe(version);
    }
  });

  it('the launcher is a shell script to sh and a module to Node: it starts Node with its memory and compiler settings', () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/bin/sh');
    // A stand-in `node` first on PATH shows what the launcher runs and with which environment.
    const stubDir = mkdtempSync(join(tmpdir(), 'ota-launcher-'));
    try {
      writeFileSync(join(stubDir, 'node'), '#!/bin/sh\necho "$MALLOC_ARENA_MAX|$*"\n', { mode: 0o755 });
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${stubDir}:${process.env.PATH ?? ''}` };
      delete env.MALLOC_ARENA_MAX;
      const r = spawnSync(BIN, ['apply', 'a b.otapkg'], { encoding: 'utf8', env });
      expect(r.stdout.trim()).toBe(`2|--max-semi-space-size=1 --no-concurrent-osr ${BIN} apply a b.otapkg`);
      const own = spawnSync(BIN, ['--version'], { encoding: 'utf8', env: { ...env, MALLOC_ARENA_MAX: '8' } });
      expect(own.stdout.trim()).toBe(`8|--max-semi-space-size=1 --no-concurrent-osr ${BIN} --version`);
    } finally {
      rmSync(stubDir, { recursive: true, force: true });
    }
    // With the real Node it runs the CLI.
    const v = spawnSync(BIN, ['--version'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}` },
    });
    expect(v.status).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('no command, or help for an unknown command, is a usage error (exit 2, not 0): the help, or the unknown command named', () => {
    // A script running `ota-build $CMD` with an empty or misspelt $CMD must not see success.
    const none = runCli([]);
    expect(none.stderr, describeRun(none)).toContain('Usage: ota-build');
    expect(none.stdout, describeRun(none)).toBe('');
    expect(none.status, describeRun(none)).toBe(2);
    const unknown = runCli(['help', 'frobnicate']);
    expect(unknown.status, describeRun(unknown)).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toBe("ota-build: error [USAGE]: unknown command 'frobnicate' (run with --help for usage)\n");
    expect(runCli(['help', 'buidl']).stderr).toMatch(/unknown command 'buidl' \(Did you mean build\?\)/);
    expect(runCliOk(['help', 'build']).stdout).toContain('Usage: ota-build build');
  });

  it('commander usage errors (an unknown command or option, a missing value) are one stderr line like every other error', () => {
    for (const args of [
      ['build', '--new', 'x.img', '-o', 'out', '--bogus'],
      // An unknown option is named even when a required option is missing too.
      ['build', '--bogus'],
      ['compare', '--bogus'],
      ['apply', 'p.otapkg'],
      ['verify'],
      ['keygen', '-o', 'k'],
      ['bogus'],
      ['buidl'], // commander adds a second line, "(Did you mean build?)": joined into the one
    ]) {
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(2);
      expect(
        r.stderr.split('\n').filter((l) => l !== ''),
        describeRun(r),
      ).toEqual([expect.stringMatching(/^ota-build: error \[USAGE\]: .* \(run with --help for usage\)$/)]);
    }
    for (const command of ['build', 'compare', 'keygen'])
      expect(runCli([command, '--bogus']).stderr).toContain("unknown option '--bogus'");
    expect(runCli(['build']).stderr).toContain("required option '--new <img|release>' not specified");
  });
});

describe('targets', () => {
  const expected = [
    {
      id: 'qualcomm',
      aliases: ['qcom'],
      vendor: 'Qualcomm',
      storage: 'ufs',
      alg: 'rsa-4096',
      mem: 256 * 2 ** 20,
      maxOp: 4 * 2 ** 20,
      codecs: ['none', 'gzip', 'brotli', 'zstd', 'xz'],
    },
    {
      id: 'mediatek',
      aliases: ['mtk'],
      vendor: 'MediaTek',
      storage: 'emmc',
      alg: 'rsa-2048',
      mem: 64 * 2 ** 20,
      maxOp: 2 * 2 ** 20,
      codecs: ['none', 'gzip', 'brotli', 'zstd', 'xz'],
    },
    {
      id: 'unisoc',
      aliases: ['spreadtrum', 'sprd'],
      vendor: 'Unisoc',
      storage: 'emmc',
      alg: 'rsa-2048',
      mem: 16 * 2 ** 20,
      maxOp: 1 * 2 ** 20,
      codecs: ['none', 'gzip', 'zstd', 'xz'],
    },
    {
      id: 'generic',
      aliases: [],
      vendor: 'Generic',
      storage: 'generic',
      alg: 'ed25519',
      mem: 2 ** 30,
      maxOp: 8 * 2 ** 20,
      codecs: ['none', 'gzip', 'brotli', 'zstd', 'xz'],
    },
  ];

  it('targets --json lists the 4 profiles with the documented fields and values (README table)', () => {
    const r = runCliOk(['targets', '--json']);
    const targets = jsonOf(r) as Record<string, any>[];
    expect(targets.map((t) => t.id)).toEqual(expected.map((e) => e.id));
    const fields = [
      'id',
      'aliases',
      'vendor',
      'description',
      'defaultPlatform',
      'storage',
      'blockSizeBytes',
      'updateMode',
      'defaultSignatureAlgorithm',
      'signatureRationale',
      'allowedOperations',
      'allowedCodecs',
      'allowedDiffers',
      'decoderMemoryLimitBytes',
      'maxOperationBytes',
      'maxStashBytes',
      'partitionLayout',
      'slotSuffixes',
      'defaultPartitionName',
    ];
    for (const [i, t] of targets.entries()) {
      const e = expected[i]!;
      expect(Object.keys(t).sort(), t.id).toEqual([...fields].sort());
      for (const a of e.aliases) expect(t.aliases, t.id).toContain(a);
      expect(t, t.id).toMatchObject({
        vendor: e.vendor,
        storage: e.storage,
        blockSizeBytes: 4096,
        updateMode: 'ab',
        defaultSignatureAlgorithm: e.alg,
        decoderMemoryLimitBytes: e.mem,
        maxOperationBytes: e.maxOp,
        maxStashBytes: { qualcomm: 64, mediatek: 32, unisoc: 8, generic: 128 }[t.id as string]! * 2 ** 20,
      });
      expect([...t.allowedCodecs].sort(), t.id).toEqual([...e.codecs].sort());
      expect(t.signatureRationale.length, t.id).toBeGreaterThan(20);
    }
    expect(r.stderr).toBe('');
  });

  it('targets (text) shows every id with its aliases, signature and why', () => {
    const r = runCliOk(['targets']);
    for (const e of expected) {
      expect(r.stdout).toMatch(new RegExp(`^${[e.id, ...e.aliases].join('\\|')}`, 'm'));
      expect(r.stdout).toContain(e.alg);
      expect(r.stdout).toMatch(new RegExp(`^${e.id}: .+\\.$`, 'm'));
    }
  });

  it('a custom profile with control characters in its text is printed escaped, never raw to the terminal', () => {
    const generic = jsonOf(runCliOk(['targets', 'generic', '--json'])) as Record<string, unknown>;
    const p = join(work, 'hostile-text.json');
    writeFileSync(
      p,
      JSON.stringify({ ...generic, id: 'hostile', vendor: 'V\u001b[31mRED', signatureRationale: 'a\u0007b' }),
    );
    const r = runCliOk(['targets', p]);
    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stdout).toContain('V\\x1b[31mRED');
    expect(r.stdout).toContain('hostile: a\\x07b.');
    // Escaped before the layout: the columns after the hostile cell still line up.
    const [head, , row] = r.stdout.split('\n');
    expect(row!.indexOf('generic')).toBe(head!.indexOf('storage'));
  });

  it('a profile from targets --json is itself a valid custom profile file', () => {
    const targets = jsonOf(runCliOk(['targets', '--json'])) as Record<string, unknown>[];
    const p = join(work, 'copy-of-generic.json');
    writeFileSync(p, JSON.stringify({ ...targets[3], id: 'generic-copy', aliases: [] }));
    const out = join(work, 'custom-copy');
    runCliOk(['build', '--new', pair.newPath, '-o', out, '--target', p, '--jobs', '1']);
    expect(readdirSync(out)).toEqual(['update-generic-copy.otapkg', 'update-generic-copy.properties.json']);
  });

  it('targets <id> --json prints that one profile (by alias too), a file --target takes as it is; the whole list is refused with a hint', () => {
    const all = jsonOf(runCliOk(['targets', '--json'])) as { id: string }[];
    const one = jsonOf(runCliOk(['targets', 'mtk', '--json']));
    expect(one).toEqual(all.find((t) => t.id === 'mediatek'));
    const file = join(work, 'my-soc.json');
    writeFileSync(file, JSON.stringify(jsonOf(runCliOk(['targets', 'generic', '--json']))));
    const out = join(work, 'custom-one');
    runCliOk(['build', '--new', pair.newPath, '-o', out, '--target', file, '--jobs', '1']);
    expect(readdirSync(out)).toEqual(['update-generic.otapkg', 'update-generic.properties.json']);

    const list = join(work, 'all-socs.json');
    writeFileSync(list, JSON.stringify(all));
    const r = runCli(['build', '--new', pair.newPath, '-o', join(work, 'custom-list'), '--target', list]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(
      /\[PROFILE_INVALID\]: target profile .*all-socs\.json is a JSON array, not one profile object/,
    );
    const two = runCli(['targets', 'qualcomm,unisoc']);
    expect(two.status, describeRun(two)).toBe(2);
    expect(two.stderr).toMatch(/\[BAD_OPTION\]: targets takes one target id or alias/);
  });
});

describe('build --json', () => {
  it('has kind, source, target, packages[], timingsMs and warnings (TEST_KEY)', () => {
    expect(built.kind).toBe('delta');
    expect(built.source).toMatchObject({
      path: pair.oldPath,
      format: 'raw',
      sizeBytes: pair.oldImage.length,
      sha256: sha256(pair.oldImage),
    });
    expect(built.target).toMatchObject({
      path: pair.newPath,
      format: 'raw',
      sizeBytes: pair.newImage.length,
      sha256: sha256(pair.newImage),
    });
    expect(built.packages.map((p: any) => p.target)).toEqual(['qualcomm', 'generic']);
    for (const p of built.packages) {
      expect(p.path).toBe(join(deltaDir, `update-${p.target}.otapkg`));
      const bytes = readFileSync(p.path);
      expect(p.sizeBytes, p.target).toBe(bytes.length);
      expect(p.sha256, p.target).toBe(sha256(bytes));
      expect(p.signatureAlgorithm, p.target).toBe(p.target === 'qualcomm' ? 'rsa-4096' : 'ed25519');
      expect(
        Object.keys(p.operationCounts).every((k) => ['zero', 'copy', 'replace', 'diff'].includes(k)),
        JSON.stringify(p.operationCounts),
      ).toBe(true);
      for (const n of Object.values(p.operationCounts)) expect(Number.isInteger(n) && (n as number) > 0).toBe(true);
      // The synthetic pair has unchanged, edited and zeroed regions.
      expect(p.operationCounts.copy, p.target).toBeGreaterThan(0);
      expect(p.operationCounts.zero, p.target).toBeGreaterThan(0);
      expect((p.operationCounts.diff ?? 0) + (p.operationCounts.replace ?? 0), p.target).toBeGreaterThan(0);
    }
    for (const phase of ['hashMs', 'planMs', 'encodeMs', 'writeMs'])
      expect(typeof built.timingsMs[phase], phase).toBe('number');
    expect(built.warnings.map((w: any) => w.code)).toContain('TEST_KEY');
    for (const w of built.warnings) expect(Object.keys(w).sort()).toEqual(['code', 'message']);
    // The same warning is on stderr, and nothing else is.
    expect(
      builtRun.stderr
        .split('\n')
        .filter((l) => l !== '')
        .every((l) => l.startsWith('warning [')),
    ).toBe(true);
    expect(builtRun.stderr).toContain('warning [TEST_KEY]');
  });

  it('a full build has kind "full", no source, and only zero/replace ops', () => {
    const r = runCliOk([
      'build',
      '--new',
      pair.newPath,
      '-o',
      join(work, 'full-json'),
      '--target',
      'generic',
      '--jobs',
      '1',
      '--json',
    ]);
    const j = jsonOf(r);
    expect(j.kind).toBe('full');
    expect(j).not.toHaveProperty('source');
    expect(Object.keys(j.packages[0].operationCounts).every((k) => ['zero', 'replace'].includes(k))).toBe(true);
  });
});

describe('inspect --json', () => {
  const inspect = (path: string, ...extra: string[]) => jsonOf(runCliOk(['inspect', path, '--json', ...extra]));

  it.each([['qualcomm'], ['generic']])(
    'describes the %s package: target, identities, op stats, signature, sections',
    (target) => {
      const file = join(deltaDir, `update-${target}.otapkg`);
      const bytes = readFileSync(file);
      const j = inspect(file);
      const pkgInfo = built.packages.find((p: any) => p.target === target);
      expect(j.formatVersion).toBe('1.0');
      expect(j.fileSizeBytes).toBe(bytes.length);
      expect(j.metadataVerified).toBe(true);
      expect(j.target).toMatchObject(
        target === 'qualcomm'
          ? {
              targetId: 'qualcomm',
              vendor: 'Qualcomm',
              platform: 'sm8650',
              storage: 'ufs',
              blockSizeBytes: 4096,
              updateMode: 'ab',
              signatureAlgorithm: 'rsa-4096',
            }
          : {
              targetId: 'generic',
              vendor: 'Generic',
              platform: 'sm8650',
              storage: 'generic',
              blockSizeBytes: 4096,
              updateMode: 'ab',
              signatureAlgorithm: 'ed25519',
            },
      );
      expect(j.signature.algorithm).toBe(pkgInfo.signatureAlgorithm);
      expect(j.signature.keyId).toMatch(/^[0-9a-f]{64}$/);
      expect(j.timestampSeconds).toBe(1700000000);
      expect(j.sourceVersion).toBe('AP1A.240305.019');
      expect(j.targetVersion).toBe('AP1A.240405.002');
      expect(j.partitions).toHaveLength(1);
      const p = j.partitions[0];
      expect(p.name).toBe('vendor_boot');
      expect(p.kind).toBe('delta');
      expect(p.source).toMatchObject({ sizeBytes: pair.oldImage.length, sha256: sha256(readFileSync(pair.oldPath)) });
      expect(p.target).toMatchObject({ sizeBytes: pair.newImage.length, sha256: sha256(readFileSync(pair.newPath)) });
      // Op stats agree with build's counts and with the section table.
      const byTypeCounts = Object.fromEntries(Object.entries(p.byType).map(([k, s]: [string, any]) => [k, s.count]));
      expect(byTypeCounts).toEqual(pkgInfo.operationCounts);
      const sum = (o: Record<string, any>, f: string) => Object.values(o).reduce((a: number, s: any) => a + s[f], 0);
      expect(sum(p.byType, 'count')).toBe(p.operationCount);
      expect(sum(p.byType, 'blobBytes')).toBe(j.sections.blobs.sizeBytes);
      expect(sum(p.byEncoding, 'blobBytes')).toBe(j.sections.blobs.sizeBytes);
      expect(sum(p.byEncoding, 'count')).toBe((byTypeCounts.replace ?? 0) + (byTypeCounts.diff ?? 0));
      for (const k of Object.keys(p.byEncoding))
        expect(k).toMatch(/^(codec:(none|gzip|brotli|zstd|xz)|differ:(bsdiff|zstd-dict))$/);
      expect(p.byType.zero.blobBytes).toBe(0);
      expect(p.byType.copy.blobBytes).toBe(0);
      // An A/B slot holds stale data, so the ops must write every block of the target exactly once.
      expect(sum(p.byType, 'dstBytes')).toBe(Math.ceil(pair.newImage.length / 4096) * 4096);
      // Sections are contiguous, cover the file, and match the header.
      const order = ['header', 'targetHeader', 'manifest', 'metadataSignature', 'blobs', 'payloadSignature'];
      expect(Object.keys(j.sections)).toEqual(order);
      let at = 0;
      for (const name of order) {
        expect(j.sections[name].offsetBytes, name).toBe(at);
        at += j.sections[name].sizeBytes;
      }
      expect(at).toBe(bytes.length);
      expect(sectionsOf(bytes).map((s) => ({ offsetBytes: s.offsetBytes, sizeBytes: s.sizeBytes }))).toEqual(
        order.map((n) => j.sections[n]),
      );
    },
  );

  it('describes a full package (no source, codec as built) and its text form', () => {
    const file = join(fullDir, 'update-generic.otapkg');
    const j = inspect(file);
    expect(j.partitions[0].kind).toBe('full');
    expect(j.partitions[0]).not.toHaveProperty('source');
    expect(j.partitions[0].name).toBe('system');
    expect(j.partitions[0].target.sha256).toBe(sha256(pair.newImage));
    expect(Object.keys(j.partitions[0].byEncoding)).toEqual(['codec:zstd']);
    const text = runCliOk(['inspect', file]).stdout;
    expect(text).toContain('target     generic (Generic generic, generic, 4096-byte blocks, ab)');
    expect(text).toContain(sha256(pair.newImage));
    expect(text).not.toContain('NOT verified');
    // It says what it did not check.
    expect(text).toContain('body       not checked: blobs and payload signature (ota-build verify checks them)');
    expect(j.payloadVerified).toBe(false);
  });

  it('marks a package signed by an unknown key as NOT verified without --pubkey, and verified with it', () => {
    const file = join(keyedDir, 'update-generic.otapkg');
    const r = runCliOk(['inspect', file]);
    expect(r.stdout).toContain('(NOT verified)');
    expect(r.stderr).toMatch(/^warning \[UNVERIFIED\]: /m);
    expect(inspect(file).metadataVerified).toBe(false);
    expect(inspect(file, '--pubkey', `${edKey}.pub.pem`).metadataVerified).toBe(true);
  });
});

describe('verify and apply --json', () => {
  it('verify --json reports ok, target, algorithm, key id and the checks (with --old: the trial apply)', () => {
    const file = join(deltaDir, 'update-qualcomm.otapkg');
    const j = jsonOf(runCliOk(['verify', file, '--json', '--old', pair.oldPath, '--device-target', 'qcom']));
    expect(j).toMatchObject({ ok: true, package: file, target: 'qualcomm', signatureAlgorithm: 'rsa-4096' });
    expect(j.keyId).toMatch(/^[0-9a-f]{64}$/);
    // Stable ids in the order verify runs them; text for people; counts where a check has one.
    expect(j.checks.map((c: { id: string }) => c.id)).toEqual([
      'structure',
      'metadata-signature',
      'manifest',
      'device-target',
      'device-limits',
      'payload-signature',
      'blob-hashes',
      'blobs-decode',
      'trial-apply',
    ]);
    const hashes = j.checks.find((c: { id: string }) => c.id === 'blob-hashes');
    expect(hashes.count).toBeGreaterThan(0);
    expect(hashes.text).toBe(`every blob matches its hash (${hashes.count})`);
    expect(j.checks.at(-1).text).toBe('applies to the old image and reproduces the target sha256');
    expect(j.warnings.map((w: any) => w.code)).toEqual(['TEST_KEY']);
  });

  it('apply --json reports the output, target, partition, size, sha256 and op count', () => {
    const file = join(deltaDir, 'update-generic.otapkg');
    const out = join(work, 'applied.img');
    const j = jsonOf(runCliOk(['apply', file, '--json', '--old', pair.oldPath, '-o', out]));
    const inspected = jsonOf(runCliOk(['inspect', file, '--json']));
    expect(j).toMatchObject({
      outputPath: out,
      targetId: 'generic',
      partition: 'vendor_boot',
      sizeBytes: pair.newImage.length,
      sha256: sha256(pair.newImage),
      operationCount: inspected.partitions[0].operationCount,
    });
    expect(sha256(readFileSync(out))).toBe(sha256(pair.newImage));
  });
});

describe('apply --old with a full package', () => {
  it('applies (a full package reads no old image) and says --old was not read (OLD_NOT_USED)', () => {
    const file = join(fullDir, 'update-generic.otapkg');
    const out = join(work, 'full-applied.img');
    const typo = join(work, 'no-such-old.img');
    const j = jsonOf(runCliOk(['apply', file, '--old', typo, '-o', out, '--json']));
    expect(j.warnings).toContainEqual({
      code: 'OLD_NOT_USED',
      message: `${file} is a full package: --old ${typo} is not read`,
    });
    expect(sha256(readFileSync(out))).toBe(sha256(pair.newImage));
    // Without --old, no such warning.
    const plain = jsonOf(runCliOk(['apply', file, '-o', join(work, 'full-plain.img'), '--json']));
    expect(plain.warnings.map((w: { code: string }) => w.code)).not.toContain('OLD_NOT_USED');
  });

  it('verify --old of a full package does not claim it applied to the old image', () => {
    const file = join(fullDir, 'update-generic.otapkg');
    const typo = join(work, 'no-such-old.img');
    const j = jsonOf(runCliOk(['verify', file, '--old', typo, '--json']));
    expect(j.checks.at(-1)).toMatchObject({
      id: 'trial-apply',
      text: 'applies without the old image (a full package reads none) and reproduces the target sha256',
    });
    expect(j.warnings.map((w: { code: string }) => w.code)).toContain('OLD_NOT_USED');
  });
});

describe('options that do not apply are refused, not ignored (exit 2 BAD_OPTION, nothing written)', () => {
  /** A generic delta build of the pair into `out`, with `extra` options. */
  const buildTo = (out: string, ...extra: string[]) => deltaBuildArgs(pair, out, '--target', 'generic', ...extra);

  it('--partitions/--exclude with single images, URL options with a local package, --old with --metadata-only', () => {
    const file = join(deltaDir, 'update-generic.otapkg');
    const out = join(work, 'refused-out');
    const cases: [string[], RegExp][] = [
      [buildTo(out, '--partitions', 'boot'), /--partitions and --exclude choose partitions of a release/],
      [buildTo(out, '--exclude', 'vendor'), /--partitions and --exclude choose partitions of a release/],
      [
        ['apply', file, '--old', pair.oldPath, '-o', join(out, 'x.img'), '--ca-file', 'ca.pem', '--retries', '2'],
        /--retries, --ca-file are for a package URL; .* is a local file/,
      ],
      [['verify', file, '--timeout', '5'], /--timeout is for a package URL/],
      [['verify', file, '--metadata-only', '--old', pair.oldPath], /leave out --metadata-only or --old/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(2);
      expect(r.stderr).toMatch(/\[BAD_OPTION\]/);
      expect(r.stderr).toMatch(message);
      expect(existsSync(out), args.join(' ')).toBe(false);
    }
  });

  it('a package URL of another scheme (ftp, s3, file) → exit 7 URL_UNSUPPORTED, not a missing file; credentials never printed; nothing written', () => {
    const out = join(work, 'url-refused.img');
    const cases: [string[], string][] = [
      [['verify', 'ftp://builder:s3cret@example.com/update.otapkg'], 'ftp://***@example.com/update.otapkg: ftp://'],
      [['inspect', 's3://bucket/update.otapkg'], 's3://bucket/update.otapkg: s3://'],
      [['apply', 'file:///srv/update.otapkg', '--old', pair.oldPath, '-o', out], 'file:///srv/update.otapkg: file://'],
      [['verify', 'FTP://example.com/u.otapkg', '--retries', '2'], 'FTP://example.com/u.otapkg: FTP://'],
      // The password holds an @: all of the user information is hidden, up to the last one.
      [['inspect', 'sftp://builder:s3cret@x@example.com/u.otapkg'], 'sftp://***@example.com/u.otapkg: sftp://'],
    ];
    for (const [args, named] of cases) {
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(7);
      expect(r.stderr).toContain(`[URL_UNSUPPORTED]: ${named}`);
      expect(r.stderr).toMatch(/a package URL is http:\/\/ or https:\/\//);
      expect(r.stderr).not.toContain('s3cret');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const json = runCli(['inspect', 's3://bucket/update.otapkg', '--json']);
    expect(json.status).toBe(7);
    expect(JSON.parse(json.stdout).error.code).toBe('URL_UNSUPPORTED');
    expect(existsSync(out)).toBe(false);
    // A one-letter scheme is a Windows drive: opened as a path (here missing), not refused as a URL.
    const drive = runCli(['verify', 'C://no-such-dir/u.otapkg']);
    expect(drive.status, describeRun(drive)).toBe(8);
    expect(drive.stderr).not.toContain('URL_UNSUPPORTED');
  });

  it('a network failure (closed port, no answer) names the URL with its password hidden: exit 8, one line, in JSON too', async () => {
    const out = join(work, 'url-failed.img');
    const listening = async (server: Server) => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return (server.address() as AddressInfo).port;
    };
    const gone = createServer();
    const closedPort = await listening(gone);
    await new Promise((resolve) => gone.close(resolve));
    // Accepts connections (the kernel does, while runCli blocks this thread) and never answers.
    const silent = createServer(() => undefined);
    const silentPort = await listening(silent);
    try {
      const url = (port: number) => `http://builder:s3cret@127.0.0.1:${port}/update.otapkg`;
      const limits = ['--retries', '1', '--timeout', '1'];
      const cases: [string[], RegExp][] = [
        [['verify', url(closedPort), ...limits], /ECONNREFUSED/],
        [['inspect', url(closedPort), ...limits], /ECONNREFUSED/],
        [['apply', url(closedPort), '--old', pair.oldPath, '-o', out, ...limits], /ECONNREFUSED/],
        [['verify', url(silentPort), ...limits], /no response in 1000 ms/],
      ];
      for (const [args, why] of cases) {
        const r = runCli(args);
        expect(r.status, describeRun(r)).toBe(8);
        expect(r.stderr).toContain('[HTTP_FAILED]: http://***@127.0.0.1:');
        expect(r.stderr).toMatch(why);
        expect(r.stderr).not.toContain('s3cret');
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
      const json = runCli(['verify', url(closedPort), ...limits, '--json']);
      expect(json.status).toBe(8);
      expect(JSON.parse(json.stdout).error.code).toBe('HTTP_FAILED');
      expect(json.stdout + json.stderr).not.toContain('s3cret');
      expect(existsSync(out)).toBe(false);
    } finally {
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('build where a package name is taken by a folder → exit 2 OUTPUT_NOT_FILE before any work, folder intact', () => {
    const out = join(work, 'taken');
    mkdirSync(join(out, 'update-generic.properties.json'), { recursive: true });
    const r = runCli(buildTo(out));
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(
      /\[OUTPUT_NOT_FILE\]: .*update-generic\.properties\.json exists and is not a regular file/,
    );
    expect(readdirSync(out)).toEqual(['update-generic.properties.json']);
  });

  it('build -o an existing file → exit 2 OUTPUT_NOT_FOLDER before any work, the file intact', () => {
    const before = readFileSync(pair.oldPath);
    const r = runCli(buildTo(pair.oldPath));
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(
      /\[OUTPUT_NOT_FOLDER\]: build writes one package per target into a folder: -o .* is an existing file/,
    );
    expect(readFileSync(pair.oldPath).equals(before)).toBe(true);
  });
});

describe('messages name things once, as the user gave them', () => {
  it('a refused connection names the URL once; a missing output folder is said of the output, not of a lock file', () => {
    const url = 'http://127.0.0.1:1/x.otapkg';
    const r = runCli(['verify', url, '--retries', '1']);
    expect(r.status, describeRun(r)).toBe(8);
    expect(r.stderr).toMatch(
      /\[HTTP_FAILED\]: http:\/\/127\.0\.0\.1:1\/x\.otapkg: ECONNREFUSED; gave up after 1 retry at byte 0/,
    );
    expect(r.stderr.split(url).length - 1).toBe(1);
    // inspect takes a URL too, and the same URL options.
    const i = runCli(['inspect', url, '--retries', '0']);
    expect(i.status, describeRun(i)).toBe(8);
    expect(i.stderr).toMatch(/\[HTTP_FAILED\]: .*ECONNREFUSED; gave up \(no retries allowed\) at byte 0/);

    const file = join(deltaDir, 'update-generic.otapkg');
    const out = join(work, 'no-such-folder', 'x.img');
    const a = runCli(['apply', file, '--old', pair.oldPath, '-o', out]);
    expect(a.status, describeRun(a)).toBe(8);
    expect(a.stderr).toMatch(
      /\[IO_ENOENT\]: cannot write output .*no-such-folder\/x\.img: folder .*no-such-folder: no such file or folder \(ENOENT\)/,
    );
    expect(a.stderr).not.toMatch(/ota-lock/);
    // A file where the folder should be: the same, about the output and its folder.
    const notFolder = join(work, 'a-plain-file');
    writeFileSync(notFolder, 'not a folder');
    const b = runCli(['apply', file, '--old', pair.oldPath, '-o', join(notFolder, 'x.img')]);
    expect(b.status, describeRun(b)).toBe(8);
    expect(b.stderr).toMatch(/\[IO_ENOTDIR\]: cannot write output .*a-plain-file\/x\.img: folder .*a-plain-file: /);
    expect(b.stderr).not.toMatch(/ota-lock/);
    expect(readFileSync(notFolder, 'utf8')).toBe('not a folder');
  });
});

describe('per-target keys', () => {
  it('--key qualcomm=<ec.pem> --key <ed.pem>: each package verifies with its own public key and not with the other', () => {
    const q = join(keyedDir, 'update-qualcomm.otapkg');
    const g = join(keyedDir, 'update-generic.otapkg');
    expect(jsonOf(runCliOk(['inspect', q, '--json', '--pubkey', `${ecKey}.pub.pem`])).signature.algorithm).toBe(
      'ecdsa-p256',
    );
    expect(jsonOf(runCliOk(['inspect', g, '--json', '--pubkey', `${edKey}.pub.pem`])).signature.algorithm).toBe(
      'ed25519',
    );
    runCliOk(['verify', q, '--pubkey', `${ecKey}.pub.pem`, '--old', pair.oldPath]);
    runCliOk(['verify', g, '--pubkey', `${edKey}.pub.pem`, '--old', pair.oldPath]);
    for (const [file, wrong] of [
      [q, `${edKey}.pub.pem`],
      [g, `${ecKey}.pub.pem`],
    ] as const) {
      const r = runCli(['verify', file, '--pubkey', wrong]);
      expect(r.status, describeRun(r)).toBe(6);
      expect(r.stderr).toMatch(/^ota-build: error \[SIG_WRONG_KEY\]: /);
    }
    // And neither verifies with the embedded test keys.
    for (const file of [q, g]) {
      const r = runCli(['verify', file]);
      expect(r.status, describeRun(r)).toBe(6);
    }
  });

  it('a per-target key for a target that is not built is refused or at least not silently applied to another target', () => {
    const out = join(work, 'unused-key');
    const r = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      'generic',
      '--jobs',
      '1',
      '--key',
      `mtk=${ecKey}.pem`,
      '--json',
    ]);
    if (r.status === 0) {
      // The generic package must not have been signed with the mediatek key.
      expect(jsonOf(r).packages[0].signatureAlgorithm).toBe('ed25519');
      expect(jsonOf(r).warnings.map((w: any) => w.code)).toContain('TEST_KEY');
    } else {
      expect(r.status, describeRun(r)).toBe(2);
    }
  });
});

describe('--strict', () => {
  it('with test keys → exit 2 STRICT_TEST_KEY and no package written', () => {
    const out = join(work, 'strict');
    const r = runCli([
      'build',
      '--old',
      pair.oldPath,
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      'generic',
      '--jobs',
      '1',
      '--strict',
    ]);
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
      expect.stringMatching(/^ota-build: error \[STRICT_TEST_KEY\]: --strict: /),
    ]);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const j = runCli([
      'build',
      '--new',
      pair.newPath,
      '-o',
      out,
      '--target',
      'generic',
      '--jobs',
      '1',
      '--strict',
      '--json',
    ]);
    expect(j.status).toBe(2);
    expect(jsonOf(j).error.code).toBe('STRICT_TEST_KEY');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
  });

  /** A full build of the pair's new image for generic, one worker, signed with the ed25519 key. */
  const fullBuild = (out: string, ...extra: string[]) => [
    'build',
    '--new',
    pair.newPath,
    '-o',
    out,
    '--target',
    'generic',
    '--jobs',
    '1',
    '--key',
    `${edKey}.pem`,
    ...extra,
  ];

  it('without SOURCE_DATE_EPOCH → exit 2 STRICT_NO_TIMESTAMP; with a real key and a timestamp it builds with no warnings', () => {
    const out = join(work, 'strict-ts');
    const r = runCli(fullBuild(out, '--strict'), { env: { SOURCE_DATE_EPOCH: undefined } });
    expect(r.status, describeRun(r)).toBe(2);
    expect(r.stderr).toMatch(/^ota-build: error \[STRICT_NO_TIMESTAMP\]: /);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    const ok = runCliOk(fullBuild(out, '--strict', '--json'));
    expect(jsonOf(ok).warnings).toEqual([]);
    expect(ok.stderr).toBe('');
  });

  it('a full build with --differ that needs an old image warns DIFFER_NOT_USED (--strict: exit 2, nothing written); deflate-aware needs none', () => {
    const full = (out: string, differ: string, ...more: string[]) => fullBuild(out, '--differ', differ, ...more);
    const warned = runCliOk(full(join(work, 'full-differ'), 'bsdiff', '--json'));
    expect(jsonOf(warned).warnings).toEqual([
      {
        code: 'DIFFER_NOT_USED',
        message:
          '--differ bsdiff needs an old image: without --old the package is full (REPLACE ops), and no differ is tried',
      },
    ]);
    const strictOut = join(work, 'full-differ-strict');
    const strict = runCli(full(strictOut, 'bsdiff-lzma', '--strict'));
    expect(strict.status, describeRun(strict)).toBe(2);
    expect(strict.stderr).toMatch(
      /^ota-build: error \[STRICT_DIFFER_NOT_USED\]: --strict: --differ bsdiff-lzma needs an old image/,
    );
    expect(existsSync(strictOut) ? readdirSync(strictOut) : []).toEqual([]);
    const sourceless = runCliOk(full(join(work, 'full-deflate'), 'deflate-aware', '--strict', '--json'));
    expect(jsonOf(sourceless).warnings).toEqual([]);
  });
});

describe('progress and stderr', () => {
  const build = (out: string, ...extra: string[]) => [
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, out),
    '--target',
    'generic',
    '--jobs',
    '1',
    ...extra,
  ];

  it('without a TTY, build prints no progress on stderr: only warnings', () => {
    const r = runCliOk(build('no-tty'));
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(l, describeRun(r)).toMatch(/^warning \[[A-Z_]+\]: /);
    expect(r.stderr).not.toMatch(/%/);
    // With a real key and a timestamp there is nothing at all on stderr.
    const quiet = runCliOk(build('no-tty-key', '--key', `${edKey}.pem`));
    expect(quiet.stderr).toBe('');
  });

  it('--progress prints plain progress lines on stderr (and --json stdout stays pure JSON)', () => {
    const r = runCliOk(build('progress', '--key', `${edKey}.pem`, '--progress', '--json'));
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length, describeRun(r)).toBeGreaterThan(2);
    for (const l of lines) expect(l, describeRun(r)).toMatch(/^(hashing old|hashing new|encoding) \d{1,3}%$/);
    expect(lines).toContain('hashing new 100%');
    expect(lines.some((l) => l.startsWith('encoding'))).toBe(true);
    expect(r.stderr).not.toMatch(/\x1b\[/);
    expect(jsonOf(r).packages).toHaveLength(1);
  });

  /**
   * Runs `ota-build args…` with stderr on a pseudo-terminal (util-linux `script`), stdout
   * redirected to a file. `stty` sets the terminal size first (none: a pty that reports 0×0,
   * as CI wrappers and `docker run -t` give). The CLI runs under `timeout --foreground -s KILL`
   * (foreground: a background job touching the tty would be stopped by SIGTTOU; KILL: a
   * spinning event loop never handles TERM), so a hang ends after 10 s with exit 137.
   */
  function runOnTty(args: string[], stty: string | undefined, stdoutFile: string) {
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cli = `timeout --foreground -s KILL 10 ${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')} > ${q(stdoutFile)}`;
    const r = spawnSync('script', ['-qec', stty ? `stty ${stty}; ${cli}` : cli, '/dev/null'], {
      cwd: work,
      env: { ...process.env, SOURCE_DATE_EPOCH: EPOCH, TERM: 'xterm' },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'latin1',
      timeout: 40_000,
      maxBuffer: 512 * 1024 * 1024,
    });
    if (r.error) throw new Error(`cannot run script (${String(r.error)}): apt-get install bsdutils`);
    return { status: r.status, tty: r.stdout };
  }

  it('on a terminal, build shows a spinner on stderr and --json stdout stays pure JSON', () => {
    const json = join(work, 'tty-80.json');
    const r = runOnTty(build('tty-80', '--json'), 'cols 80 rows 24', json);
    expect(r.status, r.tty.slice(0, 2000)).toBe(0);
    expect(r.tty).toMatch(/hashing|encoding/);
    expect(
      jsonOf({ status: 0, stdout: readFileSync(json, 'utf8'), stderr: '', argv: 'tty build' }).packages,
    ).toHaveLength(1);
  });

  it('on a terminal that reports 0 columns (script, docker -t, CI ptys), build still finishes instead of spinning forever', () => {
    const json = join(work, 'tty-0.json');
    const r = runOnTty(build('tty-0', '--json'), undefined, json);
    const sample = JSON.stringify(r.tty.slice(0, 600));
    expect(
      r.status,
      `exit ${String(r.status)} (137 = killed after 10 s); ${r.tty.length} bytes on the terminal, starting ${sample}`,
    ).toBe(0);
    expect(r.tty.length, 'terminal output stays small').toBeLessThan(64 * 1024);
    expect(
      jsonOf({ status: 0, stdout: readFileSync(json, 'utf8'), stderr: '', argv: 'tty build' }).packages,
    ).toHaveLength(1);
  });

  it.each([
    [
      'verify of a missing package',
      () => ['verify', join(work, 'nope.otapkg'), '--pubkey', `${edKey}.pub.pem`],
      8,
      'IO_ENOENT',
    ],
    [
      'verify with the wrong key',
      () => ['verify', join(keyedDir, 'update-generic.otapkg'), '--pubkey', `${ecKey}.pub.pem`],
      6,
      'SIG_WRONG_KEY',
    ],
    [
      'apply with a wrong base',
      () => [
        'apply',
        join(keyedDir, 'update-generic.otapkg'),
        '--pubkey',
        `${edKey}.pub.pem`,
        '--old',
        pair.newPath,
        '-o',
        join(work, 'x.img'),
      ],
      5,
      'WRONG_BASE',
    ],
    ['inspect of an image', () => ['inspect', pair.oldPath], 4, 'PKG_BAD_MAGIC'],
    [
      'build with a bad codec',
      () => ['build', '--new', pair.newPath, '-o', join(work, 'bad'), '--codec', 'lz4'],
      2,
      'BAD_CODEC',
    ],
    ['keygen over an existing key', () => ['keygen', '--algorithm', 'ed25519', '-o', edKey], 2, 'KEY_EXISTS'],
  ])(
    'an error (%s) is exactly one stderr line, nothing on stdout; --json puts {error:{code,message}} on stdout only',
    (_what, argsOf, status, code) => {
      const args = argsOf();
      const r = runCli(args);
      expect(r.status, describeRun(r)).toBe(status);
      expect(r.stdout).toBe('');
      expect(r.stderr.endsWith('\n')).toBe(true);
      expect(r.stderr.slice(0, -1), describeRun(r)).not.toContain('\n');
      expect(r.stderr).toMatch(new RegExp(`^ota-build: error \\[${code}\\]: \\S.*\\n$`));
      const j = runCli([...args, '--json']);
      expect(j.status).toBe(status);
      expect(j.stderr, describeRun(j)).toBe('');
      expect(JSON.parse(j.stdout)).toEqual({ error: { code, message: expect.any(String) } });
      expect(`ota-build: error [${code}]: ${JSON.parse(j.stdout).error.message}\n`).toBe(r.stderr);
    },
  );
});
