// The profile contract's stash limit: every profile states maxStashBytes (0 .. 2^40), the built-in
// defaults are ordered by what each class of device can spare (unisoc the smallest), and a profile
// without it, or with a value out of range, is refused (PROFILE_INVALID, exit 2).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_FIELDS, parseTargetProfile } from '../../src/targets/parse-target-profile.js';
import { builtinTargets } from '../../src/targets/target-registry.js';
import { expectOta } from '../helpers/expect-ota.js';
import { ROOT } from '../helpers/run-cli.js';

const MiB = 1024 * 1024;
const generic = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8')) as Record<string, unknown>;

describe('maxStashBytes in the profile contract', () => {
  it('is a required field with the documented per-target defaults (unisoc smallest)', () => {
    expect(PROFILE_FIELDS).toContain('maxStashBytes');
    const limits = Object.fromEntries(builtinTargets().map((t) => [t.id, t.maxStashBytes]));
    expect(limits).toEqual({ qualcomm: 64 * MiB, mediatek: 32 * MiB, unisoc: 8 * MiB, generic: 128 * MiB });
    // Room for at least a few of the target's own ops, so ordinary updates need no REPLACE.
    for (const t of builtinTargets()) expect(t.maxStashBytes).toBeGreaterThanOrEqual(4 * t.maxOperationBytes);
  });

  it.each([
    ['missing', undefined],
    ['negative', -1],
    ['fractional', 1.5],
    ['over 2^40', 2 ** 40 + 1],
    ['a string', '8388608'],
  ])('refuses a %s maxStashBytes', (_what, value) => {
    const o: Record<string, unknown> = { ...generic };
    if (value === undefined) delete o.maxStashBytes;
    else o.maxStashBytes = value;
    expectOta(() => parseTargetProfile(o, 'x.json'), 'PROFILE_INVALID', 2, /maxStashBytes/);
  });

  it('accepts 0 (no stash: every cycle becomes REPLACE) and 2^40', () => {
    expect(parseTargetProfile({ ...generic, maxStashBytes: 0 }, 'x.json').maxStashBytes).toBe(0);
    expect(parseTargetProfile({ ...generic, maxStashBytes: 2 ** 40 }, 'x.json').maxStashBytes).toBe(2 ** 40);
  });
});
