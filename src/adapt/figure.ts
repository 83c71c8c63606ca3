/** The writer protocol's report: its figures as JSON, and a picture of every writer before and after. */
import fs from "node:fs";
import path from "node:path";
import type { TopLevelSpec } from "vega-lite";
import { writeFigure } from "../report/report.js";
import type { WriterReport } from "./writers.js";

/** Each writer a point: accuracy before tuning across, after up; above the diagonal, tuning helped. */
export function beforeAfterChart(r: WriterReport): TopLevelSpec {
  const values = r.rows.map((w) => ({ ...w, K: `K = ${w.k} per class` }));
  const low = Math.max(0, Math.floor(Math.min(...r.rows.flatMap((w) => [w.before, w.after])) * 20) / 20);
  const scale = { domain: [low, 1], clamp: true };
  return {
    title: {
      text: "Each unseen writer, before and after tuning on K of their digits of each class",
      subtitle: "accuracy on all their other digits; above the diagonal: better after",
    },
    data: { values },
    facet: { column: { field: "K", type: "nominal", title: null } },
    spec: {
      width: 220,
      height: 220,
      layer: [
        {
          data: { values: [{ a: low }, { a: 1 }] },
          mark: { type: "line", color: "#999", strokeDash: [4, 4] },
          encoding: {
            x: { field: "a", type: "quantitative", scale },
            y: { field: "a", type: "quantitative", scale },
          },
        },
        {
          mark: { type: "point", filled: true, opacity: 0.75, size: 45 },
          encoding: {
            x: { field: "before", type: "quantitative", scale, axis: { format: ".0%" }, title: "before" },
            y: { field: "after", type: "quantitative", scale, axis: { format: ".0%" }, title: "after" },
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
