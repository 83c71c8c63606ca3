/** `digits/data`: MNIST, USPS, Fashion-MNIST from wherever they are, any IDX pair or folder of pictures. It knows nothing of the engine. */
export { loadMnist, MNIST_FILES } from "./mnist.js";
export type { Mnist, LoadOptions } from "./mnist.js";
export { loadDataset, loadIdxPair, DATASET_FORMS } from "./dataset.js";
export type { Dataset, DatasetPart, DatasetOptions } from "./dataset.js";
export { KNOWN } from "./known.js";
export { sliceSplit, concatSplits, DataError } from "./split.js";
export type { Split } from "./split.js";
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
