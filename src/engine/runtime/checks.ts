/** Checks on data handed to the engine, so bad input fails with a clear message instead of NaN or a crash. */

/** Class indices, or one-hot rows (Float32Array of count × classes). */
export type Labels = Uint8Array | Int32Array | readonly number[] | Float32Array;

/** Returns the number of examples; throws if x is not whole examples of finite numbers. */
export function checkInputs(x: Float32Array, perExample: number, what: string): number {
  if (!(x instanceof Float32Array)) throw new Error(`${what}: inputs must be a Float32Array`);
  if (x.length % perExample !== 0) {
    throw new Error(
      `${what}: ${x.length} input values are not a whole number of examples of ${perExample} values`,
    );
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new Error(
        `${what}: input value ${i} (example ${Math.floor(i / perExample)}) is ${x[i]}, not a finite number`,
      );
    }
  }
  return x.length / perExample;
}

/** Class indices for `count` examples, whichever way labels were given. */
export function checkLabels(labels: Labels, count: number, classes: number, what: string): Uint8Array {
  if (labels instanceof Float32Array && labels.length === count * classes && count * classes !== count) {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      let hot = -1;
      for (let c = 0; c < classes; c++) {
        const v = labels[i * classes + c];
        if (v === 1 && hot < 0) hot = c;
        else if (v !== 0) hot = -2;
      }
      if (hot < 0) throw new Error(`${what}: one-hot label row ${i} is not a single 1 among 0s`);
      out[i] = hot;
    }
    return out;
  }
  if (labels.length !== count) {
    throw new Error(
      `${what}: ${labels.length} labels for ${count} examples (give one class index per example)`,
    );
  }
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= classes) {
      throw new Error(`${what}: label ${i} is ${l}, not a class 0–${classes - 1}`);
    }
    out[i] = l;
  }
  return out;
}
