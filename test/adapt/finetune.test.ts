/**
 * Fine-tuning on a simulated writer: 250 MNIST training digits all written one consistent way the shipped
 * model reads poorly (turned 30°, at 0.8× the size, with a thick pen). Tuning on 200 of them must raise its
 * accuracy on the 50 held back, and cost MNIST's test set at most 0.3 points; the tuned model loads.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { finetune } from "../../src/adapt/finetune.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { simulatedWriter } from "../helpers/writer.js";

describe("finetune", () => {
  it("learns a writer's style from 200 of their digits without forgetting MNIST", async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-finetune-")), "tuned");
    const r = await finetune({ out, samples: await simulatedWriter(250), samplesName: "simulated writer" });
    console.log(`simulated writer: ${JSON.stringify(r)}`);
    expect([r.trained, r.heldBack]).toEqual([200, 50]);
    expect(r.before.samples).toBeLessThan(0.93); // the style the model misreads
    expect(r.after.samples).toBeGreaterThanOrEqual(r.before.samples + 0.04);
    expect(r.after.mnist).toBeGreaterThanOrEqual(r.before.mnist - 0.003);
    const tuned = loadModel(out);
    expect(tuned.metadata.training?.finetuned).toMatchObject({
      samples: "simulated writer",
      trained: 200,
      digits: 200,
      steps: 200,
    });
  }, 180_000);

  it("refuses too few digits and an ensemble", async () => {
    const few = await simulatedWriter(4);
    await expect(finetune({ out: os.tmpdir(), samples: few, samplesName: "four" })).rejects.toThrow(
      /four: 4 digit\(s\); fine-tuning needs at least 5/,
    );
  });
});
