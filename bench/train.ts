/**
 * Training and inference throughput of an architecture (the reference CNN by default) on onnxruntime-node.
 * Usage: npm run bench:train [-- --rounds 5 --steps 20 --batches 32,128,256 --variants all,single,plain,-passName
 *   --arch reference|dropout|batchnorm|wide]
 * Prints a table, then one JSON line (last line). Variants are interleaved round by round, because this VM's
 * speed drifts by ±30% from minute to minute and only side-by-side numbers compare.
 */
import { parseArgs } from "node:util";
import { buildInferenceGraph } from "../src/engine/compiler/compile.js";
import { adam } from "../src/engine/compiler/optimizers.js";
import { toOnnx } from "../src/engine/graph/serialize.js";
import { createSession, defaultThreads, floatTensor, nodeRuntime } from "../src/engine/runtime/ort.js";
import { parseStepSpec } from "../src/engine/compiler/train-graph.js";
import { nchwcBlock } from "../src/engine/runtime/nchwc.js";
import { DataParallelStepper, defaultReplicas } from "../src/engine/runtime/replicas.js";
import { SessionStepper, type Stepper } from "../src/engine/runtime/step.js";
import { buildArchitecture, isArchitectureName } from "../src/zoo/architectures.js";
import { syntheticBatch } from "./synthetic-batch.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    steps: { type: "string", default: "20" },
    batches: { type: "string", default: "32,128,256" },
    // Comma-separated: "all" (every pass, data-parallel replicas as `fit` chooses), "single" (one session on
    // every core), "plain" (no passes), "-passName" (all but one). All but "all" run one session.
    variants: { type: "string", default: "all,single" },
    arch: { type: "string", default: "reference" },
  },
});
if (!isArchitectureName(values.arch)) throw new Error(`unknown architecture ${values.arch}`);
const rounds = Number(values.rounds);
const steps = Number(values.steps);
const batches = values.batches.split(",").map(Number);
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

const model = buildArchitecture(values.arch, 1);
const optimizer = adam();
// The blocked convolutions training uses where this CPU has them (DIGITS_NCHWC=off: the portable path).
const nchwc = await nchwcBlock();
const variants = values.variants.split(",").map((v) => ({
  label: v === "all" ? "" : ` (${v})`,
  dataParallel: v === "all",
  passes: { none: v === "plain", nchwcBlock: nchwc, skip: v.startsWith("-") ? [v.slice(1)] : [] },
}));

interface Runner {
  label: string;
  batch: number;
  run(): Promise<number>; // images/s for one round
}

const runners: Runner[] = [];
const releases: (() => Promise<void>)[] = [];
for (const batch of batches) {
  for (const variant of variants) {
    const replicas = variant.dataParallel ? defaultReplicas(model, batch, defaultThreads()) : 1;
    const plan = { step: parseStepSpec(), seed: 1, passes: variant.passes };
    const stepper: Stepper =
      replicas > 1
        ? await DataParallelStepper.create(model, optimizer, batch, replicas, plan)
        : new SessionStepper(nodeRuntime(), model, optimizer, plan);
    const { x, y } = syntheticBatch(batch);
    for (let i = 0; i < 5; i++) await stepper.run(x, y, batch); // warm-up
    runners.push({
      label: `train bs=${batch}${variant.label}${replicas > 1 ? ` ×${replicas}` : ""}`,
      batch,
      async run() {
        const t0 = performance.now();
        for (let i = 0; i < steps; i++) await stepper.run(x, y, batch);
        return (steps * batch) / ((performance.now() - t0) / 1000);
      },
    });
    releases.push(() => stepper.release());
  }
}
const inference = await createSession(toOnnx(buildInferenceGraph(model)));
const xi = floatTensor(
  Float32Array.from({ length: 256 * 784 }, () => Math.random()),
  [256, 28, 28, 1],
);
await inference.run({ input: xi });
runners.push({
  label: "infer bs=256",
  batch: 256,
  async run() {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await inference.run({ input: xi });
    return (steps * 256) / ((performance.now() - t0) / 1000);
  },
});

const samples = new Map<string, number[]>(runners.map((r) => [r.label, []]));
for (let r = 0; r < rounds; r++) {
  for (const runner of runners) samples.get(runner.label)?.push(await runner.run());
}
for (const release of releases) await release();
const result: Record<string, number> = {};
for (const [label, s] of samples) {
  const m = median(s);
  result[label] = Math.round(m);
  console.log(
    `${label.padEnd(30)} ${m.toFixed(0).padStart(7)} images/s  (rounds: ${s.map((v) => v.toFixed(0)).join(", ")})`,
  );
}
console.log(
  JSON.stringify({
    benchmark: "train",
    arch: values.arch,
    threads: defaultThreads(),
    rounds,
    steps,
    imagesPerSecond: result,
  }),
);
