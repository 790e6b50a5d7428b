// producePackages: encodes a prepared plan once for a set of targets and writes one signed,
// self-verified package per target. Shared by `build` (one candidate set) and `compare` (one
// run per codec/differ combination over the same PreparedImages).

import { rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { BlobSpool } from '../package/blob-spool.js';
import { PackageReader } from '../package/package-reader.js';
import { writePackage } from '../package/package-writer.js';
import type { CandidateSpec } from '../planner/candidates.js';
import type { Reporter } from '../reporter.js';
import { checkPackageBody } from '../verify/check-package-body.js';
import type { BuiltPackage } from './build-options.js';
import type { EncodePool } from './encode-pool.js';
import { encodePlan } from './encode-plan.js';
import type { PreparedImages } from './prepared-images.js';
import type { TargetAssembly } from './target-assembly.js';

/** What goes into every package besides the ops. */
export interface PackageLabels {
  readonly partitionName?: string;
  readonly sourceVersion: string;
  readonly targetVersion: string;
  readonly timestampSeconds: number;
}

/** Inputs of producePackages. */
export interface ProduceOptions {
  readonly prepared: PreparedImages;
  readonly assemblies: readonly TargetAssembly[];
  readonly specs: readonly CandidateSpec[];
  readonly pool: EncodePool;
  readonly outDir: string;
  readonly labels: PackageLabels;
  readonly reporter: Reporter;
  readonly timed: <T>(phase: string, f: () => Promise<T>) => Promise<T>;
}

/** Encodes and writes; returns one BuiltPackage per assembly, in order. */
export async function producePackages(o: ProduceOptions): Promise<BuiltPackage[]> {
  const { prepared } = o;
  const spool = await BlobSpool.create(o.outDir);
  try {
    await o.timed('encodeMs', () =>
      encodePlan({ items: prepared.items, next: prepared.next, old: prepared.old, blockSizeBytes: prepared.blockSizeBytes, specs: o.specs, pool: o.pool, spool, assemblies: o.assemblies, reporter: o.reporter }),
    );
    return await o.timed('writeMs', async () => {
      const packages: BuiltPackage[] = [];
      for (const a of o.assemblies) {
        const manifest = a.manifest({
          partitionName: o.labels.partitionName ?? a.profile.defaultPartitionName,
          source: prepared.identity('source', o.labels.sourceVersion),
          target: prepared.identity('target', o.labels.targetVersion)!,
          timestampSeconds: o.labels.timestampSeconds,
          sourceVersion: o.labels.sourceVersion,
          targetVersion: o.labels.targetVersion,
        });
        packages.push(await writeVerified(a, manifest, spool, o.outDir));
      }
      return packages;
    });
  } finally {
    await spool.dispose();
  }
}

/** Writes a target's package to a temp file, verifies it end to end, then renames it into place. */
async function writeVerified(a: TargetAssembly, manifest: ReturnType<TargetAssembly['manifest']>, spool: BlobSpool, outDir: string): Promise<BuiltPackage> {
  const finalPath = join(outDir, `update-${a.profile.id}.otapkg`);
  const tmp = join(outDir, `.update-${a.profile.id}.otapkg.tmp-${process.pid}`);
  await unlink(tmp).catch(() => undefined);
  const written = await writePackage(tmp, { targetHeader: a.targetHeader(), manifest, blobRanges: a.blobRanges, spool, signer: a.signer });
  try {
    const reader = await PackageReader.open(tmp, { verifier: a.signer.verifier() });
    await checkPackageBody(reader).finally(() => reader.close());
    await rename(tmp, finalPath);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const operationCounts: Record<string, number> = {};
  for (const op of a.operations) operationCounts[op.type] = (operationCounts[op.type] ?? 0) + 1;
  return {
    target: a.profile.id,
    path: finalPath,
    sizeBytes: written.sizeBytes,
    sha256: written.sha256.toString('hex'),
    signatureAlgorithm: a.signer.algorithm.name,
    operationCounts,
    blobBytesByKind: Object.fromEntries(a.bytesByKind),
  };
}
