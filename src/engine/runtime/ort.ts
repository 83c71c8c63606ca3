/** onnxruntime-node sessions with this project's settings: all cores for intra-op work, full graph optimisation. */
import os from "node:os";
import ort from "onnxruntime-node";
import type { StepRuntime } from "./step.js";

export { ort };

export function defaultThreads(): number {
  return Math.max(
    1,
    typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length,
  );
}

export interface SessionOptions {
  threads?: number;
  /** Write an onnxruntime JSON profile with this file prefix. */
  profilePrefix?: string;
}

export async function createSession(
  model: Uint8Array,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: options.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    executionMode: "sequential",
    enableCpuMemArena: true,
    enableMemPattern: true,
    // Denormals appear as training converges (tiny gradients, Adam moments) and are ~100× slower on x86;
    // TensorFlow flushes them to zero too.
    extra: { session: { set_denormal_as_zero: "1" } },
    ...(options.profilePrefix ? { enableProfiling: true, profileFilePrefix: options.profilePrefix } : {}),
  });
}

/** Training steps (step.ts) on onnxruntime-node. */
export function nodeRuntime(options: SessionOptions = {}): StepRuntime {
  return { tensor: floatTensor, session: (onnx) => createSession(onnx, options) };
}

export function floatTensor(data: Float32Array, shape: readonly number[]): ort.Tensor {
  return new ort.Tensor("float32", data, shape as number[]);
}
