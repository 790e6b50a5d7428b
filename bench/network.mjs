// The bench's network run (`npm run bench -- --network`, issue 15): the patch-64 and patch-256
// packages served by a real nginx (test/transport/nginx-server.mjs) through the tests' fault proxy
// (test/transport/fault-proxy.mjs) that cuts the connection N times, applied by URL under
// /usr/bin/time -v. Reports bytes received ÷ package size, wall time, peak RSS and the largest disk
// use beside the output (checkpoint, lock, temp files: sampled every 50 ms while the apply runs).
// run.mjs owns the process runner, the pairs and the page; this file owns the run and its table.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { clearInterval, setInterval } from 'node:timers';
import { startFaultProxy } from '../test/transport/fault-proxy.mjs';
import { nginxAvailable, startNginx } from '../test/transport/nginx-server.mjs';

/** Pairs and forced disconnects of the network run. */
export const NETWORK_PAIRS = ['patch-64', 'patch-256'];
export const NETWORK_DISCONNECTS = [0, 5, 20];
/** Issue 15, done-when 6: peak RSS of a streamed apply of the 256 MiB pair. */
const RSS_GOAL_MIB = 160;
const MIB = 1048576;

/**
 * Runs the network section. `ctx` comes from run.mjs: { argv, commit, root, workDir, otaBin, timed,
 * waitIdle, ensurePair, log, options: { timeoutS, waitIdleS } }. Returns the JSON the page is rendered from.
 */
export async function runNetwork(ctx) {
  const { log } = ctx;
  const startedAt = new Date().toISOString();
  if (!nginxAvailable()) return { error: 'nginx not found (/usr/sbin/nginx; apt-get install nginx-light)' };
  const base = join(ctx.workDir, 'network');
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  // nginx started by root serves as `nobody`: the served folder must be readable by others.
  chmodSync(base, 0o755);
  const served = join(base, 'served');
  mkdirSync(served, { mode: 0o755 });
  const packages = [];
  for (const id of NETWORK_PAIRS) {
    const [kind, size] = id.split('-');
    const pair = await ctx.ensurePair({ id, kind, sizeMib: Number(size) });
    const out = join(base, `build-${id}`);
    log(`[network ${id}] building the package (ota-build build --target generic)`);
    const b = spawnSync(
      process.execPath,
      [
        ctx.otaBin,
        'build',
        '--old',
        pair.paths.old,
        '--new',
        pair.paths.new,
        '-o',
        out,
        '--target',
        'generic',
        '--json',
      ],
      { encoding: 'utf8', maxBuffer: 64 * MIB, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } },
    );
    if (b.status !== 0) {
      packages.push({
        id,
        error: `build failed (exit ${b.status}): ${b.stderr.trim().split('\n').slice(-3).join(' ')}`,
      });
      continue;
    }
    const file = `${id}.otapkg`;
    // A hard link into the served folder (same file system), readable by nginx's worker.
    const built = JSON.parse(b.stdout).packages[0].path;
    chmodSync(built, 0o644);
    spawnSync('ln', ['-f', built, join(served, file)]);
    packages.push({ id, pair, file, sizeBytes: lstatSync(built).size, newSha256: pair.rec.new.sha256 });
  }
  const nginx = await startNginx(served, join(base, 'nginx'));
  const rows = [];
  try {
    for (const pkg of packages) {
      if (pkg.error) {
        rows.push({ id: pkg.id, error: pkg.error });
        continue;
      }
      for (const disconnects of NETWORK_DISCONNECTS) {
        rows.push(await applyOnce(ctx, nginx, pkg, disconnects, base));
        rows.at(-1).id = pkg.id;
      }
    }
  } finally {
    await nginx.stop();
  }
  rmSync(served, { recursive: true, force: true });
  return { startedAt, argv: ctx.argv, commit: ctx.commit, rows };
}

/** One apply by URL through a proxy that cuts `disconnects` connections, spread over the file. */
async function applyOnce(ctx, nginx, pkg, disconnects, base) {
  const { log } = ctx;
  // Cut i (of `disconnects`) closes the connection that carries response byte ⌈size × (i+1) ÷
  // (disconnects+1)⌉ of the whole run: exactly `disconnects` drops, spread over the download (the
  // small header and metadata requests end before their threshold and are not cut).
  const thresholds = Array.from({ length: disconnects }, (_, i) =>
    Math.ceil((pkg.sizeBytes * (i + 1)) / (disconnects + 1)),
  );
  let sent = () => 0;
  const proxy = await startFaultProxy(nginx.port, () => {
    const next = thresholds.find((t) => t > sent());
    return next === undefined ? {} : { cutAfterBytes: next - sent() };
  });
  sent = proxy.bytesSent;
  const dir = join(base, `out-${pkg.id}-${disconnects}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const output = join(dir, 'new.img');
  const url = `${proxy.base}/${pkg.file}`;
  const args = ['apply', url, '--old', pkg.pair.paths.old, '-o', output, '--json', '--retries', '8'];
  const waited = await ctx.waitIdle(ctx.options.waitIdleS);
  log(`[network ${pkg.id}] apply by URL, ${disconnects} disconnects`);
  let maxExtraBytes = 0;
  let maxExtraWhat = '';
  const sampler = setInterval(() => {
    const { extraBytes, what } = extraDiskUse(dir, 'new.img');
    if (extraBytes > maxExtraBytes) [maxExtraBytes, maxExtraWhat] = [extraBytes, what];
  }, 50);
  let r;
  try {
    r = await ctx.timed(
      // The launcher itself (its memory settings included), as the other ota-build rows run it.
      { cmd: ctx.otaBin, args, nodeOnPath: true },
      { timeoutS: ctx.options.timeoutS, timeFile: join(base, 'time.txt') },
    );
  } finally {
    clearInterval(sampler);
    await proxy.close();
  }
  let json = {};
  try {
    json = JSON.parse(r.stdout);
  } catch {
    /* reported below */
  }
  const correct = r.status === 'ok' && existsSync(output) && sha256Of(output) === pkg.newSha256;
  const leftOver = readdirSync(dir).filter((n) => n !== 'new.img');
  rmSync(dir, { recursive: true, force: true });
  return {
    disconnects,
    packageBytes: pkg.sizeBytes,
    status: r.status,
    correct,
    bytesReceived: json.bytesReceived ?? null,
    proxyBytesSent: proxy.bytesSent(),
    connections: proxy.connections(),
    retries: json.retries ?? null,
    resumes: json.resumes ?? null,
    waitMs: json.waitMs ?? null,
    wallS: r.wallS,
    maxRssKiB: r.maxRssKiB,
    otherCores: r.otherCores,
    idleBeforeCores: waited,
    maxExtraDiskBytes: maxExtraBytes,
    maxExtraDiskWhat: maxExtraWhat,
    leftOver,
    cmd: `${relative(ctx.root, ctx.otaBin)} apply ${url.replace(/:\d+\//, ':PORT/')} --old ${relative(ctx.root, pkg.pair.paths.old)} -o OUT/new.img --json --retries 8`,
    stderrTail: r.status === 'ok' ? undefined : r.stderrTail,
  };
}

/** Disk blocks in `dir` used by anything but the output (its final name or its partial). */
function extraDiskUse(dir, outputName) {
  let extraBytes = 0;
  const what = [];
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { extraBytes, what: '' };
  }
  for (const n of names) {
    if (n === outputName || n.startsWith(`.${outputName}.ota-partial`) || n.includes('partial')) continue;
    try {
      const st = lstatSync(join(dir, n));
      extraBytes += st.blocks * 512;
      what.push(n);
    } catch {
      /* gone meanwhile */
    }
  }
  return { extraBytes, what: what.join(' ') };
}

function sha256Of(path) {
  const r = spawnSync('sha256sum', [path], { encoding: 'utf8' });
  return r.stdout.split(/\s/)[0];
}

const mib = (kib) => (kib == null ? 'n/a' : (kib / 1024).toFixed(1));
const up3 = (x) => (Math.ceil(x * 1000) / 1000).toFixed(3);

/** The page section of the network run (markdown lines). */
export function renderNetwork(net) {
  const L = ['## Network: apply by URL (issue 15)', ''];
  if (net.error) return [...L, `Not run: ${net.error}.`, ''];
  if (net.startedAt)
    L.push(
      `Run by \`npm run bench -- ${net.argv.join(' ')}\` on ${net.startedAt}, ota-build at commit \`${net.commit}\`.`,
      '',
    );
  L.push(
    'Each patch pair built for `generic`, served by nginx on 127.0.0.1 through the fault proxy of the ' +
      'transport tests, which closes the connection N times (cut i when the run has sent ⌈size × (i+1) ÷ (N+1)⌉ ' +
      'response bytes); `ota-build apply http://…` under `/usr/bin/time -v`. *Extra disk* is the largest ' +
      'disk use (allocated blocks) beside the output image and its partial, sampled every 50 ms.',
  );
  L.push('');
  L.push(
    '| pair | disconnects | package bytes | bytes received | received ÷ size | proxy bytes sent | retries | apply s | peak RSS MiB | extra disk bytes (what) | correct |',
  );
  L.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of net.rows) {
    if (r.error) {
      L.push(`| ${r.id} | | | | | | | | | | **NO**: ${r.error} |`);
      continue;
    }
    const busy = r.otherCores != null && r.otherCores > 0.2 ? ' †' : '';
    L.push(
      `| ${r.id} | ${r.disconnects} | ${r.packageBytes} | ${r.bytesReceived ?? 'n/a'} | ${r.bytesReceived != null ? up3(r.bytesReceived / r.packageBytes) : 'n/a'} | ${r.proxyBytesSent} | ${r.retries ?? 'n/a'} | ${r.wallS?.toFixed(2) ?? 'n/a'}${busy} | ${mib(r.maxRssKiB)} | ${r.maxExtraDiskBytes} (${r.maxExtraDiskWhat || 'none'}) | ${r.correct ? 'yes' : `**NO** (${r.status}${r.leftOver.length ? `; left: ${r.leftOver.join(' ')}` : ''})`} |`,
    );
  }
  const busyRows = net.rows.filter((r) => r.otherCores != null && r.otherCores > 0.2);
  if (busyRows.length)
    L.push(
      '',
      `† other processes used ${busyRows.map((r) => r.otherCores.toFixed(2)).join(', ')} cores meanwhile: the time is probably inflated.`,
    );
  const big = net.rows.filter((r) => r.id === 'patch-256' && r.maxRssKiB != null);
  if (big.length) {
    const worst = Math.max(...big.map((r) => r.maxRssKiB)) / 1024;
    L.push(
      '',
      `Goal (issue 15, done-when 6): peak RSS of a streamed apply of the 256 MiB pair ≤ ${RSS_GOAL_MIB} MiB: ` +
        `${worst <= RSS_GOAL_MIB ? 'met' : '**not met**'} (worst ${worst.toFixed(1)} MiB).`,
    );
  }
  const failed = net.rows.filter((r) => r.stderrTail);
  for (const r of failed)
    L.push('', `${r.id}, ${r.disconnects} disconnects: \`${r.stderrTail.replace(/\s*\n\s*/g, ' ⏎ ')}\``);
  if (net.rows[0]?.cmd) L.push('', `Command: \`${net.rows[0].cmd}\``);
  L.push('');
  return L;
}
