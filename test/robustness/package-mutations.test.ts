// Robustness of the package reader, verifier and applier against damaged packages (DESIGN.md §8):
// byte flips in every section, truncations, trailing bytes, bad header lengths and swapped
// signature blocks must all end in a typed OtaError with exit 4, 5 or 6 (an unknown major version
// is exit 4 PKG_UNSUPPORTED_VERSION, a newer minor exit 7 PKG_NEWER_MINOR, per README and FORMAT.md §2), a one-line message, and no output or temp file left beside the apply destination.
// Every random choice comes from a seeded PRNG; the seed is in every assertion message
// (replay with OTA_TEST_SEED=<seed>).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtaError, applyPackage, inspectPackage, verifyPackage } from '../../src/index.js';
import {
  HEADER_FIELD,
  SECTION_NAMES,
  boundariesOf,
  filesIn,
  resign,
  sectionNamed,
  sectionsOf,
  sha256Hex,
  type SectionName,
} from '../helpers/package-bytes.js';
import { TEST_KEYS, describeRun, jsonOf, runCli, runCliOk } from '../helpers/run-cli.js';
import { seededRng, suiteSeed, type Rng } from '../helpers/seeded-random.js';
import { writeImagePair } from '../helpers/synthetic-images.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { zipTextImage } from '../helpers/zip-archive.js';

const SEED = suiteSeed(0x07a9c0de);
const STRUCTURAL = [4, 5, 6] as const;
/** An unknown major version: README and FORMAT.md §2 document exit 4 (it was exit 7 before 6588df6). */
const UNSUPPORTED_VERSION = [4] as const;
/** A flipped minor version: above 1 is PKG_NEWER_MINOR (exit 7, FORMAT.md §2); 1 fails the metadata signature that covers it. */
const NEWER_MINOR = [6, 7] as const;

/** One built package under test. */
interface Subject {
  readonly label: 'delta' | 'full' | 'full-zip' | 'repeat';
  bytes: Buffer;
  /** Key for verify/apply (undefined: the embedded test key). */
  pubkeyPath?: string;
  /** Private key that signed it (for re-signing). */
  privateKeyPem: string;
  oldPath?: string;
  /** sha256 hex of the image it makes (undefined: the pair's new image). */
  targetSha256?: string;
}

let work: string;
let mutDir: string;
let applyDir: string;
let targetSha256: string;
let oldImagePath: string;
const subjects: Record<'delta' | 'full', Subject> = {} as Record<'delta' | 'full', Subject>;
/** A full package with sourceless deflate-aware DIFF ops (format 1.4), of an image of zip archives. */
let fullZip: Subject;
/** A delta whose new image repeats new content: a DIFF op reads back target blocks (format 1.6). */
let repeat: Subject;
let mutationCount = 0;
let mutationSerial = 0;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-mutations-'));
  mutDir = join(work, 'mutated');
  applyDir = join(work, 'apply-out');
  mkdirSync(mutDir);
  mkdirSync(applyDir);
  const pair = writeImagePair(work, SEED);
  targetSha256 = sha256Hex(pair.newImage);
  oldImagePath = pair.oldPath;
  const signer = join(work, 'signer');
  runCliOk(['keygen', '--algorithm', 'ed25519', '-o', signer]);
  runCliOk([
    'build',
    '--old',
    pair.oldPath,
    '--new',
    pair.newPath,
    '-o',
    join(work, 'delta'),
    '--target',
    'generic',
    '--codec',
    'auto',
    '--jobs',
    '1',
    '--key',
    `${signer}.pem`,
  ]);
  runCliOk(['build', '--new', pair.newPath, '-o', join(work, 'full'), '--target', 'generic', '--jobs', '1']);
  subjects.delta = {
    label: 'delta',
    bytes: readFileSync(join(work, 'delta', 'update-generic.otapkg')),
    pubkeyPath: `${signer}.pub.pem`,
    privateKeyPem: readFileSync(`${signer}.pem`, 'utf8'),
    oldPath: pair.oldPath,
  };
  subjects.full = {
    label: 'full',
    bytes: readFileSync(join(work, 'full', 'update-generic.otapkg')),
    privateKeyPem: readFileSync(join(TEST_KEYS, 'ed25519.pem'), 'utf8'),
  };
  const zipImage = zipTextImage(256 * 1024, 4, SEED & 0xffff);
  writeFileSync(join(work, 'zip.img'), zipImage);
  buildGeneric(join(work, 'full-zip'), join(work, 'zip.img'));
  fullZip = {
    label: 'full-zip',
    bytes: readFileSync(join(work, 'full-zip', 'update-generic.otapkg')),
    privateKeyPem: readFileSync(join(TEST_KEYS, 'ed25519.pem'), 'utf8'),
    targetSha256: sha256Hex(zipImage),
  };
  // 1 MiB: 32 KiB of new content at 128 KiB and an edited copy of it at 768 KiB, in a separate
  // item: the unchanged zero blocks between them end the first (whatever the seed).
  const repeatOld = syntheticImage(1024 * 1024, SEED & 0xffff).fill(0, 384 * 1024, 640 * 1024);
  const fresh = syntheticImage(32 * 1024, (SEED >>> 8) & 0xffff);
  const repeatNew = Buffer.from(repeatOld);
  fresh.copy(repeatNew, 128 * 1024);
  applyEdits(fresh, [{ kind: 'random', at: 9000, length: 40 }], SEED & 0xff).copy(repeatNew, 768 * 1024);
  writeFileSync(join(work, 'repeat-old.img'), repeatOld);
  writeFileSync(join(work, 'repeat-new.img'), repeatNew);
  buildGeneric(join(work, 'repeat'), join(work, 'repeat-new.img'), join(work, 'repeat-old.img'));
  repeat = {
    label: 'repeat',
    bytes: readFileSync(join(work, 'repeat', 'update-generic.otapkg')),
    privateKeyPem: readFileSync(join(TEST_KEYS, 'ed25519.pem'), 'utf8'),
    oldPath: join(work, 'repeat-old.img'),
    targetSha256: sha256Hex(repeatNew),
  };
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Builds the generic package of `newPath` (against `oldPath`, else full) into `outDir`, one job. */
function buildGeneric(outDir: string, newPath: string, oldPath?: string): void {
  const old = oldPath ? ['--old', oldPath] : [];
  runCliOk(['build', ...old, '--new', newPath, '-o', outDir, '--target', 'generic', '--jobs', '1']);
}

/** Outcome of running one library entry point on a package. */
type Outcome = { ok: true } | { ok: false; error: unknown };

async function outcome(f: () => Promise<unknown>): Promise<Outcome> {
  try {
    await f();
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

function describeError(error: unknown): string {
  if (error instanceof OtaError)
    return `OtaError ${error.code} exit ${error.exitCode}: ${JSON.stringify(error.message)}`;
  return `plain ${(error as Error)?.constructor?.name ?? typeof error}: ${String((error as Error)?.stack ?? error)}`;
}

/** Problems with one failure (empty when it is a proper typed refusal). */
function errorProblems(label: string, error: unknown, allowed: readonly number[], code?: string): string[] {
  if (!(error instanceof OtaError)) return [`${label}: not an OtaError: ${describeError(error)}`];
  const out: string[] = [];
  if (code !== undefined && error.code !== code)
    out.push(`${label}: code ${error.code}, expected ${code}: ${error.message}`);
  if (!allowed.includes(error.exitCode))
    out.push(
      `${label}: exit ${error.exitCode} (${error.code}), expected one of ${allowed.join('/')}: ${error.message}`,
    );
  if (error.message.includes('\n')) out.push(`${label}: message has a newline: ${JSON.stringify(error.message)}`);
  if (!/^[A-Z][A-Z0-9_]+$/.test(error.code))
    out.push(`${label}: code ${JSON.stringify(error.code)} is not a stable UPPER_CASE code`);
  return out;
}

/**
 * Writes `bytes` as a package and runs verifyPackage and applyPackage on it; both must refuse it
 * with an allowed exit code, and apply must leave nothing in its output folder.
 */
async function refusalProblems(
  subject: Subject,
  bytes: Buffer,
  label: string,
  allowed: readonly number[],
  code?: string,
): Promise<string[]> {
  mutationCount++;
  const tag = `[seed ${SEED}] ${subject.label} ${label}`;
  const packagePath = join(mutDir, `m${mutationSerial++}.otapkg`);
  writeFileSync(packagePath, bytes);
  const problems: string[] = [];
  const verified = await outcome(() => verifyPackage({ packagePath, pubkeyPath: subject.pubkeyPath }));
  if (verified.ok) problems.push(`${tag}: verifyPackage accepted the damaged package`);
  else problems.push(...errorProblems(`${tag}: verify`, verified.error, allowed, code));
  const outputPath = join(applyDir, 'new.img');
  const applied = await outcome(() =>
    applyPackage({ packagePath, oldPath: subject.oldPath, outputPath, pubkeyPath: subject.pubkeyPath }),
  );
  if (applied.ok) problems.push(`${tag}: applyPackage accepted the damaged package`);
  else problems.push(...errorProblems(`${tag}: apply`, applied.error, allowed, code));
  const left = filesIn(applyDir);
  if (left.length > 0) {
    problems.push(`${tag}: apply left ${JSON.stringify(left)} in the output folder`);
    for (const f of left) rmSync(join(applyDir, f), { force: true });
  }
  rmSync(packagePath, { force: true });
  return problems;
}

function flipped(bytes: Buffer, position: number, rng: Rng): { bytes: Buffer; xor: number } {
  const out = Buffer.from(bytes);
  const xor = rng.int(1, 255);
  out[position] = out[position]! ^ xor;
  return { bytes: out, xor };
}

/** Positions to flip in a section: first, last, middle and `randomCount` seeded random ones. */
function positionsIn(offset: number, size: number, rng: Rng, randomCount: number): number[] {
  const set = new Set<number>([offset, offset + size - 1, offset + Math.floor(size / 2)]);
  for (let i = 0; i < randomCount; i++) set.add(offset + rng.int(0, size - 1));
  return [...set].sort((a, b) => a - b);
}

const RANDOM_FLIPS: Record<SectionName, number> = {
  header: 0, // every header byte is flipped
  targetHeader: 10,
  manifest: 24,
  metadataSignature: 14,
  blobs: 14,
  payloadSignature: 14,
};

describe.each(['delta', 'full'] as const)('%s package', (which) => {
  const subject = () => subjects[which];

  it('is valid before it is damaged (baseline)', async () => {
    const s = subject();
    const packagePath = join(mutDir, `baseline-${which}.otapkg`);
    writeFileSync(packagePath, s.bytes);
    const report = await verifyPackage({ packagePath, pubkeyPath: s.pubkeyPath });
    expect(report.target).toBe('generic');
    const result = await applyPackage({
      packagePath,
      oldPath: s.oldPath,
      outputPath: join(applyDir, 'new.img'),
      pubkeyPath: s.pubkeyPath,
    });
    expect(result).toMatchObject({ kind: 'image', sha256: targetSha256 });
    rmSync(join(applyDir, 'new.img'));
    // The independent layout (from FORMAT.md) agrees with inspect --json's section table.
    const inspected = jsonOf(
      runCliOk(['inspect', packagePath, '--json', ...(s.pubkeyPath ? ['--pubkey', s.pubkeyPath] : [])]),
    );
    for (const sec of sectionsOf(s.bytes)) {
      expect(inspected.sections[sec.name], `section ${sec.name}`).toEqual({
        offsetBytes: sec.offsetBytes,
        sizeBytes: sec.sizeBytes,
      });
      expect(sec.sizeBytes, `section ${sec.name} of the ${which} package is empty`).toBeGreaterThan(0);
    }
    rmSync(packagePath);
  });

  it.each(SECTION_NAMES.map((n) => [n]))('refuses single-byte flips in the %s section', async (name) => {
    const s = subject();
    const rng = seededRng(SEED ^ (SECTION_NAMES.indexOf(name) * 7919) ^ (which === 'delta' ? 0 : 0x100000));
    const sec = sectionNamed(s.bytes, name);
    const positions =
      name === 'header'
        ? Array.from({ length: 64 }, (_, i) => i)
        : positionsIn(sec.offsetBytes, sec.sizeBytes, rng, RANDOM_FLIPS[name]);
    const problems: string[] = [];
    for (const pos of positions) {
      const m = flipped(s.bytes, pos, rng);
      const major = pos === HEADER_FIELD.formatMajor;
      const minor = pos === HEADER_FIELD.formatMinor;
      const allowed = major ? UNSUPPORTED_VERSION : minor ? NEWER_MINOR : STRUCTURAL;
      problems.push(
        ...(await refusalProblems(
          s,
          m.bytes,
          `flip ${name} byte at offset ${pos} (xor 0x${m.xor.toString(16)})`,
          allowed,
          major ? 'PKG_UNSUPPORTED_VERSION' : undefined,
        )),
      );
    }
    expect(problems, `seed ${SEED}: ${problems.length} problems`).toEqual([]);
  });

  it('refuses truncation at every section boundary ±1 and at 40+ seeded random lengths', async () => {
    const s = subject();
    const rng = seededRng(SEED ^ 0x7a11 ^ (which === 'delta' ? 0 : 0x100000));
    const lengths = new Set<number>([0, 1, 2, 63, 64, 65]);
    for (const b of boundariesOf(s.bytes))
      for (const d of [-1, 0, 1]) if (b + d >= 0 && b + d < s.bytes.length) lengths.add(b + d);
    for (let i = 0; i < 44; i++) lengths.add(rng.int(0, s.bytes.length - 1));
    const problems: string[] = [];
    for (const len of [...lengths].sort((a, b) => a - b)) {
      problems.push(
        ...(await refusalProblems(
          s,
          s.bytes.subarray(0, len),
          `truncated to ${len} of ${s.bytes.length} bytes`,
          STRUCTURAL,
        )),
      );
    }
    expect(lengths.size).toBeGreaterThanOrEqual(40);
    expect(problems, `seed ${SEED}: ${problems.length} problems`).toEqual([]);
  });

  it('refuses trailing bytes', async () => {
    const s = subject();
    const rng = seededRng(SEED ^ 0x7a12);
    const tails: [string, Buffer][] = [
      ['1 zero byte', Buffer.alloc(1)],
      ['1 random byte', rng.bytes(1)],
      ['4096 random bytes', rng.bytes(4096)],
      ['a second copy of the package', s.bytes],
    ];
    const problems: string[] = [];
    for (const [what, tail] of tails) {
      problems.push(...(await refusalProblems(s, Buffer.concat([s.bytes, tail]), `with ${what} appended`, STRUCTURAL)));
    }
    expect(problems, `seed ${SEED}`).toEqual([]);
  });

  it('refuses header length fields set to 0, 0xFFFFFFFF, file size ±1 and their own value ±1', async () => {
    const s = subject();
    const size = s.bytes.length;
    const problems: string[] = [];
    const u32Fields = [
      'headerSizeBytes',
      'targetHeaderSizeBytes',
      'manifestSizeBytes',
      'metadataSignatureSizeBytes',
      'payloadSignatureSizeBytes',
    ] as const;
    for (const field of u32Fields) {
      const at = HEADER_FIELD[field];
      const own = s.bytes.readUInt32LE(at);
      for (const value of new Set([0, 0xffffffff, size - 1, size, size + 1, own - 1, own + 1, 0x80000000])) {
        const m = Buffer.from(s.bytes);
        m.writeUInt32LE(value >>> 0, at);
        problems.push(
          ...(await refusalProblems(s, m, `${field} (offset ${at}) set to ${value} (was ${own})`, STRUCTURAL)),
        );
      }
    }
    const at = HEADER_FIELD.blobSectionSizeBytes;
    const own = s.bytes.readBigUInt64LE(at);
    for (const value of new Set([
      0n,
      0xffffffffn,
      0xffffffffffffffffn,
      2n ** 50n,
      2n ** 50n + 1n,
      2n ** 53n + 1n,
      BigInt(size - 1),
      BigInt(size + 1),
      own + 1n,
      own > 0n ? own - 1n : 1n,
    ])) {
      const m = Buffer.from(s.bytes);
      m.writeBigUInt64LE(value, at);
      problems.push(
        ...(await refusalProblems(
          s,
          m,
          `blobSectionSizeBytes (offset ${at}) set to ${value} (was ${own})`,
          STRUCTURAL,
        )),
      );
    }
    // Moving bytes between two sections keeps the total size right but breaks the layout.
    const moves: [string, string][] = [
      ['targetHeaderSizeBytes', 'manifestSizeBytes'],
      ['manifestSizeBytes', 'metadataSignatureSizeBytes'],
      ['metadataSignatureSizeBytes', 'payloadSignatureSizeBytes'],
    ];
    for (const [a, b] of moves) {
      for (const d of [1, -1, 8]) {
        const m = Buffer.from(s.bytes);
        const ao = HEADER_FIELD[a as keyof typeof HEADER_FIELD];
        const bo = HEADER_FIELD[b as keyof typeof HEADER_FIELD];
        m.writeUInt32LE(m.readUInt32LE(ao) + d, ao);
        m.writeUInt32LE(m.readUInt32LE(bo) - d, bo);
        problems.push(...(await refusalProblems(s, m, `${d} byte(s) moved from ${b} to ${a}`, STRUCTURAL)));
      }
    }
    expect(problems, `seed ${SEED}`).toEqual([]);
  });

  it('refuses other header damage: magic, version, flags, reserved (unknown major version: exit 4 PKG_UNSUPPORTED_VERSION)', async () => {
    const s = subject();
    const problems: string[] = [];
    const edit = (f: (b: Buffer) => void): Buffer => {
      const m = Buffer.from(s.bytes);
      f(m);
      return m;
    };
    problems.push(
      ...(await refusalProblems(
        s,
        edit((b) => b.write('PK\x03\x04\x00\x00', 0, 'latin1')),
        'zip magic',
        STRUCTURAL,
      )),
    );
    problems.push(
      ...(await refusalProblems(
        s,
        edit((b) => b.write('otapkg', 0, 'latin1')),
        'lower-case magic',
        STRUCTURAL,
      )),
    );
    for (const major of [0, 2, 255]) {
      problems.push(
        ...(await refusalProblems(
          s,
          edit((b) => b.writeUInt8(major, 6)),
          `format major ${major}`,
          UNSUPPORTED_VERSION,
          'PKG_UNSUPPORTED_VERSION',
        )),
      );
    }
    // A newer minor version is accepted by the reader, but the header is signed: exit 6.
    problems.push(
      ...(await refusalProblems(
        s,
        edit((b) => b.writeUInt8(1, 7)),
        'format minor 1 (unsigned change)',
        [6],
      )),
    );
    problems.push(
      ...(await refusalProblems(
        s,
        edit((b) => b.writeUInt32LE(1, 12)),
        'flags = 1',
        [4],
      )),
    );
    problems.push(
      ...(await refusalProblems(
        s,
        edit((b) => b.writeUInt8(1, 63)),
        'last reserved byte = 1',
        [4],
      )),
    );
    problems.push(...(await refusalProblems(s, Buffer.alloc(s.bytes.length), 'all zero bytes', STRUCTURAL)));
    problems.push(...(await refusalProblems(s, Buffer.alloc(s.bytes.length, 0xff), 'all 0xff bytes', STRUCTURAL)));
    expect(problems, `seed ${SEED}`).toEqual([]);
  });

  it('refuses swapped metadata and payload signature blocks (exit 6)', async () => {
    const s = subject();
    const meta = sectionNamed(s.bytes, 'metadataSignature');
    const pay = sectionNamed(s.bytes, 'payloadSignature');
    expect(meta.sizeBytes).toBe(pay.sizeBytes);
    const m = Buffer.from(s.bytes);
    s.bytes.copy(m, meta.offsetBytes, pay.offsetBytes, pay.offsetBytes + pay.sizeBytes);
    s.bytes.copy(m, pay.offsetBytes, meta.offsetBytes, meta.offsetBytes + meta.sizeBytes);
    const problems = await refusalProblems(s, m, 'swapped signature blocks', [6]);
    // The same signature in both blocks is refused too.
    const same = Buffer.from(s.bytes);
    s.bytes.copy(same, pay.offsetBytes, meta.offsetBytes, meta.offsetBytes + meta.sizeBytes);
    problems.push(...(await refusalProblems(s, same, 'metadata signature copied over the payload signature', [6])));
    expect(problems, `seed ${SEED}`).toEqual([]);
  });

  it('refuses blocks of another package of the same target (mix and match)', async () => {
    const s = subject();
    const other = subjects[which === 'delta' ? 'full' : 'delta'];
    const problems: string[] = [];
    // The other package's payload signature block grafted onto this one.
    const ps = sectionNamed(s.bytes, 'payloadSignature');
    const po = sectionNamed(other.bytes, 'payloadSignature');
    const grafted = Buffer.concat([s.bytes.subarray(0, ps.offsetBytes), other.bytes.subarray(po.offsetBytes)]);
    problems.push(...(await refusalProblems(s, grafted, 'payload signature from the other package', [6])));
    // This package's metadata with the other package's blob section and payload signature.
    const mo = sectionNamed(other.bytes, 'blobs');
    const mixed = Buffer.concat([
      s.bytes.subarray(0, sectionNamed(s.bytes, 'blobs').offsetBytes),
      other.bytes.subarray(mo.offsetBytes),
    ]);
    problems.push(...(await refusalProblems(s, mixed, 'body from the other package', STRUCTURAL)));
    expect(problems, `seed ${SEED}`).toEqual([]);
  });
});

describe('re-signed packages with damaged content (signatures valid, content not)', () => {
  // The signer is trusted here, so this is about crashes, not security: whatever the signed bytes
  // say, the reader must end in a typed error (or, for a harmless change, a correct result).
  it.each([['targetHeader'], ['manifest'], ['blobs']] as const)(
    'never crashes on a re-signed flip in the %s',
    async (name) => {
      const problems: string[] = [];
      // The full-zip package is written as 1.4 only because of its sourceless DIFF ops, the
      // repeat package as 1.6 only because an op reads back target blocks.
      expect(fullZip.bytes[HEADER_FIELD.formatMinor]).toBe(4);
      expect(repeat.bytes[HEADER_FIELD.formatMinor]).toBe(6);
      for (const which of ['delta', 'full', 'full-zip', 'repeat'] as const) {
        const s = which === 'full-zip' ? fullZip : which === 'repeat' ? repeat : subjects[which];
        const rng = seededRng(
          SEED ^
            0xe5 ^
            SECTION_NAMES.indexOf(name) ^
            { delta: 0, full: 0x100000, 'full-zip': 0x200000, repeat: 0x300000 }[which],
        );
        const sec = sectionNamed(s.bytes, name);
        for (const pos of positionsIn(sec.offsetBytes, sec.sizeBytes, rng, 16)) {
          const m = resign(flipped(s.bytes, pos, rng).bytes, s.privateKeyPem);
          const tag = `[seed ${SEED}] ${which} re-signed flip at ${pos} in ${name}`;
          const packagePath = join(mutDir, `resigned-${mutationSerial++}.otapkg`);
          writeFileSync(packagePath, m);
          mutationCount++;
          const verified = await outcome(() => verifyPackage({ packagePath, pubkeyPath: s.pubkeyPath }));
          if (!verified.ok) problems.push(...errorProblems(`${tag}: verify`, verified.error, [4, 5, 7]));
          const outputPath = join(applyDir, 'new.img');
          const applied = await outcome(() =>
            applyPackage({ packagePath, oldPath: s.oldPath, outputPath, pubkeyPath: s.pubkeyPath }),
          );
          if (applied.ok) {
            // Only a harmless change may pass, and then the output must be exactly the new image.
            const out = readFileSync(outputPath);
            if (sha256Hex(out) !== (s.targetSha256 ?? targetSha256))
              problems.push(
                `${tag}: apply succeeded but wrote sha256 ${sha256Hex(out).slice(0, 16)}…, not the new image`,
              );
            rmSync(outputPath);
          } else {
            problems.push(...errorProblems(`${tag}: apply`, applied.error, [4, 5, 7]));
          }
          // verify without --old checks structure, signatures and blob hashes only; with --old it
          // does a trial apply, so its verdict must match the real apply's.
          const trial = await outcome(() =>
            verifyPackage({ packagePath, pubkeyPath: s.pubkeyPath, oldPath: s.oldPath ?? oldImagePath }),
          );
          if (trial.ok !== applied.ok) {
            problems.push(
              `${tag}: verify --old ${trial.ok ? 'passed' : `failed (${describeError((trial as { error: unknown }).error)})`} but apply ${applied.ok ? 'passed' : `failed (${describeError((applied as { error: unknown }).error)})`}`,
            );
          }
          if (!trial.ok) problems.push(...errorProblems(`${tag}: verify --old`, trial.error, [4, 5, 7]));
          if (verified.ok === false && trial.ok) problems.push(`${tag}: verify failed but verify --old passed`);
          let left = filesIn(applyDir);
          if (left.length > 0) {
            problems.push(`${tag}: apply left ${JSON.stringify(left)}`);
            for (const f of left) rmSync(join(applyDir, f), { force: true });
          }
          // The same package written as an Android sparse output: same verdict, same cleanup.
          const sparse = await outcome(async () => {
            const r = await applyPackage({
              packagePath,
              oldPath: s.oldPath,
              outputPath,
              pubkeyPath: s.pubkeyPath,
              outputFormat: 'sparse',
            } as Parameters<typeof applyPackage>[0]);
            if (r.kind !== 'image' || r.sha256 !== (s.targetSha256 ?? targetSha256))
              throw new Error(`sparse apply succeeded with ${JSON.stringify(r)}`);
          });
          if (sparse.ok !== applied.ok)
            problems.push(
              `${tag}: sparse apply ${sparse.ok ? 'passed' : `failed (${describeError((sparse as { error: unknown }).error)})`} but raw apply ${applied.ok ? 'passed' : 'failed'}`,
            );
          else if (!sparse.ok) problems.push(...errorProblems(`${tag}: sparse apply`, sparse.error, [4, 5, 7]));
          if (sparse.ok) rmSync(outputPath);
          left = filesIn(applyDir);
          if (left.length > 0) {
            problems.push(`${tag}: sparse apply left ${JSON.stringify(left)}`);
            for (const f of left) rmSync(join(applyDir, f), { force: true });
          }
          rmSync(packagePath);
        }
      }
      expect(problems, `seed ${SEED}: ${problems.length} problems`).toEqual([]);
    },
  );
});

describe('inspect of damaged packages', () => {
  // inspect without --pubkey decodes packages signed by an unknown key WITHOUT verifying them, so
  // it parses attacker-controlled bytes: it must still end in a typed error, never a crash.
  it('never crashes on unverified damaged metadata (delta signed by a non-test key, no --pubkey)', async () => {
    const s = subjects.delta;
    const rng = seededRng(SEED ^ 0x1a5);
    const problems: string[] = [];
    for (const name of ['header', 'targetHeader', 'manifest', 'metadataSignature'] as const) {
      const sec = sectionNamed(s.bytes, name);
      for (const pos of positionsIn(sec.offsetBytes, sec.sizeBytes, rng, name === 'manifest' ? 30 : 8)) {
        const m = flipped(s.bytes, pos, rng);
        const packagePath = join(mutDir, `inspect-${mutationSerial++}.otapkg`);
        writeFileSync(packagePath, m.bytes);
        const r = await outcome(async () => {
          const report = await inspectPackage({ packagePath });
          // Some flips (e.g. in a version string) still decode; they must be reported unverified.
          if (report.metadataVerified) throw new Error('a damaged package was reported as verified');
        });
        if (!r.ok)
          problems.push(
            ...errorProblems(
              `[seed ${SEED}] inspect, flip ${name} at ${pos} (xor 0x${m.xor.toString(16)})`,
              r.error,
              [4, 5, 6, 7],
            ),
          );
        rmSync(packagePath);
      }
    }
    expect(problems, `seed ${SEED}: ${problems.length} problems`).toEqual([]);
  });

  it('with --pubkey, inspect refuses every damaged metadata byte with a typed error', async () => {
    const s = subjects.delta;
    const rng = seededRng(SEED ^ 0x1a6);
    const problems: string[] = [];
    for (const name of ['targetHeader', 'manifest', 'metadataSignature'] as const) {
      const sec = sectionNamed(s.bytes, name);
      for (const pos of positionsIn(sec.offsetBytes, sec.sizeBytes, rng, 6)) {
        const m = flipped(s.bytes, pos, rng);
        const packagePath = join(mutDir, `inspect-k-${mutationSerial++}.otapkg`);
        writeFileSync(packagePath, m.bytes);
        const r = await outcome(() => inspectPackage({ packagePath, pubkeyPath: s.pubkeyPath }));
        if (r.ok) problems.push(`[seed ${SEED}] inspect --pubkey accepted a flip in ${name} at ${pos}`);
        else
          problems.push(
            ...errorProblems(`[seed ${SEED}] inspect --pubkey, flip ${name} at ${pos}`, r.error, [4, 6, 7]),
          );
        rmSync(packagePath);
      }
    }
    expect(problems, `seed ${SEED}`).toEqual([]);
  });
});

describe('the real CLI on damaged packages', () => {
  /** A damaged package, with what the library says about it. */
  interface Case {
    readonly label: string;
    readonly subject: Subject;
    readonly bytes: Buffer;
  }

  function cases(): Case[] {
    const rng = seededRng(SEED ^ 0xc11);
    const out: Case[] = [];
    for (const which of ['delta', 'full'] as const) {
      const s = subjects[which];
      for (const sec of sectionsOf(s.bytes)) {
        const pos = sec.offsetBytes + rng.int(0, sec.sizeBytes - 1);
        out.push({
          label: `${which}: flip ${sec.name} at ${pos}`,
          subject: s,
          bytes: flipped(s.bytes, pos, rng).bytes,
        });
      }
      const cut = rng.int(1, s.bytes.length - 1);
      out.push({ label: `${which}: truncated to ${cut}`, subject: s, bytes: s.bytes.subarray(0, cut) });
      out.push({ label: `${which}: 1 trailing byte`, subject: s, bytes: Buffer.concat([s.bytes, Buffer.of(0)]) });
      const major = Buffer.from(s.bytes);
      major[6] = 2;
      out.push({ label: `${which}: format major 2`, subject: s, bytes: major });
    }
    return out;
  }

  it("verify and apply exit with the library's exit code, one stderr line, and {error:{code,message}} with --json", async () => {
    // The package is checked with the test key passed explicitly; that still warns TEST_KEY (a
    // public key is no release key), so the one warning line is set aside before counting.
    const testPub = join(TEST_KEYS, 'ed25519.pub.pem');
    const problems: string[] = [];
    let runs = 0;
    for (const c of cases()) {
      const tag = `[seed ${SEED}] ${c.label}`;
      const pubkey = c.subject.pubkeyPath ?? testPub;
      const packagePath = join(mutDir, `cli-${mutationSerial++}.otapkg`);
      writeFileSync(packagePath, c.bytes);
      const lib = await outcome(() => verifyPackage({ packagePath, pubkeyPath: pubkey }));
      if (lib.ok || !(lib.error instanceof OtaError)) {
        problems.push(
          `${tag}: library verify did not refuse with an OtaError (${lib.ok ? 'ok' : describeError(lib.error)})`,
        );
        continue;
      }
      const expected = lib.error;
      const commands: string[][] = [
        ['verify', packagePath, '--pubkey', pubkey],
        [
          'apply',
          packagePath,
          '--pubkey',
          pubkey,
          '-o',
          join(applyDir, 'new.img'),
          ...(c.subject.oldPath ? ['--old', c.subject.oldPath] : []),
        ],
      ];
      for (const argv of commands) {
        const plain = runCli(argv);
        runs++;
        if (![4, 5, 6].includes(plain.status ?? -1)) problems.push(`${tag}: ${describeRun(plain)}: exit not 4/5/6`);
        if (argv[0] === 'verify' && plain.status !== expected.exitCode)
          problems.push(`${tag}: CLI exit ${plain.status} but library exitCode ${expected.exitCode}`);
        const lines = plain.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning [TEST_KEY]'));
        if (lines.length !== 1 || !lines[0]!.startsWith('ota-build: error ['))
          problems.push(`${tag}: stderr is not one "ota-build: error [" line: ${describeRun(plain)}`);
        if (argv[0] === 'verify' && lines[0] !== `ota-build: error [${expected.code}]: ${expected.message}`)
          problems.push(
            `${tag}: stderr ${JSON.stringify(lines[0])} differs from the library error ${expected.code}: ${expected.message}`,
          );
        if (plain.stdout !== '') problems.push(`${tag}: stdout not empty on error: ${JSON.stringify(plain.stdout)}`);
        const json = runCli([...argv, '--json']);
        runs++;
        if (json.status !== plain.status)
          problems.push(`${tag}: --json exit ${json.status} differs from ${plain.status}`);
        try {
          const parsed = JSON.parse(json.stdout);
          const keys = Object.keys(parsed.error ?? {})
            .sort()
            .join(',');
          if (
            keys !== 'code,message' ||
            typeof parsed.error.code !== 'string' ||
            typeof parsed.error.message !== 'string' ||
            parsed.error.message.includes('\n')
          ) {
            problems.push(`${tag}: --json stdout is not {error:{code,message}}: ${json.stdout}`);
          }
          if (argv[0] === 'verify' && parsed.error?.code !== expected.code)
            problems.push(`${tag}: --json code ${parsed.error?.code}, library ${expected.code}`);
        } catch {
          problems.push(`${tag}: --json stdout does not parse: ${describeRun(json)}`);
        }
        const left = filesIn(applyDir);
        if (left.length > 0) {
          problems.push(`${tag}: CLI apply left ${JSON.stringify(left)}`);
          for (const f of left) rmSync(join(applyDir, f), { force: true });
        }
      }
      rmSync(packagePath);
    }
    expect(runs).toBeGreaterThanOrEqual(24);
    expect(problems, `seed ${SEED}: ${problems.length} problems`).toEqual([]);
  });

  it('counted at least 150 damaged packages in this file', () => {
    expect(mutationCount, `seed ${SEED}`).toBeGreaterThanOrEqual(150);
  });
});
