/** `digits/zoo`: the named architectures, the saved-model directory, and the shipped model. */
export { ARCHITECTURES, buildArchitecture, isArchitectureName } from "./architectures.js";
export type { ArchitectureName } from "./architectures.js";
export {
  saveModel,
  saveEnsemble,
  loadModel,
  ModelError,
  MODEL_FILE,
  METADATA_FILE,
} from "../saved/saved-model.js";
export type { LoadedModel, ModelMetadata, SaveInfo } from "../saved/saved-model.js";
export { openModel, resolveModelDir } from "../saved/resolve.js";
export { DEFAULT_MODEL_DIR } from "../paths.js";
