/**
 * A digits model in Keras's and TF.js's files, and back:
 * - `.keras` (Keras 3): a zip of metadata.json, config.json and model.weights.h5, weights at
 *   layers/<name>/vars/<i> (every layer has its group, as Keras writes them);
 * - `.h5` (the notebook's legacy Keras HDF5): a `model_config` root attribute and a `model_weights` group with
 *   `layer_names` / `weight_names`, Keras-2 style (what tfjs-converter and old tooling read);
 * - TF.js layers (`model.json` with a Keras-2 `model_config` using `batch_input_shape`, plus weight shards).
 * HDF5 goes through h5wasm (HDF5 itself, compiled to WebAssembly), never a hand-written writer.
 */
import { sizeOf } from "../engine/index.js";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { unzipSync, zipSync } from "fflate";
import { Dataset, File as H5File, Group, Module, ready } from "h5wasm/node";
import type { Sequential } from "../engine/index.js";
import {
  fromKerasLayers,
  InteropError,
  toKerasLayers,
  type KerasLayer,
  type KerasLayerIn,
} from "./layers.js";

/** The Keras version the legacy formats claim (tfjs-converter wants a Keras 2 file). */
const KERAS2 = "2.15.0";
const KERAS3 = "3.15.1";
/** A file larger than this inflates to no model of ours: refused before it is read. */
const MAX_BYTES = 512 * 1024 * 1024;

const dtype3 = {
  module: "keras",
  class_name: "DTypePolicy",
  config: { name: "float32" },
  registered_name: null,
};

function kerasInitializers(l: KerasLayer, v3: boolean): Record<string, unknown> {
  const init = (cls: string, config: Record<string, unknown> = {}) =>
    v3
      ? { module: "keras.initializers", class_name: cls, config, registered_name: null }
      : { class_name: cls, config };
  if (l.className === "Conv2D" || l.className === "Dense")
    return { kernel_initializer: init("GlorotUniform", { seed: null }), bias_initializer: init("Zeros") };
  if (l.className === "BatchNormalization")
    return {
      beta_initializer: init("Zeros"),
      gamma_initializer: init("Ones"),
      moving_mean_initializer: init("Zeros"),
      moving_variance_initializer: init("Ones"),
    };
  return {};
}

/** Keras 3's config.json for the model. */
function keras3Config(model: Sequential, layers: KerasLayer[]) {
  const batch = [null, ...layers[0].inputShape];
  return {
    module: "keras",
    class_name: "Sequential",
    config: {
      name: "sequential",
      trainable: true,
      dtype: dtype3,
      layers: [
        {
          module: "keras.layers",
          class_name: "InputLayer",
          config: { batch_shape: batch, dtype: "float32", sparse: false, ragged: false, name: "input_layer" },
          registered_name: null,
        },
        ...layers.map((l) => ({
          module: "keras.layers",
          class_name: l.className,
          config: {
            name: l.name,
            trainable: true,
            dtype: dtype3,
            ...l.config,
            ...kerasInitializers(l, true),
          },
          registered_name: null,
          build_config: { input_shape: [null, ...l.inputShape] },
        })),
      ],
      build_input_shape: batch,
    },
    registered_name: null,
    build_config: { input_shape: batch },
    compile_config: null,
    // digits' own note of where the model came from (Keras ignores unknown top-level keys).
    digits: { seed: model.seed },
  };
}

/** Keras 2's model_config (legacy HDF5 and TF.js): an InputLayer with batch_input_shape, as Keras 2 wrote it. */
function keras2Config(layers: KerasLayer[]) {
  return {
    class_name: "Sequential",
    config: {
      name: "sequential",
      layers: [
        {
          class_name: "InputLayer",
          config: {
            batch_input_shape: [null, ...layers[0].inputShape],
            dtype: "float32",
            sparse: false,
            ragged: false,
            name: "input_1",
          },
        },
        ...layers.map((l) => ({
          class_name: l.className,
          config: {
            name: l.name,
            trainable: true,
            dtype: "float32",
            ...l.config,
            ...kerasInitializers(l, false),
          },
        })),
      ],
    },
  };
}

/** Runs `work` on an HDF5 file at a temporary path (h5wasm works on files), removed afterwards. */
async function withTempFile<T>(name: string, work: (file: string) => T | Promise<T>): Promise<T> {
  await ready;
  // HDF5's errors as exceptions, not a diagnostic stack printed on stderr.
  (Module as unknown as { activate_throwing_error_handler(): void }).activate_throwing_error_handler();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digits-h5-"));
  try {
    return await work(path.join(dir, name));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function dataset(group: Group, name: string, w: { shape: number[]; data: Float32Array }) {
  group.create_dataset({ name, data: w.data, shape: w.shape, dtype: "<f" });
}

export async function kerasBytes(model: Sequential): Promise<Uint8Array> {
  const layers = toKerasLayers(model);
  const weights = await withTempFile("model.weights.h5", (file) => {
    const f = new H5File(file, "w");
    try {
      f.create_group("layers");
      for (const l of layers) {
        const g = f.create_group(`layers/${l.name}`);
        const vars = g.create_group("vars");
        vars.create_attribute("name", l.name);
        l.weights.forEach((w, i) => dataset(vars, String(i), w));
      }
      f.create_group("vars").create_attribute("name", "sequential");
    } finally {
      f.close();
    }
    return new Uint8Array(fs.readFileSync(file));
  });
  const text = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  return zipSync({
    "metadata.json": text({ keras_version: KERAS3, date_saved: new Date().toISOString() }),
    "config.json": text(keras3Config(model, layers)),
    "model.weights.h5": [weights, { level: 0 }],
  });
}

export async function h5Bytes(model: Sequential): Promise<Uint8Array> {
  const layers = toKerasLayers(model);
  return withTempFile("model.h5", (file) => {
    const f = new H5File(file, "w");
    try {
      f.create_attribute("keras_version", KERAS2);
      f.create_attribute("backend", "tensorflow");
      f.create_attribute("model_config", JSON.stringify(keras2Config(layers)));
      const mw = f.create_group("model_weights");
      mw.create_attribute("keras_version", KERAS2);
      mw.create_attribute("backend", "tensorflow");
      mw.create_attribute(
        "layer_names",
        layers.map((l) => l.name),
      );
      for (const l of layers) {
        const g = mw.create_group(l.name);
        if (l.weights.length === 0) continue; // no weight_names: Keras reads it as none
        g.create_attribute(
          "weight_names",
          l.weights.map((w) => `${l.name}/${w.name}:0`),
        );
        const inner = g.create_group(l.name);
        for (const w of l.weights) dataset(inner, `${w.name}:0`, w);
      }
    } finally {
      f.close();
    }
    return new Uint8Array(fs.readFileSync(file));
  });
}

/** TF.js layers format: model.json and one weight shard. */
export function tfjsFiles(model: Sequential): { "model.json": string; "group1-shard1of1.bin": Uint8Array } {
  const layers = toKerasLayers(model);
  const weights = layers.flatMap((l) => l.weights.map((w) => ({ ...w, name: `${l.name}/${w.name}` })));
  const bin = new Uint8Array(weights.reduce((n, w) => n + w.data.length * 4, 0));
  let at = 0;
  for (const w of weights) {
    bin.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), at); // little-endian floats
    at += w.data.byteLength;
  }
  const json = {
    format: "layers-model",
    generatedBy: "digits",
    convertedBy: null,
    modelTopology: { keras_version: KERAS2, backend: "tensorflow", model_config: keras2Config(layers) },
    weightsManifest: [
      {
        paths: ["group1-shard1of1.bin"],
        weights: weights.map((w) => ({ name: w.name, shape: w.shape, dtype: "float32" })),
      },
    ],
  };
  return { "model.json": `${JSON.stringify(json)}\n`, "group1-shard1of1.bin": bin };
}

// ------------------------------------------------------------------------------------------------ import

interface KerasConfig {
  class_name?: string;
  config?: { layers?: { class_name: string; config: Record<string, unknown> }[] } & Record<string, unknown>;
}

/** The layers of a Keras Sequential config (Keras 2 or 3), and the input shape it declares. */
function sequentialLayers(config: KerasConfig, where: string): { input: number[]; layers: KerasLayerIn[] } {
  if (config?.class_name !== "Sequential" || !Array.isArray(config.config?.layers))
    throw new InteropError(
      `${where}: not a Keras Sequential model (class ${config?.class_name ?? "none"}); digits imports Sequential models`,
    );
  let input: number[] | undefined;
  const layers: KerasLayerIn[] = [];
  for (const l of config.config.layers) {
    const c = l.config ?? {};
    const batch = (c.batch_shape ?? c.batch_input_shape) as (number | null)[] | undefined;
    if (batch && !input) input = batch.slice(1) as number[];
    if (l.class_name === "InputLayer") continue;
    layers.push({ className: l.class_name, name: c.name as string | undefined, config: c, weights: [] });
  }
  if (!input || input.some((d) => typeof d !== "number"))
    throw new InteropError(
      `${where}: the model declares no fixed input shape (an InputLayer or batch_input_shape)`,
    );
  return { input, layers };
}

function readF32(ds: Dataset, where: string): { shape: number[]; data: Float32Array } {
  const value = ds.value;
  if (!(value instanceof Float32Array || value instanceof Float64Array))
    throw new InteropError(`${where}: weight ${ds.path} is not a float array`);
  return { shape: [...(ds.shape ?? [])], data: Float32Array.from(value) };
}

/** HDF5's reason from its error stack: the first "in H5Xxx(): what" line ("unable to open file"). */
function hdf5Reason(message: string): string {
  return /\(\): ([^\n]+)/.exec(message)?.[1] ?? message.split("\n")[0];
}

/** Opens HDF5 bytes (h5wasm reads files), turning its failures into one clear error. */
async function readHdf5<T>(bytes: Uint8Array, where: string, read: (f: H5File) => T): Promise<T> {
  return withTempFile("in.h5", (file) => {
    fs.writeFileSync(file, bytes);
    let f: H5File;
    try {
      f = new H5File(file, "r");
    } catch (e) {
      throw new InteropError(`${where}: not a readable HDF5 file (${hdf5Reason((e as Error).message)})`);
    }
    try {
      return read(f);
    } catch (e) {
      if (e instanceof InteropError) throw e;
      // h5wasm opens a cut-short file and fails on the first read of what is missing.
      throw new InteropError(
        `${where}: not a readable HDF5 file, or cut short (${hdf5Reason((e as Error).message)})`,
      );
    } finally {
      try {
        f.close();
      } catch {
        // a damaged file may not close cleanly; the error above says what matters
      }
    }
  });
}

function group(f: H5File | Group, name: string): Group | undefined {
  const g = f.get(name);
  return g instanceof Group ? g : undefined;
}

export async function fromKeras(file: string): Promise<Sequential> {
  const bytes = readLimited(file);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new InteropError(`${file}: not a readable .keras zip (${(e as Error).message})`);
  }
  for (const need of ["config.json", "model.weights.h5"])
    if (!entries[need])
      throw new InteropError(
        `${file}: holds no ${need} (a .keras file has metadata.json, config.json, model.weights.h5)`,
      );
  const { input, layers } = sequentialLayers(
    parseJson(entries["config.json"], `${file}: config.json`),
    `${file}: config.json`,
  );
  await readHdf5(entries["model.weights.h5"], `${file}: model.weights.h5`, (f) => {
    for (const l of layers) {
      const vars = group(f, `layers/${l.name}/vars`);
      const names = vars
        ? vars
            .keys()
            .filter((k) => /^\d+$/.test(k))
            .sort((a, b) => Number(a) - Number(b))
        : [];
      l.weights = names.map((n: string) => readF32(vars!.get(n) as Dataset, file));
    }
  });
  return fromKerasLayers(input, layers);
}

export async function fromH5(file: string): Promise<Sequential> {
  return readHdf5(readLimited(file), file, (f) => {
    const attr = f.attrs.model_config;
    if (!attr)
      throw new InteropError(
        `${file}: no model_config attribute (weights only?): digits needs the architecture too`,
      );
    const text = attr.value;
    const { input, layers } = sequentialLayers(
      parseJson(typeof text === "string" ? text : String(text), `${file}: model_config`),
      file,
    );
    const mw = group(f, "model_weights") ?? f;
    for (const l of layers) {
      const g = group(mw, l.name as string);
      const names = (g?.attrs.weight_names?.value ?? []) as string[] | string;
      const list = typeof names === "string" ? [names] : [...names];
      l.weights = list.map((n) => {
        const ds = g!.get(n);
        if (!(ds instanceof Dataset))
          throw new InteropError(`${file}: weight ${n} of layer ${l.name} is missing`);
        return readF32(ds, file);
      });
    }
    return fromKerasLayers(input, layers);
  });
}

export function fromTfjs(file: string): Sequential {
  const json = parseJson(readLimited(file), file) as {
    modelTopology?: { model_config?: KerasConfig } & KerasConfig;
    weightsManifest?: { paths: string[]; weights: { name: string; shape: number[]; dtype?: string }[] }[];
  };
  const topology = json.modelTopology?.model_config ?? json.modelTopology;
  if (!topology || !json.weightsManifest)
    throw new InteropError(`${file}: not a TF.js layers model.json (no modelTopology or weightsManifest)`);
  const { input, layers } = sequentialLayers(topology as KerasConfig, file);
  const byName = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const group of json.weightsManifest) {
    const shards = group.paths.map((p) => {
      const shard = path.join(path.dirname(file), p);
      if (!fs.existsSync(shard))
        throw new InteropError(`${file}: weight shard ${p} is missing (looked for ${shard})`);
      return readLimited(shard);
    });
    const all = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
    shards.reduce((at, s) => (all.set(s, at), at + s.length), 0);
    let at = 0;
    for (const w of group.weights) {
      if ((w.dtype ?? "float32") !== "float32")
        throw new InteropError(`${file}: weight ${w.name} is ${w.dtype}; digits reads float32`);
      const n = sizeOf(w.shape);
      if (at + 4 * n > all.length)
        throw new InteropError(`${file}: the shards are shorter than the manifest says (at ${w.name})`);
      byName.set(w.name, { shape: w.shape, data: new Float32Array(all.slice(at, at + 4 * n).buffer) });
      at += 4 * n;
    }
  }
  for (const l of layers) {
    const mine = [...byName.keys()].filter((k) => k.startsWith(`${l.name}/`));
    const order = ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"];
    mine.sort((a, b) => order.indexOf(a.split("/").pop()!) - order.indexOf(b.split("/").pop()!));
    l.weights = mine.map((k) => byName.get(k)!);
  }
  return fromKerasLayers(input, layers);
}

function readLimited(file: string): Uint8Array {
  if (!fs.existsSync(file)) throw new InteropError(`${file}: not found`);
  const size = fs.statSync(file).size;
  if (size > MAX_BYTES)
    throw new InteropError(`${file}: ${size} bytes is larger than any model digits reads`);
  return new Uint8Array(fs.readFileSync(file));
}

function parseJson(bytes: Uint8Array | string, where: string): KerasConfig {
  try {
    return JSON.parse(typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InteropError(`${where}: not JSON (${(e as Error).message})`);
  }
}
