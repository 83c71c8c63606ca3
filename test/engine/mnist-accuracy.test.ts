/** The engine's acceptance check: the notebook's CNN, Adam, batch 128, 3 epochs on all of MNIST → ≥ 98.5%. */
import { describe, expect, it } from "vitest";
import { loadMnist } from "../../src/data/mnist.js";
import { adam, evaluate, fit } from "../../src/engine/index.js";
import { referenceCnn } from "../helpers/models.js";

describe("reference CNN on real MNIST", () => {
  it("reaches ≥ 98.5% test accuracy in 3 epochs at batch 128", async () => {
    const { train, test } = await loadMnist();
    const model = referenceCnn(42);
    const result = await fit(model, train.x, train.labels, {
      optimizer: adam(),
      epochs: 3,
      batchSize: 128,
      validationData: { x: test.x, labels: test.labels },
    }).done;
    const final = await evaluate(model, test.x, test.labels);
    console.log(
      `reference CNN, 3 epochs: ${result.history.map((h) => `${(100 * (h.val_accuracy ?? 0)).toFixed(2)}% (${h.images_per_second.toFixed(0)} img/s)`).join(", ")}`,
    );
    expect(final.accuracy).toBeGreaterThanOrEqual(0.985);
    expect(final.count).toBe(10000);
  }, 600_000);
});
