/**
 * A digits model's two files as bytes and JSON — no file system, so the page (fine-tuning in a worker) and
 * the CLI share one definition of the format: `model.onnx` (the inference graph with its weights, the single
 * copy of them) and `metadata.json` (architecture, training, history, metrics, checksums, versions).
 */
import onnxProto from "onnx-proto";
import { z } from "zod";
import { buildInferenceGraph, INPUT, OUTPUT, memberKey } from "../engine/compiler/compile.js";
import { toOnnx } from "../engine/graph/serialize.js";
import { fromArchitecture, type Sequential } from "../engine/model/sequential.js";

export const MODEL_FILE = "model.onnx";
export const METADATA_FILE = "metadata.json";
export const FORMAT = "digits-model";
export const FORMAT_VERSION = 1;

/** Keys models saved before 2026-12-06 spelled in camelCase; they load under Keras's spelling. */
const LEGACY_EPOCH_KEYS: Record<string, string> = {
  validationSeconds: "validation_seconds",
  imagesPerSecond: "images_per_second",
};

/** One epoch of training history (also what a run's history.json holds). */
export const epochSchema = z.preprocess(
  (v) =>
    typeof v === "object" && v !== null
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [LEGACY_EPOCH_KEYS[k] ?? k, x]))
      : v,
  z.object({
    loss: z.number(),
    accuracy: z.number(),
    val_loss: z.number().optional(),
    val_accuracy: z.number().optional(),
    learning_rate: z.number().optional(),
    seconds: z.number(),
    validation_seconds: z.number().optional(),
    images_per_second: z.number(),
  }),
);

/** An epoch as stored (runs and models written before a field existed lack it). */
export type SavedEpoch = z.infer<typeof epochSchema>;

const architectureSchema = z.object({
  input: z.array(z.number().int().positive()),
  layers: z.array(z.object({ className: z.string(), config: z.record(z.string(), z.unknown()) })),
});

const metadataSchema = z.object({
  format: z.literal(FORMAT),
  formatVersion: z.literal(FORMAT_VERSION),
  createdAt: z.string(),
  architecture: architectureSchema,
  architectureName: z.string().optional(),
  seed: z.number().int(),
  io: z.object({
    input: z.object({
      name: z.string(),
      shape: z.array(z.number()),
      range: z.tuple([z.number(), z.number()]),
      layout: z.string(),
    }),
    output: z.object({ name: z.string(), classes: z.number().int().positive(), labels: z.array(z.string()) }),
  }),
  files: z.record(
    z.string(),
    z.object({ sha256: z.string().length(64), bytes: z.number().int().nonnegative() }),
  ),
  parameters: z.object({ total: z.number().int(), trainable: z.number().int() }),
  training: z.record(z.string(), z.unknown()).optional(),
  history: z.array(epochSchema).optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  /** Temperature scaling and the "unsure" threshold (unsure/calibrate.ts), when the model was calibrated. */
  calibration: z
    .object({
      temperature: z.number().positive(),
      threshold: z.number().min(0).max(1),
      coverage: z.number(),
      fittedOn: z.array(z.string()),
      count: z.number().int(),
    })
    .passthrough()
    .optional(),
  /** An ensemble's members (model.onnx averages their probabilities); `architecture` is then the first's. */
  members: z
    .array(
      z.object({ architecture: architectureSchema, seed: z.number().int(), from: z.string().optional() }),
    )
    .min(2)
    .optional(),
  versions: z.record(z.string(), z.string()),
});
export type ModelMetadata = z.infer<typeof metadataSchema>;

export interface SaveInfo {
  architectureName?: string;
  training?: Record<string, unknown>;
  history?: readonly SavedEpoch[];
  metrics?: Record<string, unknown>;
  calibration?: ModelMetadata["calibration"];
}

export class ModelError extends Error {
  override name = "ModelError";
}

/** The metadata of a model.onnx for `model` (an ensemble's first member) and its run. */
export function metadataFor(
  model: Sequential,
  onnx: { bytes: number; sha256: string },
  info: SaveInfo,
  versions: Record<string, string>,
  parameters = model.countParams(),
): ModelMetadata {
  return {
    format: FORMAT,
    formatVersion: FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    architecture: model.architecture() as ModelMetadata["architecture"],
    ...(info.architectureName ? { architectureName: info.architectureName } : {}),
    seed: model.seed,
    io: {
      input: {
        name: INPUT,
        shape: [-1, ...model.inputSpec.shape],
        range: [0, 1],
        layout: "NHWC, white ink on black",
      },
      output: {
        name: OUTPUT,
        classes: model.outputShape[0],
        labels: Array.from({ length: model.outputShape[0] }, (_, i) => String(i)),
      },
    },
    files: { [MODEL_FILE]: { sha256: onnx.sha256, bytes: onnx.bytes } },
    parameters,
    ...(info.training ? { training: info.training } : {}),
    ...(info.history ? { history: [...info.history] } : {}),
    ...(info.metrics ? { metrics: info.metrics } : {}),
    ...(info.calibration ? { calibration: info.calibration } : {}),
    versions,
  };
}

/** The inference graph of `model` with its weights, as model.onnx bytes. */
export function inferenceOnnx(model: Sequential): Uint8Array {
  return toOnnx(buildInferenceGraph(model), { docString: "digits: handwritten digit classifier" });
}

/** Checks metadata.json's content; `where` names the file in the error. */
export function parseMetadata(json: unknown, where: string): ModelMetadata {
  const parsed = metadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelError(
      `${where}: not a digits model (${issue.path.join(".") || "top level"}: ${issue.message})`,
    );
  }
  return parsed.data;
}

/** Weights by name from an ONNX model's float initializers. */
export function onnxInitializers(bytes: Uint8Array): Map<string, Float32Array> {
  const model = onnxProto.onnx.ModelProto.decode(bytes);
  const out = new Map<string, Float32Array>();
  for (const t of model.graph?.initializer ?? []) {
    if (t.dataType !== 1 || !t.name) continue;
    if (t.rawData && t.rawData.length) {
      const raw = t.rawData;
      const copy = new Uint8Array(raw.length);
      copy.set(raw);
      out.set(t.name, new Float32Array(copy.buffer));
    } else {
      out.set(t.name, Float32Array.from(t.floatData ?? []));
    }
  }
  return out;
}

/** The model(s) metadata describes, with their weights from model.onnx; `where` names the model in errors. */
export function modelsFrom(metadata: ModelMetadata, onnx: Uint8Array, where: string): Sequential[] {
  let weights: Map<string, Float32Array>;
  try {
    weights = onnxInitializers(onnx);
  } catch (e) {
    throw new ModelError(`${where}/${MODEL_FILE}: not a readable ONNX model (${(e as Error).message})`);
  }
  // A weight that is NaN or infinite makes every answer NaN: such a file is damaged, whatever its checksum.
  for (const [key, values] of weights)
    for (let i = 0; i < values.length; i++)
      if (!Number.isFinite(values[i]))
        throw new ModelError(
          `${where}/${MODEL_FILE}: weight ${key}[${i}] is ${values[i]} (the model is damaged)`,
        );
  try {
    // Every member's weights must be there, under its prefix in an ensemble ("m1/conv2d/kernel").
    const specs = metadata.members ?? [{ architecture: metadata.architecture, seed: metadata.seed }];
    return specs.map((spec, i) => {
      const model = fromArchitecture(spec.architecture, { seed: spec.seed });
      const name = (key: string) => (metadata.members ? memberKey(i, key) : key);
      model.setWeights(
        new Map(model.weightSpecs.map((w) => [w.key, weights.get(name(w.key)) as Float32Array])),
      );
      return model;
    });
  } catch (e) {
    throw new ModelError(
      `${where}: ${METADATA_FILE} and ${MODEL_FILE} do not agree (${(e as Error).message})`,
    );
  }
}
