/** The writer protocol's report: its figures as JSON, and a picture of every writer before and after. */
import fs from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFigure } from "../report/report.js";
import type { WriterReport } from "./writers.js";

/**
 * Each writer a point: their mistakes before tuning across, after up, as a share of their other digits (on a
 * symlog scale, so one mistake in 200 is as visible as a writer read three-quarters right); below the
 * diagonal, tuning helped.
 */
export function beforeAfterChart(r: WriterReport): TopLevelSpec {
  const values = r.rows.map((w) => ({
    ...w,
    K: `K = ${w.k} of each digit`,
    mistakesBefore: 100 * (1 - w.before),
    mistakesAfter: 100 * (1 - w.after),
  }));
  const top = Math.max(5, ...values.flatMap((v) => [v.mistakesBefore, v.mistakesAfter]));
  const scale = { type: "symlog", constant: 1, domain: [0, top], nice: false };
  const axis = { values: [0, 1, 2, 5, 10, 20, 50].filter((v) => v <= top), format: "d" };
  return {
    title: {
      text: "Each unseen writer's mistakes, before and after learning K of their digits of each kind",
      subtitle: "% of all their other digits read wrong; below the dashed diagonal: fewer mistakes after",
    },
    data: { values },
    facet: { column: { field: "K", type: "nominal", title: null } },
    spec: {
      width: 220,
      height: 220,
      layer: [
        {
          data: { values: [{ a: 0 }, { a: top }] },
          mark: { type: "line", color: "#999", strokeDash: [4, 4] },
          encoding: {
            x: { field: "a", type: "quantitative", scale },
            y: { field: "a", type: "quantitative", scale },
          },
        },
        {
          mark: { type: "point", filled: true, opacity: 0.75, size: 45 },
          encoding: {
            x: { field: "mistakesBefore", type: "quantitative", scale, axis, title: "% wrong before" },
            y: { field: "mistakesAfter", type: "quantitative", scale, axis, title: "% wrong after" },
            color: { field: "set", type: "nominal", title: "writers of" },
            shape: { field: "set", type: "nominal" },
            tooltip: [
              { field: "writer" },
              { field: "before", format: ".1%" },
              { field: "after", format: ".1%" },
              { field: "tested" },
            ],
          },
        },
      ],
    },
    resolve: { scale: { x: "shared", y: "shared" } },
  } as TopLevelSpec;
}

export async function writeWriterReport(
  out: string,
  r: WriterReport,
  say: (m: string) => void,
): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, "writers.json"), `${JSON.stringify(r, null, 2)}\n`);
  await writeFigure(out, "writers", "Each unseen writer before and after", beforeAfterChart(r), say);
}
