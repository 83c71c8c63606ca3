/**
 * Loading a model from files under attack (fast-check): model.onnx as random bytes, cut short or with bytes
 * flipped (its checksum in metadata.json updated, so the parser itself is reached), metadata.json as random
 * JSON or with random values in its fields, architectures declaring absurd sizes. The bounds this suite
 * checks: each load either gives a model whose predictions are probabilities, or fails with a ModelError
 * naming the file, within 2 s.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_MODEL_DIR } from "../../src/paths.js";
import { sha256 } from "../../src/util/hash.js";
import { buildArchitecture } from "../../src/zoo/architectures.js";
import { loadModel, METADATA_FILE, MODEL_FILE, ModelError, saveModel } from "../../src/saved/saved-model.js";
import { flippedBytes } from "../helpers/fuzz.js";

const ONNX = new Uint8Array(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, MODEL_FILE)));
const META = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, METADATA_FILE), "utf8"));
const root = fs.mkdtempSync(path.join(os.tmpdir(), "digits-model-fuzz-"));
let n = 0;

/** A model directory holding these files, metadata's checksum made to match the ONNX bytes. */
function directory(onnx: Uint8Array, metadata: unknown, fixChecksum = true): string {
  const dir = path.join(root, String(n++));
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, MODEL_FILE), onnx);
  const meta =
    fixChecksum && metadata && typeof metadata === "object"
      ? { ...metadata, files: { [MODEL_FILE]: { bytes: onnx.length, sha256: sha256(onnx) } } }
      : metadata;
  fs.writeFileSync(path.join(dir, METADATA_FILE), typeof meta === "string" ? meta : JSON.stringify(meta));
  return dir;
}

/** Loads, and if it loads, predicts: a model that loads must work. */
async function loadsOrRefuses(dir: string): Promise<"loaded" | "refused"> {
  const t0 = performance.now();
  try {
    const model = loadModel(dir);
    const predictor = await model.predictor({ threads: 1 });
    try {
      const p = await predictor.predict(new Float32Array(784).fill(0.5));
      expect(p.length).toBe(10);
      expect(Math.abs(p.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);
    } finally {
      await predictor.release();
    }
    return "loaded";
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(ModelError);
    expect((e as Error).message).toContain(dir);
    return "refused";
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

describe("loading a model, under attack", () => {
  it("model.onnx as random bytes, cut short, or with bytes flipped: loads and works, or a ModelError", async () => {
    const seen = { loaded: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc
            .double({ min: 0, max: 1, noNaN: true })
            .map((f) => ONNX.subarray(0, Math.floor(ONNX.length * f))),
          flippedBytes(ONNX, 6),
        ),
        async (onnx) => {
          seen[await loadsOrRefuses(directory(onnx, META))]++;
        },
      ),
      { numRuns: 150 },
    );
    console.log(`model fuzz (onnx): ${seen.loaded} loaded and predicted, ${seen.refused} refused`);
    expect(seen.refused).toBeGreaterThan(0);
  }, 120_000);

  it("metadata.json as random JSON, or its fields given random values: a ModelError, or a working model", async () => {
    const field = fc.constantFrom(
      "format",
      "formatVersion",
      "architecture",
      "seed",
      "io",
      "files",
      "members",
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.string(),
          fc.tuple(field, fc.jsonValue()).map(([k, v]) => ({ ...META, [k]: v })),
        ),
        fc.boolean(),
        async (metadata, fixChecksum) => {
          await loadsOrRefuses(directory(ONNX, metadata, fixChecksum));
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);

  it("a model whose weights hold NaN or Infinity is refused, naming the weight", async () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const model = buildArchitecture("reference", 1);
      (model.weights.get("dense/kernel") as Float32Array)[17] = bad; // in place: setWeights would refuse it
      const dir = path.join(root, `bad-${bad}`);
      saveModel(dir, model);
      expect(() => loadModel(dir)).toThrow(new RegExp(`weight dense/kernel\\[17\\] is ${bad}`));
    }
  });

  it("an architecture declaring absurd sizes is refused without allocating them", async () => {
    for (const [className, config] of [
      ["Dense", { units: 2 ** 31, activation: "relu" }],
      ["Conv2D", { filters: 50_000_000, kernel_size: [3, 3], activation: "relu" }],
      ["Dense", { units: Number.NaN }],
      ["Conv2D", { filters: 32, kernel_size: [100_000, 100_000] }],
    ] as const) {
      const architecture = {
        ...META.architecture,
        layers: [{ className, config }, ...META.architecture.layers.slice(1)],
      };
      const before = process.memoryUsage().rss;
      expect(await loadsOrRefuses(directory(ONNX, { ...META, architecture }))).toBe("refused");
      expect(process.memoryUsage().rss - before, `${className} ${JSON.stringify(config)}`).toBeLessThan(
        512 * 2 ** 20,
      );
    }
  });
});
