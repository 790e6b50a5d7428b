// The `--levels` spec of `compare` (`zstd=3,9,19;xz=1,6,9`) and the default levels it overrides.
// Pure parsing: every mistake is a UsageError (exit 2) naming the part that is wrong.

import { CODEC_NAMES, encoderByName } from '../codecs/encoder-registry.js';
import { UsageError } from '../errors/ota-error.js';

/**
 * Levels compared per codec when `--levels` does not name the codec: a fast, a middle and the
 * strongest useful setting. xz 6..9 give the same dictionary on ≤ 1 MiB chunks, so 6 and 9
 * usually tie; both are kept because they do not on bigger chunks of custom profiles.
 */
export const DEFAULT_COMPARE_LEVELS: Readonly<Record<string, readonly number[]>> = {
  none: [0],
  gzip: [6, 9],
  brotli: [5, 9, 11],
  zstd: [3, 9, 19],
  xz: [1, 6, 9],
};

const bad = (message: string): never => {
  throw new UsageError('BAD_LEVELS', message);
};

/**
 * Parses `codec=level[,level…][;codec=…]` into levels per codec (ascending). Throws UsageError
 * `BAD_LEVELS` on a malformed part, an unknown codec (`BAD_CODEC`), a codec named twice, a level
 * that is not an integer in the codec's range, a repeated level, or xz's `9e` (extreme presets
 * are not implemented by the xz codec).
 */
export function parseLevels(spec: string): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const parts = spec.split(';').map((p) => p.trim());
  if (parts.every((p) => p === ''))
    bad(`--levels ${JSON.stringify(spec)} is empty: expected e.g. "zstd=3,9,19;xz=1,6,9"`);
  for (const [i, part] of parts.entries()) {
    if (part === '') {
      if (i === parts.length - 1) continue; // a trailing ";" is harmless
      bad(`--levels ${JSON.stringify(spec)} has an empty part before ";"`);
    }
    const m = /^([a-z0-9-]+)\s*=\s*(.*)$/i.exec(part);
    if (!m)
      bad(
        `--levels part ${JSON.stringify(part)}: expected <codec>=<level>[,<level>…] (codecs: ${CODEC_NAMES.join(', ')})`,
      );
    const name = m![1]!.toLowerCase();
    const codec = encoderByName(name);
    if (out.has(name)) bad(`--levels names ${name} twice`);
    const levels: number[] = [];
    for (const raw of m![2]!.split(',').map((s) => s.trim())) {
      if (raw === '') bad(`--levels ${name}: empty level in ${JSON.stringify(m![2])}`);
      if (name === 'xz' && /^\d+e$/i.test(raw))
        bad(
          `--levels xz=${raw}: xz extreme presets ("${raw}") are not supported by the xz codec; use levels ${codec.minLevel}..${codec.maxLevel}`,
        );
      if (!/^\d+$/.test(raw)) bad(`--levels ${name}: level ${JSON.stringify(raw)} is not an integer`);
      const level = Number(raw);
      if (level < codec.minLevel || level > codec.maxLevel)
        bad(`--levels ${name}: level ${level} is outside ${codec.minLevel}..${codec.maxLevel}`);
      if (levels.includes(level)) bad(`--levels ${name}: level ${level} is given twice`);
      levels.push(level);
    }
    out.set(
      name,
      levels.sort((a, b) => a - b),
    );
  }
  return out;
}
