import { Command } from "commander";
import { kerasShape, sizeOf } from "../engine/index.js";
import { openModel } from "../saved/resolve.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";

export function summaryCommand(): Command {
  return new Command("summary")
    .description("the model's layers, output shapes and parameter counts")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .option("--json", "print JSON on stdout")
    .action((o) => {
      const { model, members, metadata, dir } = openModel(o.model);
      if (o.json) {
        printJson({
          model: dir,
          layers: model.plan.map((p) => ({
            name: p.name,
            type: p.layer.className,
            outputShape: kerasShape(p.outputShape),
            params: p.weights.reduce((s, w) => s + sizeOf(w.shape), 0),
          })),
          parameters: model.countParams(),
          metrics: metadata.metrics,
        });
        return;
      }
      const test = (metadata.metrics?.test ?? undefined) as { accuracy?: number } | undefined;
      if (members.length > 1)
        process.stdout.write(`An ensemble of ${members.length} models, their probabilities averaged:\n\n`);
      process.stdout.write(`${members.map((m) => m.summary()).join("\n\n")}\n`);
      if (test?.accuracy !== undefined) process.stdout.write(` Test accuracy: ${pct(test.accuracy)}\n`);
    });
}
