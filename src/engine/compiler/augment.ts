/**
 * Augmentation on the fly, inside the training graph: each image is thickened or thinned (a grey dilation or
 * erosion blended in by a random amount), then resampled through a random affine map (rotation, scale,
 * shear, translation) plus an elastic displacement (Simard et al. 2003), with onnxruntime's GridSample.
 * JavaScript only draws a few numbers per image (six for the affine map, a coarse grid of displacements, the
 * stroke factor); the pixels are moved by the same kernels as the rest of the step, so training with
 * augmentation costs little more than training without.
 *
 * Reproducible: an image's parameters come from (seed, step, its row in the batch), whatever the number of
 * data-parallel replicas. The elastic field is drawn on a coarse grid (`elastic.cells` per side) and
 * bilinearly upsampled — smooth like Simard's Gaussian-filtered field, at a fraction of the cost.
 */
import { z } from "zod";
import type { Graph } from "../graph/graph.js";
import { Random } from "../../util/random.js";
import { parseOptions } from "../../util/options.js";

export const augmentSchema = z
  .object({
    /** Largest rotation either way, in degrees. */
    rotation: z.number().min(0).max(180).default(0),
    /** Largest relative change of size: 0.1 scales by 0.9–1.1. */
    scale: z.number().min(0).lt(1).default(0),
    /** Largest shear either way, in degrees. */
    shear: z.number().min(0).lt(60).default(0),
    /** Largest shift along each axis, in pixels. */
    translate: z.number().min(0).default(0),
    /** Elastic distortion: largest displacement in pixels, on a grid of cells×cells control points. */
    elastic: z
      .object({ alpha: z.number().min(0), cells: z.number().int().min(2).max(16).default(4) })
      .strict()
      .optional(),
    /** Stroke thickness: up to this fraction of a 3×3 dilation (thicker) or erosion (thinner) is blended in. */
    thickness: z.number().min(0).max(1).default(0),
  })
  .strict();
export type AugmentOptions = z.input<typeof augmentSchema>;
export type Augment = z.infer<typeof augmentSchema>;

export function parseAugment(options: AugmentOptions): Augment {
  return parseOptions(augmentSchema, "augment", options);
}

/** The graph inputs that carry each image's drawn parameters. */
export const AUGMENT_INPUTS = {
  affine: "aug:affine", // [N, 3, 2]: source = [u, v, 1] · A, in GridSample's normalised coordinates
  flow: "aug:flow", // [N, 2, cells, cells]: elastic displacement, normalised coordinates
  thicker: "aug:thicker", // [N, 1, 1, 1]: how much dilation to blend in
  thinner: "aug:thinner", // [N, 1, 1, 1]: how much erosion
} as const;

/**
 * Augments x ([N, H, W, C], channels last, values in 0–1) and returns the augmented batch in the same layout.
 * Adds the AUGMENT_INPUTS the step must feed (`augmentFeeds`).
 */
export function addAugmentation(g: Graph, x: string, a: Augment): string {
  const [n, h, w, c] = g.shape(x);
  let v =
    c === 1
      ? g.op("Reshape", [x, g.ints([n, 1, h, w], "shape")])
      : g.op("Transpose", [x], { perm: [0, 3, 1, 2] });
  if (a.thickness > 0) {
    const pool = (t: string) =>
      g.op("MaxPool", [t], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    const dilated = pool(v);
    const eroded = g.op("Neg", [pool(g.op("Neg", [v]))]);
    const thicker = g.input(AUGMENT_INPUTS.thicker, [n, 1, 1, 1]);
    const thinner = g.input(AUGMENT_INPUTS.thinner, [n, 1, 1, 1]);
    const more = g.op("Mul", [g.op("Sub", [dilated, v]), thicker]);
    const less = g.op("Mul", [g.op("Sub", [eroded, v]), thinner]);
    v = g.op("Add", [g.op("Add", [v, more]), less]);
  }
  if (moves(a)) {
    // Output pixel centres in normalised coordinates (align_corners = 0), homogeneous: [1, H·W, 3].
    const base = new Float32Array(h * w * 3);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) base.set([(2 * j + 1) / w - 1, (2 * i + 1) / h - 1, 1], 3 * (i * w + j));
    const affine = g.input(AUGMENT_INPUTS.affine, [n, 3, 2]);
    const points = g.op("MatMul", [g.initializer(g.fresh("aug_base"), [1, h * w, 3], base), affine]);
    let grid = g.op("Reshape", [points, g.ints([n, h, w, 2], "shape")]);
    const elastic = elasticOf(a);
    if (elastic) {
      const k = elastic.cells;
      const flow = g.input(AUGMENT_INPUTS.flow, [n, 2, k, k]);
      const dense = g.op("Resize", [flow, "", "", g.ints([n, 2, h, w], "sizes")], {
        mode: "linear",
        coordinate_transformation_mode: "align_corners",
      });
      grid = g.op("Add", [grid, g.op("Transpose", [dense], { perm: [0, 2, 3, 1] })]);
    }
    v = g.op("GridSample", [v, grid], { mode: "bilinear", padding_mode: "zeros", align_corners: 0 });
  }
  return c === 1
    ? g.op("Reshape", [v, g.ints([n, h, w, 1], "shape")])
    : g.op("Transpose", [v], { perm: [0, 2, 3, 1] });
}

const moves = (a: Augment) =>
  a.rotation > 0 || a.scale > 0 || a.shear > 0 || a.translate > 0 || elasticOf(a) !== undefined;

/** The elastic setting, when it moves anything: what decides whether the graph has the flow input. */
const elasticOf = (a: Augment) => (a.elastic && a.elastic.alpha > 0 ? a.elastic : undefined);

/** Whether the options change anything at all. */
export const augments = (a: Augment) => moves(a) || a.thickness > 0;

/**
 * The `aug:affine` input of one image ([3, 2], GridSample's normalised coordinates) that rotates it by
 * `rotation` degrees, scales it by `scale`, shears it by `shear` degrees and shifts it by (tx, ty) pixels.
 */
export function affineFor(
  m: { rotation?: number; scale?: number; shear?: number; tx?: number; ty?: number },
  [h, w]: readonly [number, number],
): number[] {
  const rad = Math.PI / 180;
  const [theta, shear, s] = [(m.rotation ?? 0) * rad, (m.shear ?? 0) * rad, 1 / (m.scale ?? 1)];
  const [tx, ty] = [m.tx ?? 0, m.ty ?? 0];
  // In pixels about the centre: source = (1/scale) · R(θ) · Shear · p − t (sampling at 1/scale draws the
  // digit `scale` times larger); then in normalised units, x by w/2 and y by h/2.
  const [cos, sin, sh] = [Math.cos(theta), Math.sin(theta), Math.tan(shear)];
  const [m00, m01, m10, m11] = [s * cos, s * (cos * sh - sin), s * sin, s * (sin * sh + cos)];
  const [ax, ay] = [w / 2, h / 2];
  // source_u = m00·u + m01·(ay/ax)·v − tx/ax, likewise v; laid out as [u, v, 1] × [x, y].
  return [m00, (m10 * ax) / ay, (m01 * ay) / ax, m11, -tx / ax, -ty / ay];
}

/** One image's generator, from the run's seed, the step and the image's row in the whole batch. */
function imageRandom(seed: number, step: number, row: number): Random {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const v of [step, row]) h = Math.imul(h ^ (v + 0x7f4a7c15 + (h << 6) + (h >>> 2)), 0x85ebca6b) >>> 0;
  return new Random(h);
}

/**
 * The parameters of rows rowStart…rowStart+n of step `step`'s batch, as feeds for `addAugmentation`'s inputs.
 * Images are h×w.
 */
export function augmentFeeds(
  a: Augment,
  seed: number,
  step: number,
  rowStart: number,
  n: number,
  [h, w]: readonly [number, number],
): Record<string, { data: Float32Array; shape: number[] }> {
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
  const affine = new Float32Array(n * 6);
  const elastic = elasticOf(a);
  const k = a.elastic?.cells ?? 0; // drawn even at alpha 0, so the later draws stay where they were
  const alpha = elastic?.alpha ?? 0;
  const [ax, ay] = [w / 2, h / 2];
  const flow = new Float32Array(n * 2 * k * k);
  const thicker = new Float32Array(n);
  const thinner = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const rng = imageRandom(seed, step, rowStart + i);
    const theta = rng.uniform(-a.rotation, a.rotation);
    const shear = rng.uniform(-a.shear, a.shear);
    const scale = rng.uniform(1 - a.scale, 1 + a.scale);
    const [tx, ty] = [rng.uniform(-a.translate, a.translate), rng.uniform(-a.translate, a.translate)];
    affine.set(affineFor({ rotation: theta, scale, shear, tx, ty }, [h, w]), 6 * i);
    for (let c = 0; c < 2 * k * k; c++) {
      const px = rng.uniform(-alpha, alpha);
      flow[i * 2 * k * k + c] = px / (c < k * k ? ax : ay);
    }
    const t = rng.uniform(-a.thickness, a.thickness);
    thicker[i] = Math.max(t, 0);
    thinner[i] = Math.max(-t, 0);
  }
  if (moves(a)) feeds[AUGMENT_INPUTS.affine] = { data: affine, shape: [n, 3, 2] };
  if (elastic) feeds[AUGMENT_INPUTS.flow] = { data: flow, shape: [n, 2, k, k] };
  if (a.thickness > 0) {
    feeds[AUGMENT_INPUTS.thicker] = { data: thicker, shape: [n, 1, 1, 1] };
    feeds[AUGMENT_INPUTS.thinner] = { data: thinner, shape: [n, 1, 1, 1] };
  }
  return feeds;
}
