/** Text tables for terminals (cli-table3): the classification report, run comparisons, populations. */
import Table from "cli-table3";

export interface TableOptions {
  /** Columns aligned right (numbers); the rest align left. */
  right?: readonly number[];
}

// No borders, so columns read as plain aligned text (and copy-paste as such).
const PLAIN = {
  top: "",
  "top-mid": "",
  "top-left": "",
  "top-right": "",
  bottom: "",
  "bottom-mid": "",
  "bottom-left": "",
  "bottom-right": "",
  left: "",
  "left-mid": "",
  mid: "",
  "mid-mid": "",
  right: "",
  "right-mid": "",
  middle: " ",
};
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const right = new Set(options.right ?? []);
  const table = new Table({
    head: [...head],
    chars: PLAIN,
    style: { head: [], border: [], compact: true },
    colAligns: head.map((_, i) => (right.has(i) ? "right" : "left")),
  });
  table.push(...rows.map((r) => [...r]));
  // Trailing padding would only make lines longer than they look.
  return table.toString().replace(/ +$/gm, "");
}
