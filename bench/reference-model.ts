/** The notebook's CNN, shared by the benchmarks. */
import type { Sequential } from "../src/engine/index.js";
import { buildArchitecture } from "../src/models/architectures.js";

export function referenceCnn(seed = 1): Sequential {
  return buildArchitecture("reference", seed);
}
