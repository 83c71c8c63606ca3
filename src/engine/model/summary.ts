/**
 * Keras's layer summary as text. Drawn here rather than with a table package, so the engine needs nothing
 * beyond onnxruntime's API and stays bundleable for the page.
 */
import { count } from "../../util/format.js";

/** Columns padded a space either side; the last (numbers) aligned right; heavy rules outside, light between. */
export function summaryText(
  rows: readonly (readonly [string, string, string])[],
  params: { total: number; trainable: number },
): string {
  const head = ["Layer (type)", "Output Shape", "Param #"] as const;
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => ` ${i === cells.length - 1 ? c.padStart(widths[i]) : c.padEnd(widths[i])} `)
      .join(" ")
      .replace(/ +$/, "");
  const width = widths.reduce((n, w) => n + w + 2, widths.length - 1);
  return [
    'Model: "sequential"',
    "━".repeat(width),
    line(head),
    ...rows.flatMap((r) => ["─".repeat(width), line(r)]),
    "━".repeat(width),
    ` Total params: ${count(params.total)}`,
    ` Trainable params: ${count(params.trainable)}`,
    ` Non-trainable params: ${count(params.total - params.trainable)}`,
  ].join("\n");
}
