// README's profile field table against the parser's field lists, both ways: a field added to
// the profile contract without a line in the table (or a line left for a removed field) fails.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONAL_PROFILE_FIELDS, PROFILE_FIELDS } from '../../src/targets/parse-target-profile.js';
import { ROOT } from '../helpers/run-cli.js';

/** The backquoted field names in the first column of the table under "## Chipset targets". */
function documentedFields(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Chipset targets\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  const table = section.slice(section.indexOf('| field | what it is |'));
  const rows = table.split('\n').slice(2);
  const fields: string[] = [];
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const first = row.split('|')[1]!;
    for (const m of first.matchAll(/`([A-Za-z]+)`/g)) fields.push(m[1]!);
  }
  return fields;
}

describe('README profile field table', () => {
  it('names every profile field once, and nothing else', () => {
    const documented = documentedFields();
    expect(documented.length).toBeGreaterThan(10);
    expect(new Set(documented).size, 'a field listed twice').toBe(documented.length);
    expect([...documented].sort()).toEqual([...PROFILE_FIELDS, ...OPTIONAL_PROFILE_FIELDS].sort());
  });
});
