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
export type {
  AppliedPartition,
  ApplyResult,
  ImageApplyResult,
  InPlaceApplyResult,
  ReleaseApplyResult,
} from './apply/apply-result.js';
export { applyInPlace, type InPlaceApplyOptions } from './apply/apply-in-place.js';
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
export type { VerifyCheck, VerifyCheckId, VerifyOptions, VerifyReport } from './verify/verify-package.js';
export { inspectPackage } from './inspect/inspect-package.js';
export type { InspectOptions, InspectReport, OpStats } from './inspect/inspect-package.js';
export { compareCodecs } from './compare/compare-codecs.js';
export type { CompareOptions, CompareResult, CompareEntry, BestFull } from './compare/compare-result.js';
export { renderCompareHtml } from './report/compare-html.js';
export { renderCompareCsv } from './report/compare-csv.js';
export { renderCompareTable } from './report/compare-table.js';
export { blockMapOf } from './inspect/block-map.js';
export type { BlockMap, BlockKind } from './inspect/block-map.js';
export { keygen } from './signing/keygen.js';
export type { KeygenResult } from './signing/keygen.js';
export type { Signer, Verifier } from './signing/signer.js';
export type { SignerOptions } from './signing/open-signer.js';
export { builtinTargets, resolveTargets, loadTargetFile } from './targets/target-registry.js';
export type { TargetProfile } from './model/target-profile.js';
export { OtaError, ExitCode } from './errors/ota-error.js';
export type { EncodePlugins } from './pipeline/encode-chunk.js';
export type { Encoder, EncoderTraits } from './codecs/encoder.js';
export type { Differ, DifferTraits } from './diff/differ.js';
export type { Reporter, Warning, ProgressEvent } from './reporter.js';
export { CollectingReporter } from './reporter.js';
