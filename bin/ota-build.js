#!/usr/bin/env -S node --max-semi-space-size=1
// Launcher: all logic lives in dist/cli/main.js. The flag keeps V8's young generation at 1 MiB
// semi-spaces. Decoding a large manifest makes V8 grow them to 16 MiB, which is resident memory
// that `apply` never gives back. With the flag, apply on the bench's 1 GiB pair peaks at
// 125-131 MiB RSS instead of 145-157 MiB, at the same speed.
import { runFromProcess } from '../dist/cli/main.js';

await runFromProcess();
