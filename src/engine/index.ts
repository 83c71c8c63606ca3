/** The engine's public API: build, train and run models. It knows nothing of MNIST. */
export {
  conv2d,
  maxPooling2d,
  flatten,
  dense,
  dropout,
  batchNormalization,
  activation,
  kerasShape,
} from "./model/layers.js";
export type { Layer, Activation } from "./model/layers.js";
export { sequential, input, fromArchitecture, Sequential } from "./model/sequential.js";
export type { Architecture } from "./model/sequential.js";
export { Random } from "../util/random.js";
export { adam, sgd, optimizerFromConfig } from "./compiler/optimizers.js";
export type { Optimizer } from "./compiler/optimizers.js";
export {
  buildEnsembleGraph,
  buildInsideGraph,
  INSIDE,
  buildInferenceGraph,
  INPUT,
  memberKey,
  OUTPUT,
} from "./compiler/compile.js";
export { buildTrainGraph, buildGradients, parseStepSpec } from "./compiler/train-graph.js";
export type { StepSpec, StepSpecOptions } from "./compiler/train-graph.js";
export { toOnnx } from "./graph/serialize.js";
export { sizeOf } from "./graph/ir.js";
export { addAugmentation, augmentFeeds, parseAugment, AUGMENT_INPUTS } from "./compiler/augment.js";
export type { Augment, AugmentOptions } from "./compiler/augment.js";
export { fit } from "./runtime/fit.js";
export { defaultReplicas } from "./runtime/replicas.js";
export { defaultThreads } from "./runtime/ort.js";
export type { SessionOptions } from "./runtime/ort.js";
export type { FitOptions, FitHandle, FitCallbacks } from "./runtime/fit.js";
export type { ByteImages, EpochLogs, BatchProgress, LoopResult } from "./runtime/loop.js";
export type { OptimizerState } from "./runtime/step.js";
export { Predictor, predict, evaluate, score } from "./runtime/inference.js";
export { argmax, argmaxRows } from "../util/argmax.js";
export type { Evaluation } from "./runtime/inference.js";
export type { Labels } from "./runtime/checks.js";
