// The MediaTek scatter file (`MTxxxx_Android_scatter.txt`, config_version V1.1.x–V2.x) as text:
// a `- general: MTK_PLATFORM_CFG` block whose `info:` list holds platform facts, then one
// `- partition_index: SYSn` block per partition of `key: value` lines. It looks like YAML but is
// written by MediaTek's tools line by line, and only this shape occurs, so a strict line parser
// reads exactly it (a YAML library would accept far more and explain errors in YAML's terms).
// Pure: text in, fields out; mediatek-scatter.ts decides what the fields mean.

import { ImageError } from '../errors/ota-error.js';

/** Largest scatter file accepted (real ones are tens of KiB). */
export const MAX_SCATTER_BYTES = 4 * 1024 * 1024;

/** One block of `key: value` fields with the line it starts on. */
export interface ScatterBlock {
  readonly line: number;
  readonly fields: ReadonlyMap<string, string>;
}

/** A parsed scatter file. */
export interface ScatterFile {
  /** The general block's `info:` fields (config_version, platform, project, storage, block_size…). */
  readonly info: ReadonlyMap<string, string>;
  /** The partition blocks in file order; `partition_index` is one of the fields. */
  readonly partitions: readonly ScatterBlock[];
}

/** Parses scatter text; `what` names the file in errors (RELEASE_BAD_LAYOUT with a line number). */
export function parseScatter(text: string, what: string): ScatterFile {
  const fail = (line: number, detail: string): ImageError =>
    new ImageError('RELEASE_BAD_LAYOUT', `${what} line ${line}: ${detail}`);
  let info: Map<string, string> | undefined;
  const partitions: ScatterBlock[] = [];
  let block: Map<string, string> | undefined;
  let inInfo = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const top = /^- ([A-Za-z_][\w]*):\s*(.*)$/.exec(raw);
    if (top) {
      const [, key, value] = top as unknown as [string, string, string];
      inInfo = false;
      if (key === 'general') {
        if (info) throw fail(lineNo, 'a second "- general:" block');
        if (value.trim() !== 'MTK_PLATFORM_CFG')
          throw fail(lineNo, `general block is "${value.trim()}", expected MTK_PLATFORM_CFG`);
        info = new Map();
        block = undefined;
      } else if (key === 'partition_index') {
        if (!info) throw fail(lineNo, 'partition block before the "- general: MTK_PLATFORM_CFG" block');
        block = new Map([['partition_index', value.trim()]]);
        partitions.push({ line: lineNo, fields: block });
      } else {
        throw fail(lineNo, `unknown block "- ${key}:" (expected "- general:" or "- partition_index:")`);
      }
      continue;
    }
    const item = /^\s+(- )?([A-Za-z_][\w]*):\s*(.*)$/.exec(raw);
    if (!item) throw fail(lineNo, `not a "key: value" line: ${JSON.stringify(trimmed.slice(0, 60))}`);
    const [, dash, key, rawValue] = item as unknown as [string, string | undefined, string, string];
    const value = rawValue.trim();
    if (!info)
      throw fail(
        lineNo,
        'field before the "- general: MTK_PLATFORM_CFG" block; is this a scatter file (config_version V1.1 or later)?',
      );
    if (block === undefined) {
      if (key === 'info' && value === '' && !dash) {
        inInfo = true;
        continue;
      }
      if (!inInfo) throw fail(lineNo, `field ${key} in the general block outside its info: list`);
      setOnce(info, key, value, () => fail(lineNo, `info field ${key} appears twice`));
    } else {
      if (dash) throw fail(lineNo, `list item "- ${key}:" inside partition block ${block.get('partition_index')}`);
      setOnce(block, key, value, () =>
        fail(lineNo, `field ${key} appears twice in partition block ${block!.get('partition_index')}`),
      );
    }
  }
  if (!info)
    throw new ImageError(
      'RELEASE_BAD_LAYOUT',
      `${what}: no "- general: MTK_PLATFORM_CFG" block; not a MediaTek scatter file`,
    );
  if (partitions.length === 0) throw new ImageError('RELEASE_BAD_LAYOUT', `${what}: no "- partition_index:" blocks`);
  return { info, partitions };
}

function setOnce(map: Map<string, string>, key: string, value: string, duplicate: () => ImageError): void {
  if (map.has(key)) throw duplicate();
  map.set(key, value);
}

/** A scatter number: hex `0x…` or decimal, as a safe integer; undefined when malformed or too big. */
export function parseScatterNumber(text: string): number | undefined {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) return undefined;
  const value = BigInt(text);
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** A scatter boolean (`true`/`false`, any case); undefined when it is neither. */
export function parseScatterBoolean(text: string): boolean | undefined {
  const t = text.toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : undefined;
}
