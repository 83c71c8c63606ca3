import { Command } from "commander";
import { readExperiment } from "../experiment/config.js";
import { experimentTable, runExperiment } from "../experiment/grid.js";
import { printJson } from "../util/json.js";
import { TrainingProgress } from "./progress.js";

export function experimentCommand(): Command {
  return new Command("experiment")
    .description("a grid of training settings × seeds: mean ± std of test accuracy, loss, time; resumable")
    .argument(
      "<config>",
      "experiment file (JSON): { name, seeds, base, grid } — see src/experiment/config.ts",
    )
    .option(
      "--out <dir>",
      "where the runs, results.txt/json and the figure go (default: runs/experiments/NAME)",
    )
    .option("--json", "print the summary as JSON on stdout")
    .action(async (file: string, o) => {
      const experiment = readExperiment(file);
      const progress = new TrainingProgress();
      let epochs = 0; // the running cell's, as its first epoch announces them
      const result = await runExperiment(experiment, o.out ?? `runs/experiments/${experiment.name}`, {
        onMessage: (m) => process.stderr.write(`${m}\n`),
        onEpochStart: (e, n, b) => {
          epochs = n;
          progress.epochStart(e, n, b);
        },
        onBatch: (p) => progress.batch(p),
        onEpochEnd: (e, logs) => progress.epochEnd(e, epochs, logs),
      });
      if (o.json) return printJson({ points: result.points, cells: result.cells, files: result.files });
      process.stdout.write(`${experimentTable(result.points)}\n\nreport: ${result.files.html}\n`);
    });
}
