#!/usr/bin/env node
// `npm run demo`: builds packages for the three chipset targets from sample-images/ with the
// embedded test keys, verifies and applies each with the real CLI, and prints what it made; then
// does the same for whole firmware releases (Qualcomm rawprogram, MediaTek scatter, Unisoc PAC):
// one multi-partition package per chipset.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'ota-build.js');
const samples = join(root, 'sample-images');
const out = join(root, 'demo-out');
// The sparse pair (img2simg output) is what phone builds produce; the raw pair is its expansion.
const oldImg = join(samples, 'system-v1.simg');
const newImg = join(samples, 'system-v2.simg');
const newRaw = join(samples, 'system-v2.img');
const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' };

function cli(args, { allowFail = false } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  if (r.status !== 0 && !allowFail) {
    process.stderr.write(`$ ota-build ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    process.exit(r.status ?? 1);
  }
  return r;
}
const sha256 = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mib = (n) => `${(n / 1048576).toFixed(2)} MiB`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
console.log(
  `ota-build demo: ${oldImg.replace(root, '')} -> ${newImg.replace(root, '')} (signed with the PUBLIC test keys)\n`,
);

const t0 = performance.now();
const delta = JSON.parse(
  cli([
    'build',
    '--old',
    oldImg,
    '--new',
    newImg,
    '-o',
    join(out, 'delta'),
    '--source-version',
    '1.0',
    '--target-version',
    '1.1',
    '--json',
  ]).stdout,
);
const deltaSeconds = (performance.now() - t0) / 1000;
const full = JSON.parse(
  cli(['build', '--new', newImg, '-o', join(out, 'full'), '--target-version', '1.1', '--json']).stdout,
);
const fromRaw = JSON.parse(
  cli([
    'build',
    '--old',
    join(samples, 'system-v1.img'),
    '--new',
    newRaw,
    '-o',
    join(out, 'delta-from-raw'),
    '--source-version',
    '1.0',
    '--target-version',
    '1.1',
    '--json',
  ]).stdout,
);
const sameAsRaw = delta.packages.every((p, i) => sha256(p.path) === sha256(fromRaw.packages[i].path));
const fullSize = Object.fromEntries(full.packages.map((p) => [p.target, p.sizeBytes]));

const rows = [];
for (const p of delta.packages) {
  const verify = cli(['verify', p.path, '--old', oldImg, '--json'], { allowFail: true });
  const applied = join(out, `applied-${p.target}.simg`);
  const apply = cli(['apply', p.path, '--old', oldImg, '-o', applied, '--device-target', p.target, '--json'], {
    allowFail: true,
  });
  // The output is a sparse image (like --old); its expanded sha256 must be the raw new image's.
  const same = apply.status === 0 && JSON.parse(apply.stdout).sha256 === sha256(newRaw);
  rows.push([
    p.target,
    String(p.sizeBytes),
    `${((100 * p.sizeBytes) / fullSize[p.target]).toFixed(1)} %`,
    p.signatureAlgorithm,
    verify.status === 0 ? 'ok' : `FAILED (${verify.status})`,
    same ? 'ok, identical' : `FAILED (${apply.status})`,
  ]);
}
const header = ['target', 'package bytes', '% of full', 'signature', 'verify', 'apply'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
rows.forEach((r) => console.log(line(r)));
console.log(
  `\ninputs: ${delta.source.format} -> ${delta.target.format} (Android sparse), new image ${mib(delta.target.sizeBytes)} expanded; delta build for 3 targets took ${deltaSeconds.toFixed(1)} s`,
);
console.log(
  `packages built from the raw expansions are ${sameAsRaw ? 'byte-identical' : 'DIFFERENT (bug)'}; apply wrote sparse images that expand to the new image`,
);
console.log(`packages in ${out.replace(root, '')}/delta/`);

// Whole releases: v1 -> v2 of each vendor's sample layout, one multi-partition package each.
console.log('\nwhole firmware releases (sample-images/releases/<vendor>/v1 -> v2), one package per chipset:\n');
const releaseRows = [];
for (const vendor of ['qualcomm', 'mediatek', 'unisoc']) {
  const [v1, v2] = ['v1', 'v2'].map((v) => join(samples, 'releases', vendor, v));
  const dir = join(out, `release-${vendor}`);
  const built = JSON.parse(
    cli(['build', '--old', v1, '--new', v2, '-o', dir, '--source-version', '1.0', '--target-version', '1.1', '--json'])
      .stdout,
  );
  const pkg = built.packages[0];
  const verify = cli(['verify', pkg.path, '--old', v1, '--json'], { allowFail: true });
  const apply = cli(['apply', pkg.path, '--old', v1, '-o', join(dir, 'applied'), '--device-target', vendor, '--json'], {
    allowFail: true,
  });
  const wanted = Object.fromEntries(built.partitions.map((p) => [p.name, p.target.sha256]));
  const applied = apply.status === 0 ? JSON.parse(apply.stdout).partitions : [];
  const identical = applied.length === built.partitions.length && applied.every((a) => a.sha256 === wanted[a.name]);
  const count = (status) => built.partitions.filter((p) => p.status === status).length;
  releaseRows.push([
    vendor,
    built.input,
    `${count('changed')} changed, ${count('unchanged')} unchanged${count('new') ? `, ${count('new')} new` : ''}`,
    String(pkg.sizeBytes),
    `${((100 * pkg.sizeBytes) / built.newSizeBytes).toFixed(1)} %`,
    verify.status === 0 ? 'ok' : `FAILED (${verify.status})`,
    identical ? `ok, ${applied.length} images identical` : `FAILED (${apply.status})`,
  ]);
}
const releaseHeader = ['target', 'layout', 'partitions', 'package bytes', '% of new', 'verify', 'apply'];
const releaseWidths = releaseHeader.map((h, i) => Math.max(h.length, ...releaseRows.map((r) => r[i].length)));
const releaseLine = (r) => r.map((c, i) => c.padEnd(releaseWidths[i])).join('  ');
console.log(releaseLine(releaseHeader));
console.log(releaseWidths.map((w) => '-'.repeat(w)).join('  '));
releaseRows.forEach((r) => console.log(releaseLine(r)));
console.log('\nnext: npx ota-build inspect demo-out/delta/update-qualcomm.otapkg');
console.log(
  '      npx ota-build inspect demo-out/release-mediatek/update-mediatek.otapkg   (every partition with its scatter region and address)',
);
if (!sameAsRaw || [...rows, ...releaseRows].some((r) => !r.at(-2).startsWith('ok') || !r.at(-1).startsWith('ok')))
  process.exit(1);
