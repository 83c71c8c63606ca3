/**
 * The optimizers' updates as fused WebAssembly SIMD loops (update.wat), over vectors in the module's own
 * memory: the weights, the optimizer's slots, and one gradient per data-parallel replica. onnxruntime reads the
 * weights from there and writes a replica's gradient there directly (both are plain typed arrays over the
 * memory), so a step copies only the other replicas' gradients in.
 *
 * Why not onnxruntime: the update is a dozen element-wise kernels over the whole parameter vector, each a
 * pass through memory — ~0.75 ms for the reference CNN's 225k weights alone, 2 ms beside a training replica
 * on the other core — where this one pass takes ~0.17 ms.
 */
import type { FusedUpdate } from "../../compiler/optimizers.js";
import { UPDATE_WASM_BASE64 } from "./update-wasm.js";

interface Exports {
  memory: WebAssembly.Memory;
  accumulate(g: number, p: number, n: number, a: number, first: number): void;
  adam(w: number, m: number, v: number, g: number, n: number, ...c: number[]): void;
  sgd(w: number, g: number, n: number, lr: number): void;
  momentum(w: number, v: number, g: number, n: number, lr: number, mu: number, nesterov: number): void;
}

let compiled: WebAssembly.Module | undefined;

function instantiate(): Exports {
  compiled ??= new WebAssembly.Module(Uint8Array.from(atob(UPDATE_WASM_BASE64), (c) => c.charCodeAt(0)));
  return new WebAssembly.Instance(compiled).exports as unknown as Exports;
}

export class UpdateKernel {
  /** The weights, updated in place. */
  readonly weights: Float32Array;
  /** The optimizer's slots, in the order of its `slots`. */
  readonly slots: Float32Array[];
  /** Each replica's gradient (the mean over its share), to be filled before `apply`. */
  readonly partials: Float32Array[];
  private readonly grad: Float32Array;
  private readonly k: Exports;
  private readonly lanes: number; // the length rounded up to whole SIMD vectors (the tail stays zero)

  constructor(
    readonly size: number,
    slotCount: number,
    partialCount: number,
  ) {
    this.k = instantiate();
    this.lanes = Math.ceil(size / 4) * 4;
    const vectors = 2 + slotCount + partialCount;
    const bytes = vectors * this.lanes * 4;
    const have = this.k.memory.buffer.byteLength;
    if (bytes > have) this.k.memory.grow(Math.ceil((bytes - have) / 65536));
    // Views made after growing (growing detaches the old buffer).
    let next = 0;
    const vector = () => new Float32Array(this.k.memory.buffer, next++ * this.lanes * 4, size);
    this.weights = vector();
    this.grad = vector();
    this.slots = Array.from({ length: slotCount }, vector);
    this.partials = Array.from({ length: partialCount }, vector);
  }

  /** The batch's gradient, Σ shares[r]·partials[r] in replica order, then the update of step `update`. */
  apply(shares: readonly number[], update: FusedUpdate): void {
    const { k, lanes } = this;
    const at = (a: Float32Array) => a.byteOffset;
    shares.forEach((share, r) =>
      k.accumulate(at(this.grad), at(this.partials[r]), lanes, share, r === 0 ? 1 : 0),
    );
    const [w, g] = [at(this.weights), at(this.grad)];
    if (update.kernel === "adam") {
      const [m, v] = this.slots.map(at);
      k.adam(w, m, v, g, lanes, update.b1, update.b2, update.epsilon, update.alpha, update.decay);
    } else if (update.momentum === 0) {
      k.sgd(w, g, lanes, update.learningRate);
    } else {
      k.momentum(
        w,
        at(this.slots[0]),
        g,
        lanes,
        update.learningRate,
        update.momentum,
        update.nesterov ? 1 : 0,
      );
    }
  }
}
