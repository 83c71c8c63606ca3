/**
 * Named architectures. "reference" is the notebook's CNN; the others are its "future work" experiments
 * (dropout, batch normalization), built from the same blocks so they compare like for like.
 */
import {
  batchNormalization,
  conv2d,
  dense,
  dropout,
  flatten,
  input,
  maxPooling2d,
  sequential,
  type Layer,
  type Sequential,
} from "../engine/index.js";

export const ARCHITECTURES = {
  reference: "Conv32-3×3 → MaxPool → Conv64-3×3 → MaxPool → Dense128 → Dense10 (the notebook's CNN)",
  dropout: "the reference CNN with Dropout(0.25) after each pool and Dropout(0.5) before the output",
  batchnorm: "the reference CNN with BatchNormalization after each convolution and the hidden dense layer",
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
    }
  })();
  return sequential([input([28, 28, 1]), ...layers], { seed });
}
