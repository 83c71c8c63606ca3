/** fast-check arbitraries shared by the suites that attack parsers with damaged files. */
import fc from "fast-check";

/** Copies of `original` with 1 to `maxFlips` bytes XORed with a nonzero value (positions wrap around). */
export function flippedBytes(original: Uint8Array, maxFlips: number): fc.Arbitrary<Uint8Array> {
  return fc
    .array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: maxFlips })
    .map((flips) => {
      const b = Uint8Array.from(original);
      for (const [at, x] of flips) b[at % b.length] ^= x;
      return b;
    });
}
