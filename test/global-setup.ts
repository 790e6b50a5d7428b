// Builds dist/ once before the suites: the CLI e2e tests spawn the real bin, the API test imports
// the built package, and the encode worker threads load compiled code.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, [`${root}scripts/embed-proto.mjs`], { stdio: 'inherit', cwd: root });
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}tsconfig.build.json`], {
    stdio: 'inherit',
    cwd: root,
  });
}
