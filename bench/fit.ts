/**
 * Real training throughput: `fit` on MNIST (the reference CNN, the worker thread, shuffling, batching),
 * data-parallel replicas (as `fit` chooses) against one session on every core, interleaved because this VM's
 * speed drifts. Each sample is the second epoch of a two-epoch fit, so session compilation is left out.
 * `--augment` compares training with the standard augmentation against without it instead (auto replicas);
 * `--nchwc` compares onnxruntime's blocked convolutions (runtime/nchwc.ts) against the portable path.
 * Usage: npm run bench:fit [-- --rounds 3 --batch 32 --images 60000 --augment | --nchwc]
 * Prints a line per run, then one JSON line (last line).
 */
import { parseArgs } from "node:util";
import { adam, fit, type AugmentOptions } from "../src/engine/index.js";
import { STANDARD_AUGMENT } from "../src/zoo/recipes.js";
import { defaultThreads } from "../src/engine/runtime/ort.js";
import { defaultReplicas } from "../src/engine/runtime/replicas.js";
import { loadMnist } from "../src/data/mnist.js";
import { buildArchitecture } from "../src/zoo/architectures.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    batch: { type: "string", default: "32" },
    images: { type: "string", default: "60000" },
    augment: { type: "boolean", default: false },
    nchwc: { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const batchSize = Number(values.batch);
const data = await loadMnist();
const count = Math.min(Number(values.images), data.train.count);
const x = data.train.x.subarray(0, count * 784);
const labels = data.train.labels.subarray(0, count);
const auto = defaultReplicas(buildArchitecture("reference", 1), batchSize, defaultThreads());
const variants: { label: string; replicas: number; augment?: AugmentOptions; nchwc?: boolean }[] =
  values.nchwc
    ? [
        { label: "nchwc", replicas: auto, nchwc: true },
        { label: "portable", replicas: auto, nchwc: false },
      ]
    : values.augment
      ? [
          { label: "augmented", replicas: auto, augment: STANDARD_AUGMENT },
          { label: "plain", replicas: auto },
        ]
      : [
          { label: `replicas=${auto} (auto)`, replicas: auto },
          { label: "replicas=1", replicas: 1 },
        ];
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const samples = new Map<string, number[]>(variants.map((v) => [v.label, []]));
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    if (v.nchwc)
      delete process.env.DIGITS_NCHWC; // read by the training worker as it starts
    else process.env.DIGITS_NCHWC = "off";
    const result = await fit(buildArchitecture("reference", 1), x, labels, {
      optimizer: adam(),
      epochs: 2,
      batchSize,
      replicas: v.replicas,
      step: { augment: v.augment },
    }).done;
    const rate = result.history[1].images_per_second;
    samples.get(v.label)?.push(rate);
    console.log(`round ${r + 1} ${v.label.padEnd(22)} ${rate.toFixed(0)} images/s`);
  }
}
const imagesPerSecond = Object.fromEntries([...samples].map(([k, s]) => [k, Math.round(median(s))]));
console.log(
  JSON.stringify({
    benchmark: "fit",
    batchSize,
    images: count,
    rounds,
    augment: values.augment,
    nchwc: values.nchwc,
    imagesPerSecond,
  }),
);
