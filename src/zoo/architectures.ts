/**
 * Named architectures. "reference" is the notebook's CNN; "dropout" and "batchnorm" are its "future work"
 * experiments, built from the same blocks so they compare like for like; "wide" is a stronger conv–BN–ReLU
 * net. Any other architecture can be given as a JSON file.
 */
import fs from "node:fs";
import { z } from "zod";
import {
  activation,
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  input,
  maxPooling2d,
  sequential,
  fromArchitecture,
  type Layer,
  type Sequential,
} from "../engine/index.js";
import { readJson } from "../util/json.js";

export const ARCHITECTURES = {
  reference: "Conv32-3×3 → MaxPool → Conv64-3×3 → MaxPool → Dense128 → Dense10 (the notebook's CNN)",
  dropout: "the reference CNN with Dropout(0.25) after each pool and Dropout(0.5) before the output",
  batchnorm: "the reference CNN with BatchNormalization after each convolution and the hidden dense layer",
  wide: "conv–BN–ReLU stacks: 2×Conv32, pool, 2×Conv64, pool, Dense128–BN–ReLU, Dropout 0.3, Dense10",
} as const;
export type ArchitectureName = keyof typeof ARCHITECTURES;

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.hasOwn(ARCHITECTURES, name);
}

export function buildArchitecture(name: ArchitectureName, seed: number): Sequential {
  const layers: Layer[] = (() => {
    switch (name) {
      case "reference":
        return [
          conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
          maxPooling2d({ poolSize: 2 }),
          conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
          maxPooling2d({ poolSize: 2 }),
          flatten(),
          dense({ units: 128, activation: "relu" }),
          dense({ units: 10, activation: "softmax" }),
        ];
      case "dropout":
        return [
          conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
          maxPooling2d({ poolSize: 2 }),
          dropout({ rate: 0.25 }),
          conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
          maxPooling2d({ poolSize: 2 }),
          dropout({ rate: 0.25 }),
          flatten(),
          dense({ units: 128, activation: "relu" }),
          dropout({ rate: 0.5 }),
          dense({ units: 10, activation: "softmax" }),
        ];
      case "batchnorm":
        return [
          conv2d({ filters: 32, kernelSize: 3, activation: "relu" }),
          batchNormalization(),
          maxPooling2d({ poolSize: 2 }),
          conv2d({ filters: 64, kernelSize: 3, activation: "relu" }),
          batchNormalization(),
          maxPooling2d({ poolSize: 2 }),
          flatten(),
          dense({ units: 128, activation: "relu" }),
          batchNormalization(),
          dense({ units: 10, activation: "softmax" }),
        ];
      case "wide": {
        const block = (filters: number) => [
          conv2d({ filters, kernelSize: 3, padding: "same", useBias: false }),
          batchNormalization(),
          activation({ activation: "relu" }),
        ];
        return [
          ...block(32),
          ...block(32),
          maxPooling2d({ poolSize: 2 }),
          ...block(64),
          ...block(64),
          maxPooling2d({ poolSize: 2 }),
          flatten(),
          dense({ units: 128, useBias: false }),
          batchNormalization(),
          activation({ activation: "relu" }),
          dropout({ rate: 0.3 }),
          dense({ units: 10, activation: "softmax" }),
        ];
      }
    }
  })();
  return sequential([input([28, 28, 1]), ...layers], { seed });
}

/**
 * An architecture by name, or from a JSON file holding `{ "input": [28, 28, 1], "layers": [{ "className":
 * "Conv2D", "config": { "filters": 32, "kernelSize": 3, "activation": "relu" } }, …] }` — the form a saved
 * model's metadata.json records under "architecture".
 */
export function architectureFrom(spec: string, seed: number): Sequential {
  if (isArchitectureName(spec)) return buildArchitecture(spec, seed);
  if (!spec.endsWith(".json") || !fs.existsSync(spec))
    throw new Error(
      `unknown architecture "${spec}": one of ${Object.keys(ARCHITECTURES).join(", ")}, or a .json file`,
    );
  const parsed = z
    .object({
      input: z.array(z.number().int().positive()),
      layers: z.array(
        z.object({ className: z.string(), config: z.record(z.string(), z.unknown()) }).strict(),
      ),
    })
    .strict()
    .safeParse(readJson(spec, "architecture file"));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${spec}: not an architecture (${issue.path.join(".") || "top level"}: ${issue.message})`,
    );
  }
  try {
    return fromArchitecture(parsed.data, { seed });
  } catch (e) {
    throw new Error(`${spec}: ${(e as Error).message}`, { cause: e });
  }
}
