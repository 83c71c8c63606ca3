/** Connected regions of ink: what is one stroke, what is a speck. */

export interface Component {
  id: number;
  area: number;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

/** 8-connected regions of ink: a label per pixel (-1 for paper) and each region's area and bounding box. */
export function components(
  ink: Float32Array,
  width: number,
  height: number,
): { label: Int32Array; parts: Component[] } {
  const label = new Int32Array(ink.length).fill(-1);
  const parts: Component[] = [];
  const stack = new Int32Array(ink.length); // each pixel is pushed at most once
  for (let start = 0; start < ink.length; start++) {
    if (ink[start] === 0 || label[start] >= 0) continue;
    const id = parts.length;
    let [area, x0, x1, y0, y1] = [0, width, -1, height, -1];
    label[start] = id;
    let top = 0;
    stack[top++] = start;
    while (top > 0) {
      const p = stack[--top];
      const px = p % width;
      const py = (p - px) / width;
      area++;
      if (px < x0) x0 = px;
      if (px > x1) x1 = px;
      if (py < y0) y0 = py;
      if (py > y1) y1 = py;
      const xa = px > 0 ? px - 1 : 0;
      const xb = px < width - 1 ? px + 1 : px;
      for (let qy = py > 0 ? py - 1 : 0; qy <= py + 1 && qy < height; qy++)
        for (let q = qy * width + xa; q <= qy * width + xb; q++)
          if (ink[q] > 0 && label[q] < 0) {
            label[q] = id;
            stack[top++] = q;
          }
    }
    parts.push({ id, area, x0, x1, y0, y1 });
  }
  return { label, parts };
}

/**
 * Keeps the connected ink regions that matter: specks far smaller than the largest stroke are erased.
 * Returns the regions kept.
 */
export function dropSpecks(ink: Float32Array, width: number, height: number, minFraction = 0.08) {
  const { label, parts } = components(ink, width, height);
  const largest = parts.reduce((m, p) => Math.max(m, p.area), 0);
  const keep = new Uint8Array(parts.length);
  for (const p of parts) keep[p.id] = p.area >= minFraction * largest ? 1 : 0;
  const kept = parts.filter((p) => keep[p.id]);
  if (kept.length < parts.length)
    for (let i = 0; i < ink.length; i++) if (label[i] >= 0 && !keep[label[i]]) ink[i] = 0;
  return { label, parts: kept };
}
