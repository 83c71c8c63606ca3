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
  const stack: number[] = [];
  for (let start = 0; start < ink.length; start++) {
    if (ink[start] === 0 || label[start] >= 0) continue;
    const part = { id: parts.length, area: 0, x0: width, x1: -1, y0: height, y1: -1 };
    label[start] = part.id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop() as number;
      const px = p % width;
      const py = (p - px) / width;
      part.area++;
      if (px < part.x0) part.x0 = px;
      if (px > part.x1) part.x1 = px;
      if (py < part.y0) part.y0 = py;
      if (py > part.y1) part.y1 = py;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const qx = px + dx;
          const qy = py + dy;
          if (qx < 0 || qy < 0 || qx >= width || qy >= height) continue;
          const q = qy * width + qx;
          if (ink[q] > 0 && label[q] < 0) {
            label[q] = part.id;
            stack.push(q);
          }
        }
      }
    }
    parts.push(part);
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
  for (let i = 0; i < ink.length; i++) if (label[i] >= 0 && !keep[label[i]]) ink[i] = 0;
  return { label, parts: parts.filter((p) => keep[p.id]) };
}
