/**
 * Several digits in one picture (a written number), left to right. Ink regions are grouped into digits by
 * horizontal overlap, so a digit drawn in several strokes (a 5's bar, a 4's two strokes) stays one digit;
 * each digit then goes into MNIST's box on its own.
 */
import { dropSpecks } from "./components.js";
import { inkFromLight } from "./ink.js";
import { mnistFromInk, NoInkError } from "./mnist-box.js";

/** Each digit's ink of a picture's light values, by MNIST's box, in the picture's (reduced) pixels. */
export function digitsOf(light: Float32Array, width: number, height: number) {
  const { ink, inverted } = inkFromLight(light, width, height);
  const { label, parts } = dropSpecks(ink, width, height);
  if (parts.length === 0) throw new NoInkError();
  const groups: { x0: number; x1: number; ids: Set<number> }[] = [];
  for (const p of [...parts].sort((a, b) => a.x0 - b.x0)) {
    const g = groups[groups.length - 1];
    const overlap = g ? Math.min(g.x1, p.x1) - Math.max(g.x0, p.x0) + 1 : 0;
    const narrower = g ? Math.min(g.x1 - g.x0, p.x1 - p.x0) + 1 : 1;
    if (g && overlap >= 0.5 * narrower) {
      g.x0 = Math.min(g.x0, p.x0);
      g.x1 = Math.max(g.x1, p.x1);
      g.ids.add(p.id);
    } else groups.push({ x0: p.x0, x1: p.x1, ids: new Set([p.id]) });
  }
  return groups.map((g) => {
    const own = new Float32Array(ink.length);
    for (let i = 0; i < ink.length; i++) if (label[i] >= 0 && g.ids.has(label[i])) own[i] = ink[i];
    return { ...mnistFromInk(own, width, height), inverted };
  });
}
