/**
 * A model and its optimizer as plain data, to cross into a worker thread (`fit`'s training worker, the
 * data-parallel replicas' helpers) and be rebuilt there.
 */
import { optimizerFromConfig, type Optimizer } from "../compiler/optimizers.js";
import { fromArchitecture, type Architecture, type Sequential } from "../model/sequential.js";

export interface ModelPayload {
  architecture: Architecture;
  modelSeed: number;
  weights: Map<string, Float32Array>;
  optimizer: { name: string; config: Record<string, unknown> };
}

export function toPayload(model: Sequential, optimizer: Optimizer): ModelPayload {
  return {
    architecture: model.architecture(),
    modelSeed: model.seed,
    weights: model.weights,
    optimizer: { name: optimizer.name, config: optimizer.config },
  };
}

export function fromPayload(p: ModelPayload): { model: Sequential; optimizer: Optimizer } {
  const model = fromArchitecture(p.architecture, { seed: p.modelSeed });
  model.setWeights(p.weights);
  return { model, optimizer: optimizerFromConfig(p.optimizer.name, p.optimizer.config) };
}
