// printable: C0, DEL and C1 control characters become visible \xNN escapes; everything else,
// including non-ASCII text, is kept.

import { describe, expect, it } from 'vitest';
import { printable, printableLines } from '../../src/errors/printable.js';
import { OtaError } from '../../src/errors/ota-error.js';

describe('printable', () => {
  it('escapes ESC, CR, BEL, NUL, DEL and C1 (CSI), keeps text and non-ASCII', () => {
    expect(printable('a\u001b[2K\rb\u0007\u0000\u007f\u009b1m é → ✓')).toBe(
      'a\\x1b[2K\\x0db\\x07\\x00\\x7f\\x9b1m é → ✓',
    );
    expect(printable('line\nbreak\ttab')).toBe('line\\x0abreak\\x09tab');
    expect(printableLines('one\u001b\ntwo')).toBe('one\\x1b\ntwo');
  });

  it('OtaError messages are escaped whoever prints them', () => {
    expect(new OtaError('BAD_OPTION', 'platform \u001b[2Kevil').message).toBe('platform \\x1b[2Kevil');
  });
});
