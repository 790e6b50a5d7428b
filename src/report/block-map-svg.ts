// blockMapSvg: draws a BlockMap as rows of cells (each cell = `blocksPerCell` target blocks),
// coloured by what the package does there; runs of one kind in a row share one rect and one
// tooltip. Labelled axes (offset within the row, row start) and a legend with totals.

import { BLOCK_KINDS, type BlockKind, type BlockMap, type BlockMapCell } from '../inspect/block-map.js';
import { formatBytes, formatBytesShort } from './format-units.js';
import { axisTitles, escapeXml, legend, num, svgOpen, type Frame } from './svg-chart.js';

/** Colour and legend text of each block kind. */
export const BLOCK_KIND_STYLE: Readonly<Record<BlockKind, { color: string; label: string }>> = {
  unchanged: { color: '#d9d9d9', label: 'unchanged (copy, same offset)' },
  copied: { color: '#6baed6', label: 'copied (moved)' },
  diffed: { color: '#fd8d3c', label: 'diffed' },
  replaced: { color: '#d62728', label: 'replaced' },
  zero: { color: '#fff7bc', label: 'zero' },
  dontCare: { color: '#c7e9c0', label: 'DONT_CARE' },
};

/** How to draw the map. */
export interface BlockMapOptions {
  readonly title: string;
  /** Cells per row; default 64. */
  readonly columns?: number;
  readonly width?: number;
}

/** Renders the map as an `<svg>` string (`data-chart="block-map"`). */
export function blockMapSvg(map: BlockMap, o: BlockMapOptions): string {
  const columns = Math.max(1, o.columns ?? 64);
  const rows = Math.max(1, Math.ceil(map.cells.length / columns));
  const width = o.width ?? 860;
  const left = 96;
  const cellPx = Math.max(2, Math.floor((width - left - 24) / columns));
  // Square cells, shorter when there are many rows (≤ 560 px), taller when there are few (≥ ~200 px).
  const cellH = Math.max(3, Math.min(Math.floor(560 / rows), Math.max(cellPx, Math.floor(200 / rows))));
  const top = 22 + 16 * 2;
  const f: Frame = {
    width,
    height: top + rows * cellH + 56,
    left,
    right: width - left - columns * cellPx,
    top,
    bottom: 56,
  };
  const bytesPerCell = map.blocksPerCell * map.blockSizeBytes;
  const parts = [
    svgOpen(f, 'block-map', o.title),
    `<g class="cells" data-cells="${map.cells.length}" data-blocks-per-cell="${map.blocksPerCell}">`,
  ];
  for (let row = 0; row < rows; row++) {
    const cells = map.cells.slice(row * columns, (row + 1) * columns);
    let start = 0;
    while (start < cells.length) {
      let end = start + 1;
      while (end < cells.length && cells[end]!.kind === cells[start]!.kind) end++;
      parts.push(
        runRect(map, cells.slice(start, end), left + start * cellPx, top + row * cellH, (end - start) * cellPx, cellH),
      );
      start = end;
    }
  }
  parts.push('</g><g class="axis">');
  const rowBytes = columns * bytesPerCell;
  const every = Math.max(1, Math.ceil(rows / 8));
  for (let row = 0; row < rows; row += every) {
    parts.push(
      `<text class="tick" x="${left - 6}" y="${num(top + row * cellH + Math.min(cellH, 10))}" text-anchor="end">${escapeXml(formatBytesShort(row * rowBytes))}</text>`,
    );
  }
  for (const c of [0, columns / 2, columns]) {
    parts.push(
      `<text class="tick" x="${num(left + c * cellPx)}" y="${num(top + rows * cellH + 16)}" text-anchor="middle">${escapeXml(`+${formatBytesShort(c * bytesPerCell)}`)}</text>`,
    );
  }
  parts.push(
    axisTitles(
      f,
      `offset within the row (one cell = ${map.blocksPerCell} block${map.blocksPerCell === 1 ? '' : 's'} = ${formatBytes(bytesPerCell)})`,
      'row start',
    ),
    '</g>',
  );
  const items = BLOCK_KINDS.map((k) => ({
    label: `${BLOCK_KIND_STYLE[k].label}: ${map.totals[k]}`,
    color: BLOCK_KIND_STYLE[k].color,
    marker: (x: number, y: number) =>
      `<rect x="${num(x - 5)}" y="${num(y - 5)}" width="10" height="10" fill="${BLOCK_KIND_STYLE[k].color}" stroke="#888"/>`,
  }));
  parts.push(legend(items, left, 16, width - 10).svg, '</svg>');
  return parts.join('');
}

function runRect(map: BlockMap, cells: readonly BlockMapCell[], x: number, y: number, w: number, h: number): string {
  const kind = cells[0]!.kind;
  const first = cells[0]!.startBlock;
  const last = cells[cells.length - 1]!;
  const blocks = last.startBlock + last.blockCount - first;
  const counts = BLOCK_KINDS.map((k) => [k, cells.reduce((sum, c) => sum + c.counts[k], 0)] as const).filter(
    ([, n]) => n > 0,
  );
  const bs = map.blockSizeBytes;
  const tip =
    `blocks ${first}–${first + blocks - 1} (${formatBytes(first * bs)} – ${formatBytes((first + blocks) * bs)}): mostly ${BLOCK_KIND_STYLE[kind].label}; ` +
    counts.map(([k, n]) => `${k} ${n}`).join(', ');
  return `<rect data-kind="${kind}" data-start-block="${first}" data-block-count="${blocks}" x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${BLOCK_KIND_STYLE[kind].color}"><title>${escapeXml(tip)}</title></rect>`;
}
