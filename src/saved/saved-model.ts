/**
 * The model directory on disk: `model.onnx` and `metadata.json` (model-files.ts defines them), written
 * atomically; loading checks everything and says what is wrong.
 */
import fs from "node:fs";
import path from "node:path";
import { unzipSync } from "fflate";
import {
  buildEnsembleGraph,
  Predictor,
  toOnnx,
  type Sequential,
  type SessionOptions,
} from "../engine/index.js";
import { readableDir, writeDir } from "../util/fs.js";
import { sha256 } from "../util/hash.js";
import { readJson } from "../util/json.js";
import { versions } from "../version.js";
import {
  inferenceOnnx,
  METADATA_FILE,
  metadataFor,
  MODEL_FILE,
  ModelError,
  modelsFrom,
  parseMetadata,
  type ModelMetadata,
  type SaveInfo,
} from "./model-files.js";

export * from "./model-files.js";

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

/** A model directory, written as one (util/fs.ts's `writeDir`: whole, old or new, whenever it is killed). */
function writeModelDir(
  dir: string,
  onnx: Uint8Array,
  metadata: ModelMetadata,
  extra: Record<string, string | Uint8Array> = {},
): ModelMetadata {
  writeDir(dir, { [MODEL_FILE]: onnx, [METADATA_FILE]: `${JSON.stringify(metadata, null, 2)}\n`, ...extra });
  return metadata;
}

const checked = (onnx: Uint8Array) => ({ bytes: onnx.length, sha256: sha256(onnx) });

/** Saves a model directory; `extra` files (a checkpoint's optimizer state) are written and swapped in with it. */
export function saveModel(
  dir: string,
  model: Sequential,
  info: SaveInfo = {},
  extra: Record<string, string | Uint8Array> = {},
): ModelMetadata {
  const onnx = inferenceOnnx(model);
  return writeModelDir(dir, onnx, metadataFor(model, checked(onnx), info, versions()), extra);
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
    checked(onnx),
    { architectureName: `ensemble of ${models.length}`, ...info },
    versions(),
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

/** A model from its two files' content; `where` is the directory (or zip) they came from, for errors. */
function fromFiles(where: string, metadataJson: unknown, onnx: Uint8Array | undefined): LoadedModel {
  const metaFile = path.join(where, METADATA_FILE);
  const onnxFile = path.join(where, MODEL_FILE);
  const metadata = parseMetadata(metadataJson, metaFile);
  if (!onnx) throw new ModelError(`${onnxFile}: not found`);
  const expected = metadata.files[MODEL_FILE];
  if (!expected) throw new ModelError(`${metaFile}: lists no checksum for ${MODEL_FILE}`);
  if (onnx.length !== expected.bytes || sha256(onnx) !== expected.sha256) {
    throw new ModelError(
      `${onnxFile}: checksum mismatch with ${METADATA_FILE} (the file was changed or is corrupt)`,
    );
  }
  const members = modelsFrom(metadata, onnx, where);
  const [model] = members;
  // Our reader takes the initializers; onnxruntime parses the whole graph, and may still refuse it.
  const predictor = (options?: SessionOptions) =>
    Predictor.fromOnnx(onnx, model.inputSpec.shape, metadata.io.output.classes, options).catch((e) => {
      throw new ModelError(`${onnxFile}: onnxruntime cannot load it (${(e as Error).message})`, { cause: e });
    });
  return { model, members, metadata, dir: where, onnx, predictor };
}

export function loadModel(dir: string): LoadedModel {
  const readable = readableDir(dir);
  if (!readable) throw new ModelError(`${dir}: model directory not found`);
  if (readable !== dir) return loadModel(readable);
  if (fs.statSync(dir).isFile() && dir.endsWith(".zip")) return loadModelZip(dir);
  const onnxFile = path.join(dir, MODEL_FILE);
  const onnx = fs.existsSync(onnxFile) ? new Uint8Array(fs.readFileSync(onnxFile)) : undefined;
  return fromFiles(dir, readMetadata(path.join(dir, METADATA_FILE)), onnx);
}

/** Zipped bytes' size is capped at what a model can be: a zip bomb is refused before it is inflated. */
const MAX_MODEL_BYTES = 256 * 1024 * 1024;

/**
 * A model directory zipped (as the page's "download the tuned model" gives it): model.onnx and metadata.json
 * at the top of the zip or in one folder.
 */
export function loadModelZip(file: string): LoadedModel {
  let entries: Record<string, Uint8Array>;
  try {
    let total = 0;
    entries = unzipSync(new Uint8Array(fs.readFileSync(file)), {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_MODEL_BYTES) throw new Error(`it inflates to more than ${MAX_MODEL_BYTES} bytes`);
        return /(^|\/)(model\.onnx|metadata\.json)$/.test(f.name);
      },
    });
  } catch (e) {
    throw new ModelError(`${file}: not a readable zip (${(e as Error).message})`, { cause: e });
  }
  const find = (name: string) =>
    Object.entries(entries).find(([n]) => n === name || n.endsWith(`/${name}`))?.[1];
  const meta = find(METADATA_FILE);
  if (!meta)
    throw new ModelError(
      `${file}: holds no ${METADATA_FILE} (a zipped digits model directory has both files)`,
    );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(meta));
  } catch (e) {
    throw new ModelError(`${file}: its ${METADATA_FILE} is not JSON (${(e as Error).message})`);
  }
  return fromFiles(file, json, find(MODEL_FILE));
}
