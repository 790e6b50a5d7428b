#!/bin/sh
':' //; export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"; exec node --max-semi-space-size=1 --no-concurrent-osr "$0" "$@"
// Launcher: all logic lives in dist/cli/main.js. Run as a program, the two lines above are a
// POSIX shell script (any sh: BusyBox, dash, bash; pnpm's shims too) that starts Node with memory
// and compiler settings; for Node they are a string and a comment. The memory settings, measured
// on the bench pairs (2 cores) at the same speed:
// - --max-semi-space-size=1 keeps V8's young generation at 1 MiB semi-spaces. Decoding a large
//   manifest otherwise grows them to 16 MiB, resident memory that `apply` never gives back.
// - MALLOC_ARENA_MAX=2 (unless set already) stops glibc from keeping a heap per thread (the
//   encode workers and the libuv pool), each holding memory that was freed.
// Apply on the 1 GiB pair then peaks at 120-130 MiB RSS instead of 145-157 MiB; build on the
// 256 MiB pair at ~510 MiB instead of ~580 (1 MiB chunks). The compiler setting:
// - --no-concurrent-osr compiles a hot loop's optimized code (on-stack replacement) at once on
//   its own thread instead of in the background while the loop goes on in baseline code: the
//   matcher's and hashes' multi-million-iteration loops in each worker started that way. Builds
//   took 8-15 % less wall time and 10-20 % less CPU on the 64 MiB bench pairs (patch-64 3.5-3.8 s
//   instead of 4.0-4.2, patch-256 15.0-15.8 s instead of 16.3-16.6), the same packages; apply
//   times unchanged. (--no-concurrent-recompilation gave the same; this is the narrower flag.)
// `node bin/ota-build.js` runs the same code without the settings.
import { runFromProcess } from '../dist/cli/main.js';

await runFromProcess();
