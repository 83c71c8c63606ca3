/** `digits/data`: MNIST from wherever it is, and any IDX image/label pair. It knows nothing of the engine. */
export { loadMnist, loadIdxPair, sliceSplit, DataError, MNIST_FILES } from "./mnist.js";
export type { Mnist, Split, LoadOptions } from "./mnist.js";
export {
  readImages,
  readLabels,
  parseImages,
  parseLabels,
  encodeImages,
  encodeLabels,
  IdxError,
} from "./idx.js";
export type { IdxImages, IdxLabels } from "./idx.js";
