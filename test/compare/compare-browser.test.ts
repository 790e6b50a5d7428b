// The HTML reports in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens the generated files from disk and must see no console or page errors,
// no network requests, all four charts with labelled axes, one point and one bar per
// combination, and a screenshot that is not blank. Fails (never skips) without Chromium.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCodecs } from '../../src/compare/compare-codecs.js';
import { renderCompareHtml } from '../../src/report/compare-html.js';
import type { CompareResult } from '../../src/compare/compare-result.js';
import { renderInspectHtml } from '../../src/report/inspect-html.js';
import { packageBlockMaps } from '../../src/inspect/package-block-map.js';
import { inspectPackage } from '../../src/inspect/inspect-package.js';
import { buildPackages } from '../../src/pipeline/build-packages.js';
import { applyEdits, syntheticImage } from '../helpers/edit-images.js';
import { suiteSeed } from '../helpers/seeded-random.js';

const CHROMIUM = '/usr/bin/chromium';
const SEED = suiteSeed(0xb10e5);
const BS = 4096;

let work: string;
let browser: Browser;
let result: CompareResult;
let reportPath: string;
let inspectPath: string;

/** Fails the calling test (rather than skipping it) when Chromium is not installed. */
function requireChromium(): void {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install chromium\` (.ci/run does)`);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return; // every test fails in requireChromium()
  work = mkdtempSync(join(tmpdir(), 'ota-compare-browser-'));
  const old = syntheticImage(640 * 1024, SEED);
  const oldPath = join(work, 'old.img');
  const newPath = join(work, 'new & <new>.img'); // the name ends up in the page: it must be escaped
  writeFileSync(oldPath, old);
  writeFileSync(
    newPath,
    applyEdits(
      old,
      [
        { kind: 'move', from: 120 * BS, to: 10 * BS, length: 8 * BS },
        { kind: 'random', at: 200_000, length: 20_000 },
        { kind: 'zero', at: 400_000, length: 50_000 },
      ],
      SEED,
    ),
  );
  result = await compareCodecs({
    oldPath,
    newPath,
    target: 'unisoc',
    codecs: 'none,gzip,brotli,zstd',
    levels: 'gzip=6;brotli=5;zstd=3,19',
    jobs: 2,
  });
  reportPath = join(work, 'report.html');
  writeFileSync(reportPath, renderCompareHtml(result));
  const built = await buildPackages({
    oldPath,
    newPath,
    outDir: join(work, 'pkg'),
    targets: 'generic',
    timestampSeconds: 0,
    jobs: 1,
  });
  const pkg = built.packages[0]!.path;
  inspectPath = join(work, 'inspect.html');
  writeFileSync(
    inspectPath,
    renderInspectHtml(await inspectPackage({ packagePath: pkg }), await packageBlockMaps({ packagePath: pkg })),
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Opens a file and records console errors, page errors and every request. */
async function open(path: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  requireChromium();
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(pathToFileURL(path).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

/** Axis titles and box size of every chart on the page. */
function charts(page: Page) {
  return page.$$eval('svg[data-chart]', (svgs) =>
    svgs.map((svg) => {
      const box = svg.getBoundingClientRect();
      const axis = (a: string) => {
        // (The project compiles without the DOM lib: this runs in the page, typed by what it uses.)
        const el = svg.querySelector(`[data-axis="${a}"]`) as unknown as {
          textContent: string | null;
          getBBox(): { width: number; height: number };
        } | null;
        const b = el?.getBBox();
        return { text: el?.textContent?.trim() ?? '', visible: Boolean(b && b.width > 0 && b.height > 0) };
      };
      return {
        chart: svg.getAttribute('data-chart'),
        width: box.width,
        height: box.height,
        label: svg.getAttribute('aria-label'),
        x: axis('x'),
        y: axis('y'),
      };
    }),
  );
}

/** Distinct colours in a PNG, decoded by the browser in a blank page (no CSP there). */
async function distinctColours(png: Buffer): Promise<number> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(async (b64) => {
      // Runs in the page; the project compiles without the DOM lib, hence the loose typing.
      const { Image, document } = globalThis as unknown as { Image: new () => any; document: any };
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const data = ctx.getImageData(0, 0, img.width, img.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      return seen.size;
    }, png.toString('base64'));
  } finally {
    await page.close();
  }
}

describe('compare --html in Chromium', () => {
  it('renders all four charts with labelled axes, one point and one bar per combination, and no errors or requests', async () => {
    const { page, errors, requests } = await open(reportPath);
    const ran = result.entries.filter((e) => e.applicable).length;
    expect(ran).toBe(result.entries.length); // delta: every combination ran
    const found = await charts(page);
    expect(found.map((c) => c.chart)).toEqual([
      'scatter-size-build',
      'bars-size',
      'scatter-decode-memory',
      'block-map',
    ]);
    for (const c of found) {
      expect(c.width, c.chart!).toBeGreaterThan(300);
      expect(c.height, c.chart!).toBeGreaterThan(200);
      expect(c.label, c.chart!).toBeTruthy();
      expect(c.x.text.length, `${c.chart} x axis`).toBeGreaterThan(3);
      expect(c.y.text.length, `${c.chart} y axis`).toBeGreaterThan(3);
      expect(c.x.visible && c.y.visible, `${c.chart} axis titles laid out`).toBe(true);
    }
    for (const chart of ['scatter-size-build', 'scatter-decode-memory']) {
      expect(await page.locator(`svg[data-chart="${chart}"] [data-point]`).count(), chart).toBe(ran);
      expect(
        await page.locator(`svg[data-chart="${chart}"] [data-point][data-pareto="true"]`).count(),
        chart,
      ).toBeGreaterThan(0);
    }
    expect(await page.locator('svg[data-chart="scatter-size-build"] [data-pareto-line]').count()).toBeLessThanOrEqual(
      1,
    );
    expect(await page.locator('svg[data-chart="bars-size"] [data-bar]').count()).toBe(ran);
    expect(await page.locator('[data-point][data-allowed="false"]').count()).toBe(2); // brotli-5 in both scatters (unisoc forbids it)
    // Every point and bar has a tooltip; the block map covers every block.
    const untitled = await page.$$eval(
      '[data-point], [data-bar]',
      (els) => els.filter((e) => !e.querySelector('title')?.textContent).length,
    );
    expect(untitled).toBe(0);
    const blocks = await page.$$eval('svg[data-chart="block-map"] rect[data-kind]', (rects) =>
      rects.reduce((s, r) => s + Number(r.getAttribute('data-block-count')), 0),
    );
    expect(blocks).toBe(result.blockMap!.blockCount);
    expect(await page.title()).toContain('new & <new>.img');
    expect(errors).toEqual([]);
    expect(requests.every((u) => u.startsWith('file:'))).toBe(true);
    await page.close();
  });

  it('takes a screenshot that is not blank', async () => {
    const { page, errors } = await open(reportPath);
    const png = await page.screenshot({ fullPage: true });
    await page.close();
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const width = png.readUInt32BE(16);
    const height = png.readUInt32BE(20);
    expect(width).toBe(1000);
    expect(height).toBeGreaterThan(1500);
    expect(png.length).toBeGreaterThan(50_000);
    expect(await distinctColours(png)).toBeGreaterThan(20);
    expect(errors).toEqual([]);
  });
});

describe('inspect --html in Chromium', () => {
  it('renders the block map with labelled axes and the summary table, without errors', async () => {
    const { page, errors, requests } = await open(inspectPath);
    const found = await charts(page);
    expect(found.map((c) => c.chart)).toEqual(['block-map']);
    expect(found[0]!.x.visible && found[0]!.y.visible).toBe(true);
    expect(await page.locator('table tr').count()).toBeGreaterThan(3);
    expect(await page.locator('rect[data-kind="copied"]').count()).toBeGreaterThan(0);
    const png = await page.screenshot({ fullPage: true });
    expect(await distinctColours(png)).toBeGreaterThan(8);
    expect(errors).toEqual([]);
    expect(requests.every((u) => u.startsWith('file:'))).toBe(true);
    await page.close();
  });
});
