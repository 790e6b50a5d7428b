// Makes text safe to print on a terminal: C0 controls (ESC, CR, BEL…), DEL and C1 controls
// become visible `\xNN` escapes, so strings from an unverified package or a hostile layout cannot
// move the cursor, erase a line or hide "(NOT verified)". Pure; JSON output does not need it.

// eslint-disable-next-line no-control-regex -- matching control characters is this regex's purpose
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with every C0, DEL and C1 control character written as `\xNN` (newlines too). */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `printable` line by line: keeps the `\n` line breaks of multi-line human output. */
export function printableLines(text: string): string {
  return text.split('\n').map(printable).join('\n');
}
