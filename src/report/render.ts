/**
 * Vega-Lite specs → SVG (vega's headless renderer) → PNG (resvg). Charts are data plus a declarative spec;
 * nothing is drawn by hand.
 */
import { Resvg } from "@resvg/resvg-js";
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export const FONT = "DejaVu Sans";

const CONFIG = {
  font: FONT,
  background: "white",
  padding: 8,
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  title: { fontSize: 14, anchor: "start" as const, offset: 10 },
};

export interface Rendered {
  svg: string;
  png: Buffer;
  /** PNG size in pixels (the SVG's size × scale). */
  width: number;
  height: number;
}

export async function renderChart(spec: TopLevelSpec, scale = 2): Promise<Rendered> {
  const compiled = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  const resvg = new Resvg(svg, {
    fitTo: { mode: "zoom", value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: FONT, sansSerifFamily: FONT },
    background: "white",
  });
  const image = resvg.render();
  return { svg, png: image.asPng(), width: image.width, height: image.height };
}
