// End-to-end runs of the real bin: `compare --json` (one entry per combination, the documented
// fields), `--csv`, `--html`, the terminal table, progress only on request, exit codes of bad
// options, and `inspect --html`.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliesWithoutOld, DEFAULT_COMPARE_DIFFERS } from '../../src/compare/compare-combinations.js';
import { CSV_FIELDS } from '../../src/report/compare-csv.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { suiteSeed } from '../helpers/seeded-random.js';

const BIN = fileURLToPath(new URL('../../bin/ota-build.js', import.meta.url));
const SEED = suiteSeed(0xc11c0);
const RELEASES = fileURLToPath(new URL('../../sample-images/releases', import.meta.url));

const ANSI = /\x1b\[/;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  argv: string;
}

/** Runs the real CLI without a TTY, with SOURCE_DATE_EPOCH set and no colour/columns from the caller. */
function cli(args: string[], env: Record<string, string> = {}): Run {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !['FORCE_COLOR', 'NO_COLOR', 'COLUMNS'].includes(k)),
  ) as Record<string, string>;
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...base, SOURCE_DATE_EPOCH: '1700000000', ...env },
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, argv: `ota-build ${args.join(' ')}` };
}
const show = (r: Run) => `${r.argv} → ${r.status}\nstderr: ${r.stderr}\nstdout: ${r.stdout.slice(0, 2000)}`;

const ENTRY_FIELDS = [
  'combination',
  'kind',
  'codec',
  'level',
  'differ',
  'candidates',
  'applicable',
  'packageBytes',
  'percentOfNew',
  'percentOfBestFull',
  'bestFullBytes',
  'buildMs',
  'applyMs',
  'decoderMemoryBytes',
  'allowed',
  'reason',
];

let work: string;
let oldPath: string;
let newPath: string;
let json: Run;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ota-compare-cli-'));
  const old = syntheticImage(512 * 1024, SEED);
  oldPath = join(work, 'old.img');
  newPath = join(work, 'new.img');
  writeFileSync(oldPath, old);
  writeFileSync(
    newPath,
    applyEdits(
      old,
      [
        { kind: 'random', at: 100_000, length: 3000 },
        { kind: 'insert', at: 300_000, length: 500 },
      ],
      SEED,
    ),
  );
  json = cli([
    'compare',
    '--old',
    oldPath,
    '--new',
    newPath,
    '--codecs',
    'gzip,zstd',
    '--levels',
    'gzip=6;zstd=3',
    '--differs',
    'zstd-dict',
    '--jobs',
    '2',
    '--json',
    '--csv',
    join(work, 'r.csv'),
    '--html',
    join(work, 'r.html'),
  ]);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('compare', () => {
  it('--json prints an array with one entry per combination and the documented fields', () => {
    expect(json.status, show(json)).toBe(0);
    const entries = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(entries.map((e) => e.combination)).toEqual([
      'gzip-6',
      'zstd-3',
      expect.stringMatching(/^zstd-dict\+(gzip-6|zstd-3)$/),
      'auto',
    ]);
    for (const e of entries) {
      expect(Object.keys(e).sort()).toEqual([...ENTRY_FIELDS].sort());
      expect(e).toMatchObject({ applicable: true, allowed: true, reason: null });
      for (const f of [
        'packageBytes',
        'percentOfNew',
        'percentOfBestFull',
        'bestFullBytes',
        'buildMs',
        'applyMs',
        'decoderMemoryBytes',
      ])
        expect(typeof e[f], `${e.combination}.${f}`).toBe('number');
    }
    // Percentages to 4 decimals (the bytes beside them are exact).
    for (const m of json.stdout.matchAll(/"percentOf(New|BestFull)": ([0-9.]+)/g))
      expect(m[2]).toMatch(/^\d+(\.\d{1,4})?$/);
    expect(json.stdout).toMatch(/"percentOfNew": /);
    expect(json.stderr).toBe('');
  });

  it('--csv writes the same entries as CSV; --html writes one self-contained page with four charts', () => {
    const entries = JSON.parse(json.stdout) as Record<string, unknown>[];
    const lines = readFileSync(join(work, 'r.csv'), 'utf8')
      .split('\r\n')
      .filter((l) => l !== '');
    expect(lines[0]).toBe(CSV_FIELDS.join(','));
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(entries.map((e) => e.combination));
    expect(lines[1]!.split(',')[7]).toBe(String(entries[0]!.packageBytes));
    expect(lines[1]!.split(',')[8]).toBe(String(entries[0]!.percentOfNew));
    const html = readFileSync(join(work, 'r.html'), 'utf8');
    expect(html.match(/<svg [^>]*data-chart="/g)).toHaveLength(4);
    expect(html).not.toMatch(/<script|<link |src="http|href="http|@import/);
  });

  it('prints a table that fits 100 columns, without colour or progress when not on a terminal', () => {
    const r = cli([
      'compare',
      '--new',
      newPath,
      '--target',
      'unisoc',
      '--codecs',
      'gzip,brotli',
      '--levels',
      'gzip=6;brotli=5',
      '--differs',
      'bsdiff',
      '--jobs',
      '1',
    ]);
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(ANSI);
    const lines = r.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(lines[0]).toMatch(/^combination\s+allowed\s+size/);
    expect(r.stdout).toMatch(/^gzip-6\s+yes\s/m);
    expect(r.stdout).toMatch(/^brotli-5\s+NO \[1\]/m);
    expect(r.stdout).toMatch(/^bsdiff\s+n\/a \[2\]/m);
    expect(r.stdout).toMatch(/^\[1\] unisoc does not allow codec brotli/m);
    expect(r.stdout).toMatch(/full packages for unisoc; best full package .* \((gzip-6|auto)\)/);
  });

  it('--progress shows plain progress lines on stderr', () => {
    const r = cli([
      'compare',
      '--new',
      newPath,
      '--codecs',
      'zstd',
      '--levels',
      'zstd=1',
      '--differs',
      'none',
      '--progress',
      '--jobs',
      '1',
    ]);
    expect(r.status, show(r)).toBe(0);
    expect(r.stderr).toMatch(/^compare \d+%/m);
  });

  it.each([
    [['--levels', 'xz=9e'], 2, 'BAD_LEVELS', /extreme/],
    [['--levels', 'zstd=99'], 2, 'BAD_LEVELS', /outside 1\.\.22/],
    [['--codecs', 'lz4'], 2, 'BAD_CODEC', /lz4/],
    [['--differs', 'xdelta'], 2, 'BAD_DIFFER', /xdelta/],
    [['--target', 'qualcomm,mtk'], 2, 'BAD_OPTION', /one target/],
    [['--target', 'nokia'], 2, 'UNKNOWN_TARGET', /nokia/],
    [['--jobs', '0'], 2, 'BAD_OPTION', /--jobs/],
    [['--new', '/nonexistent/new.img'], 8, 'IO_ENOENT', /nonexistent/],
    // A release's layout file was measured as an image of its own text; its folder was IMAGE_NOT_FILE.
    [
      ['--new', `${RELEASES}/mediatek/v2/MT6789_Android_scatter.txt`],
      2,
      'COMPARE_RELEASE',
      /scatter\.txt is a mediatek-scatter release/,
    ],
    [
      ['--old', `${RELEASES}/qualcomm/v1`],
      2,
      'COMPARE_RELEASE',
      /--old .*qualcomm\/v1 is a qualcomm-rawprogram release/,
    ],
    [
      ['--new', `${RELEASES}/unisoc/v1/UMS9230_4h10_v1.pac`],
      2,
      'COMPARE_RELEASE',
      /unisoc-pac release.*images it holds, extracted/,
    ],
  ])('%j exits %i (%s)', (extra, status, code, message) => {
    // A case that gives its own --new replaces the default one (a repeated --new is REPEATED_OPTION).
    const args = ['compare', ...(extra.includes('--new') ? [] : ['--new', newPath]), ...extra];
    const text = cli(args);
    expect(text.status, show(text)).toBe(status);
    expect(text.stdout).toBe('');
    expect(text.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^ota-build: error \\[${code}\\]: `)),
    ]);
    expect(text.stderr).toMatch(message);
    const asJson = cli([...args, '--json']);
    expect(asJson.status).toBe(status);
    expect(JSON.parse(asJson.stdout)).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });

  it('a missing --new is a usage error; report destinations that cannot be written are refused before the run, and neither report is written', () => {
    expect(cli(['compare', '--old', oldPath]).status).toBe(2);
    const small = ['compare', '--new', newPath, '--codecs', 'none', '--differs', 'none', '--jobs', '1'];
    const csv = join(work, 'kept-out.csv');
    const cases: [string[], number, RegExp][] = [
      [['--csv', csv, '--html', join(work, 'no-such-dir', 'r.html')], 8, /IO_ENOENT.*no-such-dir/],
      [['--csv', csv, '--html', `${work}/./kept-out.csv`], 2, /BAD_OPTION.*--csv and --html both name/],
      [['--csv', work], 2, /OUTPUT_NOT_FILE.*--csv .* is a folder/],
      [['--csv', '-'], 2, /BAD_OPTION.*--csv - : give a file name \(standard output carries the table, or --json\)/],
      [['--csv', join(oldPath, 'r.csv')], 8, /IO_ENOTDIR/],
    ];
    for (const [extra, status, message] of cases) {
      const r = cli([...small, ...extra]);
      expect(r.status, show(r)).toBe(status);
      expect(r.stderr).toMatch(message);
      // Refused before any combination was built: no table, no progress, no "wrote".
      expect(r.stdout, show(r)).toBe('');
      expect(existsSync(csv), show(r)).toBe(false);
    }
  });

  it('names a report path with a newline escaped on its "wrote" line', () => {
    const csv = join(work, 'two\nlines.csv');
    const r = cli(['compare', '--new', newPath, '--codecs', 'none', '--differs', 'none', '--jobs', '1', '--csv', csv]);
    expect(r.status, show(r)).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(work, 'two')}\\x0alines.csv`);
    expect(existsSync(csv)).toBe(true);
  });

  it('--help lists the options and examples', () => {
    const r = cli(['compare', '--help']);
    expect(r.status).toBe(0);
    for (const o of [
      '--new',
      '--old',
      '--codecs',
      '--levels',
      '--differs',
      '--target',
      '--jobs',
      '--json',
      '--csv',
      '--html',
      '--progress',
    ])
      expect(r.stdout).toContain(o);
    // The help's defaults are the library's (kept as text: the CLI does not load the differs to start).
    const help = r.stdout.replace(/\s+/g, ' ');
    expect(help).toContain(`(default: all = ${DEFAULT_COMPARE_DIFFERS.join(',')})`);
    const withoutOld = DEFAULT_COMPARE_DIFFERS.filter(appliesWithoutOld);
    expect(withoutOld.length).toBe(1);
    expect(help).toContain(`then only ${withoutOld[0]}, needing no source, diffs`);
  });
});

describe('inspect --html', () => {
  it('writes the block map and summary of an existing package; --json output is unchanged', () => {
    const out = join(work, 'pkg');
    const b = cli(['build', '--old', oldPath, '--new', newPath, '-o', out, '--target', 'generic', '--jobs', '1']);
    expect(b.status, show(b)).toBe(0);
    const pkg = join(out, 'update-generic.otapkg');
    const page = join(work, 'inspect.html');
    const plain = cli(['inspect', pkg, '--json']);
    const withHtml = cli(['inspect', pkg, '--json', '--html', page]);
    expect(withHtml.status, show(withHtml)).toBe(0);
    expect(JSON.parse(withHtml.stdout)).toEqual(JSON.parse(plain.stdout));
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('data-chart="block-map"');
    expect(html).toMatch(/<td class="text">copy<\/td>/);
    expect(html.match(/data-kind="(unchanged|diffed|replaced|copied|zero)"/g)!.length).toBeGreaterThan(1);
    const text = cli(['inspect', pkg, '--html', join(work, 'inspect2.html')]);
    expect(text.stdout).toContain(`wrote ${join(work, 'inspect2.html')}`);
    expect(existsSync(join(work, 'inspect2.html'))).toBe(true);
    const bad = cli(['inspect', join(work, 'old.img'), '--html', join(work, 'x.html')]);
    expect(bad.status).toBe(4);
    expect(existsSync(join(work, 'x.html'))).toBe(false);
  });
});
