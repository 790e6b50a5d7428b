// The terminal table fits the width it is given, highlights exactly the best values (and only
// when colour is on), and footnotes reasons; the CSV is RFC 4180 with one row per combination.

import { describe, expect, it } from 'vitest';
import { CSV_FIELDS, csvCell, renderCompareCsv } from '../../src/report/compare-csv.js';
import type { CompareEntry, CompareResult } from '../../src/compare/compare-result.js';
import { renderCompareTable, shorten, wrap } from '../../src/report/compare-table.js';

const base: CompareEntry = {
  combination: 'x',
  kind: 'replace',
  codec: 'zstd',
  level: 3,
  differ: null,
  candidates: ['replace/zstd-3'],
  applicable: true,
  packageBytes: 1000,
  percentOfNew: 10,
  percentOfBestFull: 50,
  bestFullBytes: 2000,
  buildMs: 100,
  applyMs: 10,
  decoderMemoryBytes: 4096,
  allowed: true,
  reason: null,
};
const entries: CompareEntry[] = [
  { ...base, combination: 'zstd-3', packageBytes: 1200, buildMs: 40 },
  {
    ...base,
    combination: 'xz-9',
    codec: 'xz',
    level: 9,
    packageBytes: 900,
    buildMs: 900,
    applyMs: 30,
    decoderMemoryBytes: 70_000,
  },
  {
    ...base,
    combination: 'brotli-11',
    codec: 'brotli',
    level: 11,
    packageBytes: 800,
    buildMs: 5000,
    allowed: false,
    reason: 'unisoc does not allow codec brotli (allowed: none, gzip, zstd, xz)',
  },
  {
    ...base,
    combination: 'bsdiff',
    kind: 'diff',
    codec: null,
    level: null,
    differ: 'bsdiff',
    candidates: ['diff/bsdiff'],
    applicable: false,
    packageBytes: null,
    percentOfNew: null,
    percentOfBestFull: null,
    bestFullBytes: null,
    buildMs: null,
    applyMs: null,
    decoderMemoryBytes: null,
    reason: 'not applicable without --old: a full package has no old image to diff against',
  },
  {
    ...base,
    combination: 'a-very-long-combination-label+with-a-fallback-9',
    kind: 'diff',
    differ: 'zstd-dict',
    packageBytes: 950,
    applyMs: 5,
  },
];
const result: CompareResult = {
  kind: 'full',
  target: 'unisoc',
  newImage: { path: 'new.img', format: 'raw', sizeBytes: 10_000, sha256: 'ab'.repeat(32), dontCareBlocks: 0 },
  jobs: 2,
  prepareMs: 12,
  totalMs: 7000,
  bestFull: { combination: 'xz-9', packageBytes: 900 },
  entries,
  blockMap: null,
};

const ANSI = /\x1b\[[0-9;]*m/g;

describe('renderCompareTable', () => {
  it.each([40, 60, 80, 100, 160])('fits %i columns', (width) => {
    const text = renderCompareTable(result, { widthColumns: width, color: true });
    for (const line of text.split('\n')) expect(line.replace(ANSI, '').length, line).toBeLessThanOrEqual(width);
    for (const e of entries) expect(text).toContain(e.combination.slice(0, 6));
  });

  it('a wide terminal shows every column; narrower tables say what they hid', () => {
    const wide = renderCompareTable(result, { widthColumns: 140 });
    expect(wide.split('\n')[0]).toMatch(
      /^combination\s+allowed\s+size\s+% of new\s+% best full\s+build\s+apply\s+decoder mem$/,
    );
    expect(wide).not.toContain('hid ');
    expect(renderCompareTable(result, { widthColumns: 60 })).toMatch(/\(60 columns: hid % of new, apply/);
  });

  it('highlights exactly the best allowed values, only when colour is on', () => {
    expect(renderCompareTable(result, { widthColumns: 140, color: false })).not.toMatch(ANSI);
    const text = renderCompareTable(result, { widthColumns: 140, color: true });
    const bold = [...text.matchAll(/\x1b\[1;32m([^\x1b]*)\x1b\[0m/g)].map((m) => m[1]!.trim());
    // size: xz-9 (900 B; brotli-11 is smaller but not allowed); build: zstd-3 (40 ms); apply: 5 ms; memory: 4.00 KiB ×3.
    expect(bold.sort()).toEqual(['4.00 KiB', '4.00 KiB', '4.00 KiB', '40 ms', '5 ms', '900 B'].sort());
  });

  it('marks forbidden and not-applicable rows and footnotes their reasons', () => {
    const text = renderCompareTable(result, { widthColumns: 200 });
    expect(text).toMatch(/^brotli-11\s+NO \[1\]/m);
    expect(text).toMatch(/^bsdiff\s+n\/a \[2\]\s+-/m);
    expect(text).toContain('[1] unisoc does not allow codec brotli (allowed: none, gzip, zstd, xz)');
    expect(text).toContain('[2] not applicable without --old');
    expect(text).toContain('best full package 900 B (xz-9)');
  });

  it('shortens and wraps text', () => {
    expect(shorten('abcdef', 4)).toBe('abc…');
    expect(shorten('abc', 4)).toBe('abc');
    expect(wrap('one two three four', 9, '  ')).toEqual(['one two', '  three', '  four']);
  });
});

describe('renderCompareCsv', () => {
  it('one header row and one row per combination, CRLF, quoted where needed, null as empty', () => {
    const csv = renderCompareCsv(entries);
    const lines = csv.split('\r\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(entries.length + 1);
    expect(lines[0]).toBe(CSV_FIELDS.join(','));
    expect(lines[1]).toBe('zstd-3,replace,zstd,3,,replace/zstd-3,true,1200,10,50,2000,40,10,4096,true,');
    expect(lines[3]).toContain(',false,"unisoc does not allow codec brotli (allowed: none, gzip, zstd, xz)"');
    expect(lines[4]).toMatch(
      /^bsdiff,diff,,,bsdiff,diff\/bsdiff,false,,,,,,,,true,not applicable without --old: a full package has no old image to diff against$/,
    );
  });

  it('csvCell quotes commas, quotes and newlines', () => {
    expect(csvCell('a"b')).toBe('"a""b"');
    expect(csvCell('a\nb')).toBe('"a\nb"');
    expect(csvCell(['x', 'y'])).toBe('x y');
    expect(csvCell(null)).toBe('');
    expect(csvCell(0)).toBe('0');
  });
});
