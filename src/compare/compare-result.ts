// Options and results of compareCodecs, and the "best value" rule every renderer shares.

import type { InputSummary } from '../pipeline/build-options.js';
import type { Reporter } from '../reporter.js';
import type { BlockMap } from '../inspect/block-map.js';

/** What to compare. Images are files; packages go to a temp folder that is removed afterwards. */
export interface CompareOptions {
  /** Old image; omit to compare full packages. */
  readonly oldPath?: string;
  readonly newPath: string;
  /** One target id, alias or profile .json path; default `generic`. */
  readonly target?: string;
  /** Comma list of codecs; default all. */
  readonly codecs?: string;
  /** Levels per codec, e.g. `zstd=3,9,19;xz=1,6,9`; other codecs keep DEFAULT_COMPARE_LEVELS. */
  readonly levels?: string;
  /** Comma list of differs or `none`; default `bsdiff-lzma,zstd-dict,bsdiff,bsdf2`. */
  readonly differs?: string;
  /** Encoder worker threads; default: available cores. */
  readonly jobs?: number;
  /** Package timestamp (only changes a few manifest bytes); default 0. */
  readonly timestampSeconds?: number;
  /** Parent of the temp folder; default the OS temp folder. */
  readonly tempDir?: string;
  readonly reporter?: Reporter;
  /** Called with each package (by combination label; `full auto` for the delta baseline) before it is deleted. */
  readonly onPackage?: (combination: string, packagePath: string) => void | Promise<void>;
}

/** One combination's measurements. Numbers are null when the combination was not run (`applicable: false`). */
export interface CompareEntry {
  /** `zstd-19`, `none`, `bsdiff+xz-9` (differ + replace fallback), `auto`. */
  readonly combination: string;
  readonly kind: 'replace' | 'diff' | 'auto';
  /** The replace codec and level (a diff combination's fallback); null for auto. */
  readonly codec: string | null;
  readonly level: number | null;
  readonly differ: string | null;
  /** Candidate labels tried on each changed chunk, e.g. `["replace/xz-9", "diff/bsdiff"]`. */
  readonly candidates: readonly string[];
  /** false for differs without --old: a full package has no source to diff against. */
  readonly applicable: boolean;
  readonly packageBytes: number | null;
  /** 100 × packageBytes / new image size (to 4 decimals in JSON and CSV: entryForOutput). */
  readonly percentOfNew: number | null;
  /** 100 × packageBytes / bestFullBytes (to 4 decimals in JSON and CSV: entryForOutput). */
  readonly percentOfBestFull: number | null;
  /** The best full package's size (see CompareResult.bestFull). */
  readonly bestFullBytes: number | null;
  /** Encode + write + self-check of this package alone (the shared hashing/planning is prepareMs). */
  readonly buildMs: number | null;
  /** The reference applier's wall time on this package (checks, decode/patch, write, hash). */
  readonly applyMs: number | null;
  /** Largest decoder memory an op declares (the manifest's max_decoder_memory_bytes). */
  readonly decoderMemoryBytes: number | null;
  /** Whether the target allows this combination; when not, it was measured with an unrestricted copy of the profile. */
  readonly allowed: boolean;
  /** Why it is not allowed or not applicable; null otherwise. */
  readonly reason: string | null;
}

/** The package every `percentOfBestFull` is relative to. */
export interface BestFull {
  /** `full` mode: the entry with the smallest package; `delta` mode: `full auto`, a separate full run. */
  readonly combination: string;
  readonly packageBytes: number;
}

/** Everything compare measured. */
export interface CompareResult {
  readonly kind: 'delta' | 'full';
  /** The target profile id. */
  readonly target: string;
  readonly newImage: InputSummary;
  readonly oldImage?: InputSummary;
  readonly jobs: number;
  /** Opening, hashing and planning, done once for all combinations. */
  readonly prepareMs: number;
  readonly totalMs: number;
  readonly bestFull: BestFull | null;
  readonly entries: readonly CompareEntry[];
  /** The block map of the `auto` package (null when it was not run). */
  readonly blockMap: BlockMap | null;
}

/** The measured numbers an entry can be best at (smallest wins). */
export const MEASURES = ['packageBytes', 'buildMs', 'applyMs', 'decoderMemoryBytes'] as const;
/** One of MEASURES. */
export type Measure = (typeof MEASURES)[number];

/**
 * The smallest value of each measure among the entries that ran and are allowed (among all
 * that ran when none is allowed). Renderers highlight entries equal to these.
 */
export function bestValues(entries: readonly CompareEntry[]): Record<Measure, number | null> {
  const ran = entries.filter((e) => e.applicable && e.packageBytes !== null);
  const pool = ran.some((e) => e.allowed) ? ran.filter((e) => e.allowed) : ran;
  const out = {} as Record<Measure, number | null>;
  for (const m of MEASURES) {
    const values = pool.map((e) => e[m]).filter((v): v is number => v !== null);
    out[m] = values.length > 0 ? Math.min(...values) : null;
  }
  return out;
}

/**
 * `e` as JSON and CSV print it: percentages to 4 decimals (38.558, not 38.55795860290527; the
 * bytes beside them are exact). The table and the HTML page format the exact values themselves.
 */
export function entryForOutput(e: CompareEntry): CompareEntry {
  const round = (percent: number | null) => (percent === null ? null : Math.round(percent * 1e4) / 1e4);
  return { ...e, percentOfNew: round(e.percentOfNew), percentOfBestFull: round(e.percentOfBestFull) };
}
