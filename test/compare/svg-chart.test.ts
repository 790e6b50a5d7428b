// The SVG helpers behind the HTML reports: escaping, scales and ticks, the Pareto front on a
// hand-made point set, and the data-* structure of the scatter, bar and block-map charts.

import { describe, expect, it } from 'vitest';
import { barChart } from '../../src/report/bar-chart.js';
import { blockMapOf } from '../../src/inspect/block-map.js';
import { blockMapSvg } from '../../src/report/block-map-svg.js';
import { formatBytes, formatBytesShort, formatMs } from '../../src/report/format-units.js';
import { dominates, paretoFront } from '../../src/compare/pareto-front.js';
import { scatterChart, type ScatterPoint } from '../../src/report/scatter-chart.js';
import { autoScale, byteUnit, escapeXml, linearScale, logScale, niceTicks } from '../../src/report/svg-chart.js';

const count = (svg: string, re: RegExp) => (svg.match(re) ?? []).length;

describe('escapeXml', () => {
  it('escapes the five XML specials and nothing else', () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a> ü`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt; ü',
    );
    expect(escapeXml('&amp;')).toBe('&amp;amp;');
  });
});

describe('scales', () => {
  it('niceTicks steps by 1, 2 or 5 × 10^k and covers the range', () => {
    expect(niceTicks(0, 10, 5)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0, 3300, 5)).toEqual([0, 1000, 2000, 3000]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });

  it('linearScale maps the widened domain onto the range (y pixel ranges run downwards)', () => {
    const y = linearScale([120, 930], [400, 20], { zero: true });
    expect(y.domain).toEqual([0, 1000]);
    expect(y(0)).toBe(400);
    expect(y(1000)).toBe(20);
    expect(y(500)).toBe(210);
    expect(y.ticks()).toEqual([0, 200, 400, 600, 800, 1000]);
  });

  it('byte axes tick at round binary units', () => {
    const mib = 1024 ** 2;
    expect(byteUnit([3.2 * mib, 10])).toBe(mib);
    expect(byteUnit([900])).toBe(1);
    const x = linearScale([0.3 * mib, 3.1 * mib], [0, 100], { zero: true, unit: byteUnit([3.1 * mib]) });
    expect(x.ticks()).toEqual([0, 1, 2, 3, 4].map((m) => m * mib));
    expect(x.ticks().map(formatBytesShort)).toEqual(['0', '1 MiB', '2 MiB', '3 MiB', '4 MiB']);
  });

  it('logScale pads the data by 30 %, puts each decade at an equal distance, ticks at 1-2-5', () => {
    const x = logScale([30, 4000], [0, 300]);
    expect(x.domain[0]).toBeCloseTo(30 / 1.3, 9);
    expect(x.domain[1]).toBeCloseTo(4000 * 1.3, 9);
    expect(x(x.domain[0])).toBe(0);
    expect(x(x.domain[1])).toBeCloseTo(300, 9);
    expect(x(5000) - x(500)).toBeCloseTo(x(500) - x(50), 9);
    expect(x(0)).toBe(0); // non-positive values sit at the low end
    expect(x.ticks()).toEqual([50, 100, 200, 500, 1000, 2000, 5000]);
    expect(logScale([1, 1e6], [0, 1]).ticks()).toEqual([1, 10, 100, 1000, 10000, 100000, 1000000]);
  });

  it('autoScale picks log only for widely spread positive values', () => {
    expect(autoScale([50, 9000], [0, 1]).kind).toBe('log');
    expect(autoScale([50, 900], [0, 1]).kind).toBe('linear');
    expect(autoScale([0, 9000], [0, 1]).kind).toBe('linear');
  });

  it('formats units for axes and tables', () => {
    expect(formatMs(85.4)).toBe('85 ms');
    expect(formatMs(1234)).toBe('1.23 s');
    expect(formatMs(61_000)).toBe('61.0 s');
    expect(formatMs(125_000)).toBe('2 min 05 s');
    expect(formatBytes(1536)).toBe('1.50 KiB');
  });
});

describe('paretoFront', () => {
  it('keeps exactly the non-dominated points of a hand-made set, sorted by x', () => {
    const pts = [
      { id: 'a', x: 1, y: 10 },
      { id: 'b', x: 2, y: 5 },
      { id: 'c', x: 3, y: 6 }, // c is dominated by b
      { id: 'd', x: 4, y: 2 },
      { id: 'e', x: 4, y: 3 }, // e is dominated by d (same x, worse y)
      { id: 'f', x: 9, y: 1 },
      { id: 'g', x: 9, y: 1 }, // identical: both stay
      { id: 'h', x: 10, y: 1 }, // dominated by f (same y, worse x)
    ];
    expect(paretoFront(pts).map((p) => p.id)).toEqual(['a', 'b', 'd', 'f', 'g']);
    expect(dominates({ x: 1, y: 1 }, { x: 1, y: 1 })).toBe(false);
    expect(paretoFront([])).toEqual([]);
  });
});

describe('charts', () => {
  const points: ScatterPoint[] = [
    { label: 'zstd-3', x: 50, y: 1000, group: 'zstd', allowed: true, tooltip: 'fast' },
    { label: 'xz-9', x: 900, y: 700, group: 'xz', allowed: true, tooltip: 'small' },
    { label: 'gzip-9', x: 100, y: 1200, group: 'gzip', allowed: true, tooltip: 'dominated' },
    { label: 'brotli-11 <b>&', x: 5000, y: 600, group: 'brotli', allowed: false, tooltip: 'forbidden "here"' },
  ];

  it('scatterChart: one data-point per item, the front among allowed points, labelled axes, escaped text', () => {
    const svg = scatterChart(points, {
      chart: 'scatter-test',
      title: 'T <1>',
      xTitle: 'build time',
      yTitle: 'size',
      xTick: String,
      yTick: String,
      xScale: 'auto',
      pareto: true,
    });
    expect(svg).toMatch(/^<svg [^>]*data-chart="scatter-test"/);
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-label="T &lt;1&gt;"/);
    expect(count(svg, /data-point="/g)).toBe(4);
    expect(count(svg, /data-pareto="true"/g)).toBe(2); // zstd-3 and xz-9; brotli-11 is not allowed
    expect(svg).toContain('data-point="brotli-11 &lt;b&gt;&amp;" data-pareto="false" data-allowed="false"');
    expect(svg).toContain('<title>forbidden &quot;here&quot;</title>');
    expect(svg).toContain('data-pareto-line="true"');
    expect(svg).toMatch(/data-axis="x"[^>]*>build time \(log scale\)</);
    expect(svg).toMatch(/data-axis="y"[^>]*>size</);
    expect(svg).not.toMatch(/<b>/);
  });

  it('barChart: one data-bar per item with its value, the best one outlined', () => {
    const bars = points.map((p, i) => ({
      label: p.label,
      value: p.y,
      group: p.group,
      allowed: p.allowed,
      tooltip: p.tooltip,
      best: i === 1,
    }));
    const svg = barChart(bars, {
      chart: 'bars-test',
      title: 'sizes',
      valueTitle: 'package size',
      categoryTitle: 'combination',
      tick: String,
      bytes: true,
    });
    expect(count(svg, /data-bar="/g)).toBe(4);
    expect(svg).toContain('data-bar="xz-9" data-value="700"');
    expect(count(svg, /stroke="#000" stroke-width="2"/g)).toBe(1);
    expect(svg).toMatch(/data-axis="x"[^>]*>package size</);
    expect(svg).toMatch(/data-axis="y"[^>]*>combination</);
  });

  it('blockMapSvg: runs of one kind merged per row, every block accounted for', () => {
    const map = blockMapOf(
      {
        name: 'system',
        source: undefined,
        target: {
          sizeBytes: 300 * 4096,
          sha256: new Uint8Array(32),
          version: '',
          dontCare: [{ startBlock: 290, blockCount: 10 }],
        },
        operations: [
          { type: 'zero', dst: [{ startBlock: 0, blockCount: 100 }] },
          {
            type: 'replace',
            dst: [{ startBlock: 100, blockCount: 190 }],
            codec: 'zstd',
            blob: { offsetBytes: 0, sizeBytes: 1, sha256: new Uint8Array(32) },
            decoderMemoryBytes: 1,
          },
        ],
      },
      4096,
    );
    const svg = blockMapSvg(map, { title: 'map', columns: 64 });
    expect(svg).toContain('data-chart="block-map"');
    const rects = [...svg.matchAll(/data-kind="(\w+)" data-start-block="(\d+)" data-block-count="(\d+)"/g)].map(
      (m) => [m[1], Number(m[2]), Number(m[3])] as const,
    );
    expect(rects.reduce((sum, [, , n]) => sum + n, 0)).toBe(300);
    expect(rects[0]).toEqual(['zero', 0, 64]);
    expect(new Set(rects.map(([k]) => k))).toEqual(new Set(['zero', 'replaced', 'dontCare']));
    expect(svg).toMatch(/data-axis="x"[^>]*>offset within the row/);
    expect(svg).toMatch(/data-axis="y"[^>]*>row start</);
  });
});
