/**
 * The model directory: `model.onnx` (the inference graph with its weights: the single copy of them, usable by
 * any ONNX runtime) and `metadata.json` (architecture, training config, history, metrics, checksums,
 * versions). Written atomically; loading checks everything and says what is wrong.
 */
import fs from "node:fs";
import path from "node:path";
import onnxProto from "onnx-proto";
import { z } from "zod";
import {
  buildEnsembleGraph,
  buildInferenceGraph,
  fromArchitecture,
  INPUT,
  memberKey,
  OUTPUT,
  Predictor,
  toOnnx,
  type EpochLogs,
  type Sequential,
  type SessionOptions,
} from "../engine/index.js";
import { sha256 } from "../util/hash.js";
import { readJson } from "../util/json.js";
import { versions } from "../version.js";

export const MODEL_FILE = "model.onnx";
export const METADATA_FILE = "metadata.json";
export const FORMAT = "digits-model";
export const FORMAT_VERSION = 1;

/** One epoch of training history (also what a run's history.json holds). */
export const epochSchema = z.object({
  loss: z.number(),
  accuracy: z.number(),
  val_loss: z.number().optional(),
  val_accuracy: z.number().optional(),
  learning_rate: z.number().optional(),
  seconds: z.number(),
  validationSeconds: z.number().optional(),
  imagesPerSecond: z.number(),
});

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
  history?: readonly EpochLogs[];
  metrics?: Record<string, unknown>;
}

export class ModelError extends Error {
  override name = "ModelError";
}

export interface LoadedModel {
  /** The model (an ensemble's first member: predictions of an ensemble go through `predictor()`). */
  model: Sequential;
  /** Every member of an ensemble; the model alone otherwise. */
  members: Sequential[];
  metadata: ModelMetadata;
  dir: string;
  /** The model.onnx bytes as loaded (for serving to browsers). */
  onnx: Uint8Array;
  /** A Predictor running model.onnx itself: what every command, the server and the page run. */
  predictor(options?: SessionOptions): Promise<Predictor>;
}

/** The metadata of a model.onnx for `model` (an ensemble's first member) and its run. */
function metadataFor(
  model: Sequential,
  onnx: Uint8Array,
  info: SaveInfo,
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
    files: { [MODEL_FILE]: { sha256: sha256(onnx), bytes: onnx.length } },
    parameters,
    ...(info.training ? { training: info.training } : {}),
    ...(info.history ? { history: [...info.history] } : {}),
    ...(info.metrics ? { metrics: info.metrics } : {}),
    versions: versions(),
  };
}

/** Writes `dir` atomically: a sibling temp directory, renamed into place. */
function writeModelDir(dir: string, onnx: Uint8Array, metadata: ModelMetadata): ModelMetadata {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(target)}.tmp-`));
  try {
    fs.chmodSync(tmp, 0o755); // mkdtemp makes it private; a model directory is an ordinary one
    fs.writeFileSync(path.join(tmp, MODEL_FILE), onnx);
    fs.writeFileSync(path.join(tmp, METADATA_FILE), `${JSON.stringify(metadata, null, 2)}\n`);
    if (fs.existsSync(target)) {
      const old = `${tmp}.old`;
      fs.renameSync(target, old);
      fs.renameSync(tmp, target);
      fs.rmSync(old, { recursive: true, force: true });
    } else {
      fs.renameSync(tmp, target);
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return metadata;
}

export function saveModel(dir: string, model: Sequential, info: SaveInfo = {}): ModelMetadata {
  const onnx = toOnnx(buildInferenceGraph(model), { docString: "digits: handwritten digit classifier" });
  return writeModelDir(dir, onnx, metadataFor(model, onnx, info));
}

/** Saves models as one: a model.onnx averaging their probabilities, each member recorded in the metadata. */
export function saveEnsemble(
  dir: string,
  members: readonly { model: Sequential; from?: string }[],
  info: SaveInfo = {},
): ModelMetadata {
  const models = members.map((m) => m.model);
  const onnx = toOnnx(buildEnsembleGraph(models), {
    docString: `digits: an ensemble of ${models.length} digit classifiers`,
  });
  const sum = (k: "total" | "trainable") => models.reduce((n, m) => n + m.countParams()[k], 0);
  const metadata = metadataFor(
    models[0],
    onnx,
    { architectureName: `ensemble of ${models.length}`, ...info },
    {
      total: sum("total"),
      trainable: sum("trainable"),
    },
  );
  metadata.members = members.map((m) => ({
    architecture: m.model.architecture() as ModelMetadata["architecture"],
    seed: m.model.seed,
    ...(m.from ? { from: m.from } : {}),
  }));
  return writeModelDir(dir, onnx, metadata);
}

function readMetadata(file: string): unknown {
  try {
    return readJson(file, "model directory");
  } catch (e) {
    throw new ModelError((e as Error).message, { cause: e });
  }
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

export function loadModel(dir: string): LoadedModel {
  if (!fs.existsSync(dir)) throw new ModelError(`${dir}: model directory not found`);
  const metaFile = path.join(dir, METADATA_FILE);
  const parsed = metadataSchema.safeParse(readMetadata(metaFile));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelError(
      `${metaFile}: not a digits model (${issue.path.join(".") || "top level"}: ${issue.message})`,
    );
  }
  const metadata = parsed.data;
  const onnxFile = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(onnxFile)) throw new ModelError(`${onnxFile}: not found`);
  const onnx = new Uint8Array(fs.readFileSync(onnxFile));
  const expected = metadata.files[MODEL_FILE];
  if (!expected) throw new ModelError(`${metaFile}: lists no checksum for ${MODEL_FILE}`);
  if (onnx.length !== expected.bytes || sha256(onnx) !== expected.sha256) {
    throw new ModelError(
      `${onnxFile}: checksum mismatch with ${METADATA_FILE} (the file was changed or is corrupt)`,
    );
  }
  let weights: Map<string, Float32Array>;
  try {
    weights = onnxInitializers(onnx);
  } catch (e) {
    throw new ModelError(`${onnxFile}: not a readable ONNX model (${(e as Error).message})`);
  }
  let members: Sequential[];
  try {
    // Every member's weights must be there, under its prefix in an ensemble ("m1/conv2d/kernel").
    const specs = metadata.members ?? [{ architecture: metadata.architecture, seed: metadata.seed }];
    members = specs.map((spec, i) => {
      const model = fromArchitecture(spec.architecture, { seed: spec.seed });
      const name = (key: string) => (metadata.members ? memberKey(i, key) : key);
      model.setWeights(
        new Map(model.weightSpecs.map((w) => [w.key, weights.get(name(w.key)) as Float32Array])),
      );
      return model;
    });
  } catch (e) {
    throw new ModelError(`${dir}: ${METADATA_FILE} and ${MODEL_FILE} do not agree (${(e as Error).message})`);
  }
  const [model] = members;
  const predictor = (options?: SessionOptions) =>
    Predictor.fromOnnx(onnx, model.inputSpec.shape, metadata.io.output.classes, options);
  return { model, members, metadata, dir, onnx, predictor };
}
