#!/usr/bin/env node
// Launcher: all logic lives in dist/cli/main.js.
import { runFromProcess } from '../dist/cli/main.js';

await runFromProcess();
