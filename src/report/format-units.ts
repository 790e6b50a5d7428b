// Human formatting of numbers (bytes, milliseconds, percentages, counts) for compare's table and HTML
// reports; cli/render.ts re-exports formatBytes so the CLI and the reports print sizes alike. Pure.

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** `bytes` scaled to the largest binary unit below 1024 of it. */
function scaleBytes(bytes: number): { value: number; unit: string; scaled: boolean } {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return { value, unit: BYTE_UNITS[unit]!, scaled: unit > 0 };
}

/** `1.50 MiB`-style size (binary units). */
export function formatBytes(bytes: number): string {
  const { value, unit, scaled } = scaleBytes(bytes);
  return scaled ? `${value.toFixed(value < 10 ? 2 : 1)} ${unit}` : `${bytes} B`;
}

/** `85 ms`, `1.23 s`, `12.3 s`, `2 min 05 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 120) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
}

/** `12.34 %`; `-` for null. */
export function formatPercent(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(value >= 1000 ? 0 : 2)} %`;
}

/** Short tick label for a byte axis: `0`, `512 KiB`, `1.5 MiB`. */
export function formatBytesShort(bytes: number): string {
  if (bytes === 0) return '0';
  const { value, unit } = scaleBytes(bytes);
  const digits = Number.isInteger(value) ? 0 : value < 10 ? 1 : 0;
  return `${value.toFixed(digits)} ${unit}`;
}

/** `1 operation`, `2 operations`: a count with its noun (`plural` when it is not the noun + s). */
export function formatCount(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
