// The error-code table against README's "Exit codes" table (both ways) and against the source
// (no stale codes), FORMAT.md's title against the format version constants, and OtaErrors
// crossing a real worker thread as the same subclass.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ExitCode, allErrorCodes, exitCodeOf } from '../../src/errors/error-codes.js';
import { errorFromWire, toWire, type ErrorWire } from '../../src/errors/error-wire.js';
import {
  ImageError,
  IoError,
  OtaError,
  PackageFormatError,
  SignatureError,
  UnsupportedError,
  UsageError,
  VerificationError,
  ioError,
} from '../../src/errors/ota-error.js';
import { WARNING_CODES } from '../../src/errors/warning-codes.js';
import { FORMAT_MAJOR, FORMAT_MINOR } from '../../src/format/package-header.js';
import { ROOT } from '../helpers/run-cli.js';

/** README's exit-code table: every backticked code in the third column, with its row's exit code. */
function readmeExitCodes(): Map<string, number[]> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('\n## Exit codes\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Exit codes\n') + 5),
  );
  const found = new Map<string, number[]>();
  for (const line of section.split('\n')) {
    const cells = line.split(' | ');
    const exit = /^\| (\d) $/.exec(cells[0] + ' ')?.[1] ?? /^\| (\d)$/.exec(cells[0]!)?.[1];
    if (exit === undefined || cells.length < 3) continue;
    for (const m of cells
      .slice(2)
      .join(' | ')
      .matchAll(/`([A-Z][A-Z0-9_]+)`/g)) {
      found.set(m[1]!, [...(found.get(m[1]!) ?? []), Number(exit)]);
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('README exit-code table', () => {
  const readme = readmeExitCodes();

  it('lists every code of the table once, under its exit code', () => {
    const wrong = allErrorCodes()
      .filter(({ code, exitCode }) => JSON.stringify(readme.get(code)) !== JSON.stringify([exitCode]))
      .map(
        ({ code, exitCode }) => `${code}: table ${exitCode}, README ${JSON.stringify(readme.get(code) ?? 'missing')}`,
      );
    expect(wrong).toEqual([]);
  });

  it('lists no code the table does not have', () => {
    const known = new Set(allErrorCodes().map((c) => c.code as string));
    expect([...readme.keys()].filter((code) => !known.has(code))).toEqual([]);
    expect(readme.size).toBeGreaterThan(100);
  });

  it('names every warning code', () => {
    const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(Object.keys(WARNING_CODES).filter((code) => !text.includes(`\`${code}\``))).toEqual([]);
  });
});

describe('error-code table against the source', () => {
  it('has no code that nothing in src/ raises (IO_<errno> and STRICT_<warning> are made from data)', () => {
    const src = sourceFiles(join(ROOT, 'src'))
      .filter((f) => !/(error|warning)-codes\.ts$/.test(f))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const unused = Object.keys(ERROR_CODES).filter((code) => !code.startsWith('IO_E') && !src.includes(`'${code}'`));
    expect(unused).toEqual([]);
  });

  it('gives each class its exit code, and exitCodeOf refuses unknown codes', () => {
    expect(new UsageError('REPEATED_OPTION', 'x').exitCode).toBe(ExitCode.usage);
    expect(new UsageError('STRICT_TEST_KEY', 'x').exitCode).toBe(ExitCode.usage);
    expect(new PackageFormatError('BLOB_DECODE_FAILED', 'x').exitCode).toBe(ExitCode.badPackage);
    expect(exitCodeOf('NO_SUCH_CODE')).toBeUndefined();
    expect(exitCodeOf('STRICT_RESUMED')).toBeUndefined();
    // @ts-expect-error an unknown code does not typecheck
    expect(new UsageError('NO_SUCH_CODE', 'x').exitCode).toBe(ExitCode.internal);
    // @ts-expect-error a code of another exit code does not typecheck
    void new UsageError('WRONG_BASE', 'x');
  });

  it('ioError keeps listed errnos and maps any other to IO_FAILED', () => {
    const errno = (code: string) => Object.assign(new Error(code), { code });
    expect(ioError('read', '/x', errno('ENOENT')).code).toBe('IO_ENOENT');
    expect(ioError('read', '/x', errno('EWEIRD')).code).toBe('IO_FAILED');
    expect(ioError('read', '/x', errno('EWEIRD')).exitCode).toBe(ExitCode.io);
  });
});

describe('FORMAT.md', () => {
  const format = readFileSync(join(ROOT, 'docs', 'FORMAT.md'), 'utf8');

  it("title names the code's format version, and the changelog's last version is the same", () => {
    const version = `${FORMAT_MAJOR}.${FORMAT_MINOR}`;
    expect(format.split('\n')[0]).toBe(`# ota-build package format, version ${version}`);
    const changelog = format.slice(format.indexOf('## 7. Changelog'));
    const versions = [...changelog.matchAll(/^\| (\d+\.\d+)[ |]/gm)].map((m) => m[1]);
    expect(versions.at(-1)).toBe(version);
  });
});

describe('errors across a worker thread', () => {
  const classes = [
    [UsageError, 'REPEATED_OPTION'],
    [ImageError, 'SPARSE_BAD_CHUNK'],
    [PackageFormatError, 'BLOB_DECODE_FAILED'],
    [VerificationError, 'WRONG_BASE'],
    [SignatureError, 'SIG_WRONG_KEY'],
    [UnsupportedError, 'UNKNOWN_DIFFER'],
    [IoError, 'IO_ENOSPC'],
  ] as const;

  /** Throws `code` (an OtaError made by dist/, or a TypeError) in a real worker; returns what it posted. */
  function thrownInWorker(code: string | undefined): Promise<ErrorWire> {
    const dist = new URL('../../dist/errors/', import.meta.url).href;
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { toWire } = await import(${JSON.stringify(dist + 'error-wire.js')});
        const errors = await import(${JSON.stringify(dist + 'ota-error.js')});
        const { exitCodeOf } = await import(${JSON.stringify(dist + 'error-codes.js')});
        try {
          if (!workerData) throw new TypeError('not an OtaError');
          const name = ['', '', 'UsageError', 'ImageError', 'PackageFormatError', 'VerificationError',
            'SignatureError', 'UnsupportedError', 'IoError'][exitCodeOf(workerData)];
          throw new errors[name](workerData, 'failed in the worker: ' + workerData);
        } catch (err) {
          parentPort.postMessage(toWire(err));
        }
      })();`;
    return new Promise((resolve, reject) => {
      const worker = new Worker(script, { eval: true, workerData: code });
      worker.once('message', (wire: ErrorWire) => void worker.terminate().then(() => resolve(wire)));
      worker.once('error', reject);
    });
  }

  it.each(classes)('%o comes back as the same class, code and exit code', async (ErrorClass, code) => {
    const back = errorFromWire(await thrownInWorker(code));
    expect(back).toBeInstanceOf(ErrorClass);
    expect(back).toBeInstanceOf(OtaError);
    const ota = back as OtaError;
    expect([ota.code, ota.exitCode, ota.message, ota.name]).toEqual([
      code,
      ERROR_CODES[code].exitCode,
      `failed in the worker: ${code}`,
      ErrorClass.name,
    ]);
  });

  it('anything else comes back as a plain Error with its message (an internal error)', async () => {
    const back = errorFromWire(await thrownInWorker(undefined));
    expect(back).not.toBeInstanceOf(OtaError);
    expect(back.message).toBe('not an OtaError');
    expect(errorFromWire(toWire('a string'))).not.toBeInstanceOf(OtaError);
    expect(errorFromWire({ message: 'm', code: 'NO_SUCH_CODE' })).not.toBeInstanceOf(OtaError);
  });
});
