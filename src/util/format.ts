/** Numbers as people read them; the one place percentages are formatted. Imports nothing (the page uses it). */

/** 0.9921 → "99.21%"; undefined or NaN → "–". */
export function pct(v: number | undefined, digits = 2): string {
  return v === undefined || Number.isNaN(v) ? "–" : `${(100 * v).toFixed(digits)}%`;
}

/** 12345.6 → "12,346". */
export function count(v: number): string {
  return Math.round(v).toLocaleString("en-US");
}
