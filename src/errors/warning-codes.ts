// The one table of warning codes the library reports through a Reporter. With --strict the CLI
// turns a warning into a usage error (exit 2) whose code is STRICT_<warning code>.

/** Every warning code, what it means, and whether --strict refuses it. */
export const WARNING_CODES = {
  TEST_KEY: { strict: true, summary: 'signed (or checked) with the public test keys' },
  NO_TIMESTAMP: { strict: true, summary: 'no --timestamp or SOURCE_DATE_EPOCH, or 0: anti-rollback timestamp 0' },
  PARTITIONS_LEFT_OUT: { strict: true, summary: 'partitions the layout marks not upgradable were left out' },
  PARTITIONS_REMOVED: { strict: true, summary: 'partitions of the old release are gone from the new' },
  PARTITION_NEW: { strict: true, summary: 'a partition is new in the new release (full update)' },
  RESUME_RESTART: { strict: true, summary: 'apply --resume could not resume and started over' },
  RESUMED: { strict: false, summary: 'apply --resume continued after re-verifying the partial output' },
  STASH_DIR_KEPT: { strict: false, summary: 'apply --in-place left a stash folder holding files it did not make' },
  OLD_NOT_USED: { strict: false, summary: 'apply: --old given for a full package, which reads no old image' },
  OUTPUT_RAW: {
    strict: false,
    summary: 'apply: the old image is sparse, the new one has no sparse form (not whole blocks): written raw',
  },
  DIFFER_NOT_USED: {
    strict: true,
    summary: 'build: --differ names a differ that needs an old image, and --old is missing',
  },
  DOWNGRADE_ALLOWED: { strict: false, summary: 'apply --allow-downgrade applied a package older than the device' },
  UNVERIFIED: { strict: true, summary: 'inspect: the metadata signature was not checked' },
  ZIP_MEMBERS_CUT: {
    strict: false,
    summary:
      'targets built together cut changed zip members a larger-op target could keep whole (package size, not safety)',
  },
} as const satisfies Record<string, { strict: boolean; summary: string }>;

/** One of the warning codes. */
export type WarningCode = keyof typeof WARNING_CODES;

/** The warning codes --strict refuses. */
export type StrictWarningCode = {
  [K in WarningCode]: (typeof WARNING_CODES)[K]['strict'] extends true ? K : never;
}[WarningCode];

/** The error code --strict raises for a warning. */
export type StrictCode = `STRICT_${StrictWarningCode}`;

/** The STRICT_ error code --strict raises for `code`, or undefined when --strict lets it pass. */
export function strictCodeOf(code: WarningCode): StrictCode | undefined {
  return WARNING_CODES[code].strict ? (`STRICT_${code}` as StrictCode) : undefined;
}

/** The STRICT_ codes of every warning --strict refuses. */
export const STRICT_CODES: readonly StrictCode[] = (Object.keys(WARNING_CODES) as WarningCode[]).flatMap(
  (code) => strictCodeOf(code) ?? [],
);
