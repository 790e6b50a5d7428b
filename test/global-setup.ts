// Builds dist/ once before the suites: the CLI e2e tests spawn the real bin, the API test imports
// the built package, and the encode worker threads load compiled code. Incrementally (~2 s after
// the first run instead of ~7): tsc's record of what it emitted lives in dist/ and is dropped
// whenever an entry point is missing, as tsc would not re-emit a deleted output it recorded.
// `npm run build` stays a full build.

import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Outputs whose absence means dist/ was partly removed: the record no longer describes it. */
const ENTRY_POINTS = ['dist/index.js', 'dist/cli/main.js', 'dist/pipeline/encode-worker.js'];
const BUILD_INFO = 'dist/.tsbuildinfo';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}scripts/embed-proto.mjs`], { stdio: 'inherit', cwd: root });
  if (ENTRY_POINTS.some((p) => !existsSync(`${root}${p}`))) rmSync(`${root}${BUILD_INFO}`, { force: true });
  execFileSync(
    process.execPath,
    [
      `${root}node_modules/typescript/bin/tsc`,
      '-p',
      `${root}tsconfig.build.json`,
      '--incremental',
      '--tsBuildInfoFile',
      `${root}${BUILD_INFO}`,
    ],
    { stdio: 'inherit', cwd: root },
  );
}
