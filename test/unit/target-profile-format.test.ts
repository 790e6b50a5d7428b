// The profile's optional maxFormatMinor (the newest package format 1.x a target's appliers read):
// parsed as an integer 0..FORMAT_MINOR or refused (PROFILE_INVALID, exit 2), at least 3 for an
// in-place profile; candidates that need a newer minor are not kept for such a target.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FORMAT_MINOR } from '../../src/format/package-header.js';
import { readsFormatMinor } from '../../src/model/target-profile.js';
import { allowedFor, selectCandidate, type EncodedCandidate } from '../../src/planner/candidates.js';
import { OPTIONAL_PROFILE_FIELDS, parseTargetProfile } from '../../src/targets/parse-target-profile.js';
import { expectOta } from '../helpers/expect-ota.js';
import { ROOT } from '../helpers/run-cli.js';

const generic = JSON.parse(readFileSync(join(ROOT, 'profiles', 'generic.json'), 'utf8')) as Record<string, unknown>;

describe('maxFormatMinor in the profile contract', () => {
  it('is optional: absent, the target reads every minor this build writes', () => {
    expect(OPTIONAL_PROFILE_FIELDS).toContain('maxFormatMinor');
    const p = parseTargetProfile(generic, 'x.json');
    expect(p.maxFormatMinor).toBeUndefined();
    expect(readsFormatMinor(p, FORMAT_MINOR)).toBe(true);
  });

  it('accepts 0..FORMAT_MINOR and reads exactly up to it', () => {
    for (let minor = 0; minor <= FORMAT_MINOR; minor++) {
      const p = parseTargetProfile({ ...generic, maxFormatMinor: minor }, 'x.json');
      expect(p.maxFormatMinor).toBe(minor);
      expect(readsFormatMinor(p, minor)).toBe(true);
      expect(readsFormatMinor(p, minor + 1)).toBe(false);
    }
  });

  it.each([
    ['negative', -1],
    ['fractional', 2.5],
    ['newer than this build writes', FORMAT_MINOR + 1],
    ['a string', '3'],
    ['null', null],
  ])('refuses a %s maxFormatMinor', (_what, value) => {
    expectOta(
      () => parseTargetProfile({ ...generic, maxFormatMinor: value }, 'x.json'),
      'PROFILE_INVALID',
      2,
      /maxFormatMinor must be an integer/,
    );
  });

  it('refuses an in-place profile that reads less than 1.3 (in-place packages are 1.3)', () => {
    const inPlace = { ...generic, updateMode: 'in-place', slotSuffixes: [] };
    expect(parseTargetProfile({ ...inPlace, maxFormatMinor: 3 }, 'x.json').maxFormatMinor).toBe(3);
    expectOta(
      () => parseTargetProfile({ ...inPlace, maxFormatMinor: 2 }, 'x.json'),
      'PROFILE_INVALID',
      2,
      /maxFormatMinor must be at least 3 for an in-place profile/,
    );
  });
});

describe('candidates that need a newer format', () => {
  const candidate = (bytes: number, formatMinor?: number): EncodedCandidate => ({
    spec: { kind: 'replace', codec: 'xz', level: 9 },
    bytes: Buffer.alloc(bytes),
    decoderMemoryBytes: 1024,
    ...(formatMinor === undefined ? {} : { formatMinor }),
  });

  it('are not kept for a target that reads an older one; the smallest readable one wins', () => {
    const newest = parseTargetProfile(generic, 'x.json');
    const legacy = parseTargetProfile({ ...generic, maxFormatMinor: 3 }, 'x.json');
    const arm64Chain = candidate(100, 4);
    expect(allowedFor(newest, arm64Chain)).toBe(true);
    expect(allowedFor(legacy, arm64Chain)).toBe(false);
    expect(allowedFor(legacy, candidate(100, 3))).toBe(true);
    const made = [arm64Chain, candidate(150), candidate(120, 3)];
    expect(selectCandidate(newest, made)).toBe(0);
    expect(selectCandidate(legacy, made)).toBe(2);
  });
});
