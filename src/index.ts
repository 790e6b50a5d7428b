// Public library API of ota-build (re-exports only). Build pipelines import from 'ota-build'.

export { buildPackages } from './pipeline/build-packages.js';
export type {
  BuildOptions,
  BuildResult,
  BuiltPackage,
  InputSummary,
  PartitionSummary,
} from './pipeline/build-options.js';
export { applyPackage } from './apply/apply-package.js';
export type { ApplyOptions } from './apply/apply-options.js';
export type { AppliedPartition, ApplyResult, ImageApplyResult, ReleaseApplyResult } from './apply/apply-result.js';
export { detectRelease, openRelease } from './release/open-release.js';
export type {
  PartitionPlacement,
  ReleaseLayoutKind,
  ReleasePartition,
  ReleaseSource,
} from './release/release-source.js';
export type { BlockSource, SourceRun } from './image/block-source.js';
export type { PartitionLayout, TargetHeader } from './model/target-header.js';
export { verifyPackage } from './verify/verify-package.js';
export type { VerifyOptions, VerifyReport } from './verify/verify-package.js';
export { inspectPackage } from './inspect/inspect-package.js';
export type { InspectOptions, InspectReport, OpStats } from './inspect/inspect-package.js';
export { compareCodecs } from './compare/compare-codecs.js';
export type { CompareOptions, CompareResult, CompareEntry, BestFull } from './compare/compare-result.js';
export { renderCompareHtml } from './compare/compare-html.js';
export { renderCompareCsv } from './compare/compare-csv.js';
export { renderCompareTable } from './compare/compare-table.js';
export { blockMapOf } from './compare/block-map.js';
export type { BlockMap, BlockKind } from './compare/block-map.js';
export { keygen } from './signing/keygen.js';
export type { KeygenResult } from './signing/keygen.js';
export { builtinTargets, resolveTargets, loadTargetFile } from './targets/target-registry.js';
export type { TargetProfile } from './model/target-profile.js';
export { OtaError, ExitCode } from './errors/ota-error.js';
export type { Reporter, Warning, ProgressEvent } from './reporter.js';
export { CollectingReporter } from './reporter.js';
