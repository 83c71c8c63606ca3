/**
 * Profiles one training step (one session) of a named architecture (default: the reference CNN) with
 * onnxruntime's profiler and prints where the time goes, by op type and by node.
 * Usage: npx tsx bench/profile.ts [batch=128] [steps=30] [--plain] [--arch=batchnorm] [--threads=1]
 * (A data-parallel replica is one thread on its share of the batch: `16 30 --threads=1` is one of batch 32's.)
 * Uses onnxruntime's blocked convolutions where the CPU has them, as training does (DIGITS_NCHWC=off: not).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { adam } from "../src/engine/compiler/optimizers.js";
import { nchwcBlock } from "../src/engine/runtime/nchwc.js";
import { SessionStepper } from "../src/engine/runtime/step.js";
import { nodeRuntime } from "../src/engine/runtime/ort.js";
import { parseStepSpec } from "../src/engine/compiler/train-graph.js";
import { buildArchitecture, isArchitectureName } from "../src/zoo/architectures.js";
import { syntheticBatch } from "./synthetic-batch.js";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const batch = Number(args[0] ?? 128);
const steps = Number(args[1] ?? 30);
const plain = process.argv.includes("--plain");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "digits-profile-"));
const threads = process.argv.find((a) => a.startsWith("--threads="))?.slice("--threads=".length);
const archName = process.argv.find((a) => a.startsWith("--arch="))?.slice("--arch=".length) ?? "reference";
if (!isArchitectureName(archName)) throw new Error(`unknown architecture ${archName}`);
const model = buildArchitecture(archName, 1);
const optimizer = adam();
const runtime = nodeRuntime({
  profilePrefix: path.join(dir, "train"),
  threads: threads ? Number(threads) : undefined,
});
const stepper = new SessionStepper(runtime, model, optimizer, {
  step: parseStepSpec(),
  seed: 1,
  passes: plain ? { none: true } : { nchwcBlock: await nchwcBlock() },
});
const { x, y } = syntheticBatch(batch);
for (let i = 0; i < steps; i++) await stepper.run(x, y, batch);
await stepper.release();
const file = fs.readdirSync(dir).map((f) => path.join(dir, f))[0];
interface Event {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}
const events = (JSON.parse(fs.readFileSync(file, "utf8")) as Event[]).filter(
  (e) => e.cat === "Node" && e.name.endsWith("_kernel_time"),
);
const byOp = new Map<string, number>();
const byNode = new Map<string, number>();
for (const e of events) {
  const op = e.args?.op_name ?? "?";
  byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
  const key = `${op} ${e.name.replace(/_kernel_time$/, "")}`;
  byNode.set(key, (byNode.get(key) ?? 0) + e.dur);
}
const total = [...byOp.values()].reduce((a, b) => a + b, 0);
const per = (us: number) => `${(us / steps / 1000).toFixed(2)} ms  ${((100 * us) / total).toFixed(1)}%`;
console.log(
  `batch ${batch}: ${(total / steps / 1000).toFixed(2)} ms of kernels per step, ${events.length / steps} kernels`,
);
for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1])) console.log(`  ${op.padEnd(22)} ${per(us)}`);
console.log("top nodes:");
for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`  ${n.padEnd(40)} ${per(us)}`);
console.log(JSON.stringify({ batch, msPerStep: total / steps / 1000, profile: file }));
