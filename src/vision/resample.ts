/** Resampling a single-channel image: area-averaged (anti-aliased) when shrinking, linear when growing. */

/** 1-D resampling weights: area-averaging when shrinking (anti-aliased), linear interpolation when growing. */
function weights(from: number, to: number): { index: number; weight: number }[][] {
  const scale = from / to;
  return Array.from({ length: to }, (_, j) => {
    if (scale >= 1) {
      const lo = j * scale;
      const hi = lo + scale;
      const out: { index: number; weight: number }[] = [];
      for (let i = Math.floor(lo); i < Math.min(from, Math.ceil(hi)); i++) {
        const overlap = Math.min(hi, i + 1) - Math.max(lo, i);
        if (overlap > 0) out.push({ index: i, weight: overlap / scale });
      }
      return out;
    }
    const centre = Math.min(Math.max((j + 0.5) * scale - 0.5, 0), from - 1);
    const i = Math.floor(centre);
    const t = centre - i;
    return i + 1 < from
      ? [
          { index: i, weight: 1 - t },
          { index: i + 1, weight: t },
        ]
      : [{ index: i, weight: 1 }];
  });
}

/** Resizes a w×h single-channel image to tw×th (separable). */
export function resize(src: Float32Array, w: number, h: number, tw: number, th: number): Float32Array {
  const wx = weights(w, tw);
  const wy = weights(h, th);
  const rows = new Float32Array(h * tw);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const { index, weight } of wx[x]) s += src[y * w + index] * weight;
      rows[y * tw + x] = s;
    }
  }
  const out = new Float32Array(th * tw);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const { index, weight } of wy[y]) s += rows[index * tw + x] * weight;
      out[y * tw + x] = s;
    }
  }
  return out;
}
