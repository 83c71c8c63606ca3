/** The index of the largest value (the first, on ties): the predicted class. Imports nothing (the page uses it). */
export function argmax(row: ArrayLike<number>, start = 0, length = row.length - start): number {
  let best = 0;
  for (let c = 1; c < length; c++) if (row[start + c] > row[start + best]) best = c;
  return best;
}

/** argmax of each row of a [count × classes] matrix. */
export function argmaxRows(values: ArrayLike<number>, classes: number): Uint8Array {
  const out = new Uint8Array(values.length / classes);
  for (let i = 0; i < out.length; i++) out[i] = argmax(values, i * classes, classes);
  return out;
}
