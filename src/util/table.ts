/** Text tables for terminals (cli-table3): the layer summary, the classification report, run comparisons. */
import Table from "cli-table3";

export interface TableOptions {
  /** Columns aligned right (numbers); the rest align left. */
  right?: readonly number[];
  /** Draw horizontal rules between rows (Keras's summary does). */
  rules?: boolean;
}

// No vertical borders, so columns read as plain aligned text (and copy-paste as such); Keras's layer summary
// adds heavy rules above and below and light ones between rows.
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
const RULED = {
  ...PLAIN,
  top: "━",
  "top-mid": "━",
  bottom: "━",
  "bottom-mid": "━",
  mid: "─",
  "mid-mid": "─",
};

export function renderTable(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const right = new Set(options.right ?? []);
  const table = new Table({
    head: [...head],
    chars: options.rules ? RULED : PLAIN,
    style: { head: [], border: [], compact: !options.rules },
    colAligns: head.map((_, i) => (right.has(i) ? "right" : "left")),
  });
  table.push(...rows.map((r) => [...r]));
  // Trailing padding would only make lines longer than they look.
  return table.toString().replace(/ +$/gm, "");
}
