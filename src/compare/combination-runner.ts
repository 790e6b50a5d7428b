// CombinationRunner: one compare combination = one real producePackages run over the shared
// PreparedImages, then its measurements: package size, build time, the declared decoder memory,
// and the time the reference applier takes on it. Each package lives in its own temp folder,
// which is removed before the next run.

import { UnsupportedError } from '../errors/ota-error.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { applyPackage } from '../apply/apply-package.js';
import type { Manifest } from '../model/manifest.js';
import type { TargetProfile } from '../model/target-profile.js';
import { PackageReader } from '../package/package-reader.js';
import { phaseTimer } from '../pipeline/build-packages.js';
import type { PreparedImages } from '../pipeline/prepared-images.js';
import { preparedJob, producePackages, type PackageLabels } from '../pipeline/produce-packages.js';
import { TargetAssembly } from '../pipeline/target-assembly.js';
import type { CandidateSpec } from '../planner/candidates.js';
import { CollectingReporter, type Reporter } from '../reporter.js';
import type { Signer } from '../signing/key-pair.js';
import { scheduledMs, type CachingEncoder } from './caching-encoder.js';
import { unrestrictedProfile } from './compare-combinations.js';

/** What one run measured. */
export interface RunMeasurement {
  readonly packageBytes: number;
  readonly buildMs: number;
  /** Null when the request did not ask to apply. */
  readonly applyMs: number | null;
  readonly decoderMemoryBytes: number;
  readonly allowed: boolean;
  readonly reasons: readonly string[];
  readonly manifest: Manifest;
}

/** One run to do. */
export interface RunRequest {
  readonly label: string;
  readonly specs: readonly CandidateSpec[];
  /** Why the target forbids these specs; non-empty runs use the unrestricted profile. */
  readonly forbidden: readonly string[];
  readonly prepared: PreparedImages;
  readonly apply: boolean;
  /** Progress position: this is run `index` (0-based) of `total`. */
  readonly index: number;
  readonly total: number;
  /** Sees the package before it is deleted. */
  readonly onPackage?: (packagePath: string, m: RunMeasurement) => void | Promise<void>;
}

/** Shared state of all runs of one compare. */
export interface RunnerContext {
  readonly profile: TargetProfile;
  readonly signer: Signer;
  readonly encoder: CachingEncoder;
  readonly workDir: string;
  readonly oldPath?: string;
  readonly labels: PackageLabels;
  readonly reporter: Reporter;
}

/** Runs combinations one after another over the same prepared images. */
export class CombinationRunner {
  private readonly unrestricted: TargetProfile;

  constructor(private readonly ctx: RunnerContext) {
    this.unrestricted = unrestrictedProfile(ctx.profile);
  }

  /** Produces, measures, applies (when asked) and deletes one package. */
  async run(req: RunRequest): Promise<RunMeasurement> {
    const { profile } = this.ctx;
    const dir = await mkdtemp(join(this.ctx.workDir, 'run-'));
    try {
      const reasons = [...req.forbidden];
      let produced: { path: string; sizeBytes: number; buildMs: number };
      try {
        produced = await this.produce(req, reasons.length > 0 ? this.unrestricted : profile, dir);
      } catch (err) {
        // Allowed on paper, but some chunk has no candidate the target accepts (e.g. decoder memory).
        if (reasons.length > 0 || !(err instanceof UnsupportedError) || err.code !== 'NO_ALLOWED_ENCODING') throw err;
        reasons.push((err as Error).message);
        produced = await this.produce(req, this.unrestricted, dir);
      }
      const reader = await PackageReader.open(produced.path, { verifier: this.ctx.signer.verifier() });
      const manifest = reader.manifest;
      await reader.close();
      if (manifest.maxDecoderMemoryBytes > profile.decoderMemoryLimitBytes) {
        reasons.push(
          `needs ${manifest.maxDecoderMemoryBytes} bytes of decoder memory; ${profile.id} allows ${profile.decoderMemoryLimitBytes}`,
        );
      }
      const applyMs = req.apply ? await this.timeApply(produced.path, dir) : null;
      const m: RunMeasurement = {
        packageBytes: produced.sizeBytes,
        buildMs: produced.buildMs,
        applyMs,
        decoderMemoryBytes: manifest.maxDecoderMemoryBytes,
        allowed: reasons.length === 0,
        reasons: [...new Set(reasons)],
        manifest,
      };
      await req.onPackage?.(produced.path, m);
      return m;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * One producePackages run. buildMs estimates a separate build of these specs after hashing
   * and planning: the slower of this run's encode phase and its chunks' first-computed encoder
   * times scheduled on the workers (reused candidates cost what they cost the first time), plus
   * the write and self-check phase as measured.
   */
  private async produce(req: RunRequest, profile: TargetProfile, dir: string) {
    const { encoder, signer } = this.ctx;
    const assembly = new TargetAssembly(profile, signer, profile.defaultPlatform);
    encoder.resetCosts();
    const phasesMs: Record<string, number> = {};
    const [pkg] = await producePackages({
      partitions: [preparedJob(profile.defaultPartitionName, req.prepared)],
      assemblies: [assembly],
      specs: req.specs,
      encoder,
      outDir: dir,
      labels: this.ctx.labels,
      reporter: this.progressReporter(req),
      timed: phaseTimer(phasesMs),
    });
    const encodeMs = Math.max(phasesMs.encodeMs ?? 0, scheduledMs(encoder.taskCostsMs, encoder.jobs));
    return { path: pkg!.path, sizeBytes: pkg!.sizeBytes, buildMs: Math.round(encodeMs + (phasesMs.writeMs ?? 0)) };
  }

  /** Applies the package to a temp output with the reference applier and times it. */
  private async timeApply(packagePath: string, dir: string): Promise<number> {
    const t0 = performance.now();
    await applyPackage({
      packagePath,
      oldPath: this.ctx.oldPath,
      outputPath: join(dir, 'applied.img'),
      // Compare times the applier on every combination, also those the target does not allow.
      deviceProfile: this.unrestricted,
      reporter: new CollectingReporter(),
    });
    const ms = performance.now() - t0;
    await rm(join(dir, 'applied.img'), { force: true });
    return Math.round(ms);
  }

  /** Forwards warnings; turns the run's own progress into "n/N label: phase pct%". */
  private progressReporter(req: RunRequest): Reporter {
    const outer = this.ctx.reporter;
    const detail = `${req.index + 1}/${req.total} ${req.label}`;
    outer.progress({ phase: 'compare', done: req.index, total: req.total, detail });
    return {
      warn: (w) => outer.warn(w),
      progress: (e) => {
        const pct = e.total > 0 ? Math.floor((100 * e.done) / e.total) : 0;
        outer.progress({
          phase: 'compare',
          done: req.index,
          total: req.total,
          detail: `${detail}: ${e.phase} ${pct}%`,
        });
      },
    };
  }
}
