/**
 * A test set drawn the way the page draws: each stroke template (templates.ts) as a different "writer" would
 * make it — slanted, tilted, squashed, wobbly, large or small, anywhere on the 280×280 pad, with one of the
 * page's three pens — rendered by the page's own pen (vision/pen.ts), then through MNIST's preprocessing.
 */
import { Random } from "../util/random.js";
import { drawStrokes, PAD, PENS, type Point } from "../vision/pen.js";
import { preprocess, rgbaLight, SIZE } from "../vision/preprocess.js";
import { TEMPLATES, type Template } from "./templates.js";

/** One writer's rendition of a template: the pad's RGBA pixels, dark ink on white. */
export function drawTemplate(t: Template, rng: Random, pen: number): Uint8ClampedArray {
  const height = rng.uniform(0.45, 0.8) * PAD;
  const width = height * rng.uniform(0.55, 1.1);
  const slant = Math.tan((rng.uniform(-15, 25) * Math.PI) / 180);
  const tilt = (rng.uniform(-10, 10) * Math.PI) / 180;
  // A writer's hand bends whole strokes, not just points: a smooth random warp of the box.
  const [bx, by] = [rng.uniform(-0.12, 0.12), rng.uniform(-0.12, 0.12)];
  const [fx, fy] = [rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5)];
  const margin = pen / 2 + 2;
  const cx = rng.uniform(margin + width / 2, PAD - margin - width / 2);
  const cy = rng.uniform(margin + height / 2, PAD - margin - height / 2);
  const place = ([u0, v0]: Point): Point => {
    const [u, v] = [u0 + bx * Math.sin(Math.PI * fy * v0), v0 + by * Math.sin(Math.PI * fx * u0)];
    const [x, y] = [(u - 0.5) * width - (v - 0.5) * height * slant, (v - 0.5) * height];
    return [cx + x * Math.cos(tilt) - y * Math.sin(tilt), cy + x * Math.sin(tilt) + y * Math.cos(tilt)];
  };
  const wobble = 0.035;
  return drawStrokes(
    t.strokes.map((s) =>
      s.map(([u, v]) => place([u + rng.uniform(-wobble, wobble), v + rng.uniform(-wobble, wobble)])),
    ),
    pen,
  );
}

export interface StyleSet {
  /** [count, 28, 28, 1] in 0–1: what the model sees. */
  x: Float32Array;
  labels: Uint8Array;
  /** Each digit's style, "7 crossbar". */
  styles: string[];
  count: number;
}

/** `perPen` renditions of every template with each of the page's pens, from `seed`. */
export function styleSet(perPen: number, seed = 1, templates: readonly Template[] = TEMPLATES): StyleSet {
  const count = templates.length * PENS.length * perPen;
  const x = new Float32Array(count * SIZE * SIZE);
  const labels = new Uint8Array(count);
  const styles: string[] = [];
  const rng = new Random(seed);
  let k = 0;
  for (const t of templates)
    for (const pen of PENS)
      for (let i = 0; i < perPen; i++, k++) {
        x.set(preprocess(rgbaLight(drawTemplate(t, rng, pen), PAD, PAD)).input, k * SIZE * SIZE);
        labels[k] = t.digit;
        styles.push(`${t.digit} ${t.style}`);
      }
  return { x, labels, styles, count };
}
