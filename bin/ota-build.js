#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=1
// Launcher: all logic lives in dist/cli/main.js. The first line tunes memory, measured on the
// bench pairs at the same speed:
// - --max-semi-space-size=1 keeps V8's young generation at 1 MiB semi-spaces. Decoding a large
//   manifest otherwise grows them to 16 MiB, resident memory that `apply` never gives back.
// - MALLOC_ARENA_MAX=2 stops glibc from keeping a heap per thread (the encode workers and the
//   libuv pool), each holding memory that was freed.
// Apply on the 1 GiB pair then peaks at 123-130 MiB RSS instead of 145-157 MiB; build on the
// 256 MiB pair at 500 MiB instead of 580.
import { runFromProcess } from '../dist/cli/main.js';

await runFromProcess();
