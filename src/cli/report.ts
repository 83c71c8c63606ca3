import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { loadDataset } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { drawing } from "./progress.js";
import { readRun } from "../training/read.js";
import { comparisonTable, writeComparison } from "../report/compare.js";
import { writeReport } from "../report/report.js";
import { openModel, resolveModelDir } from "../saved/resolve.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";

export function reportCommand(): Command {
  return new Command("report")
    .description(
      "an HTML report with figures (SVG + PNG): curves, confusion matrix, per-class scores, samples, mistakes, calibration",
    )
    .option("--model <dir>", "model directory (default: the shipped model)")
    .option("--run <dir>", "run directory (its model and history)")
    .requiredOption("--out <dir>", "where to write index.html and the figures")
    .option(
      "--data-dir <dir>",
      "directory with the four MNIST files, or a folder of datasets by name (../shared/datasets)",
    )
    .option(
      "--populations <dataset>",
      "also score each part of this dataset on its own, with the worst held-out writers (e.g. mnist+usps+pendigits+unipen+optdigits)",
    )
    .option("--no-robustness", "leave out the robustness section (2,000 test digits under 12 shifts, ~15 s)")
    .option("--json", "print a JSON summary on stdout")
    .action(async (o) => {
      if (o.model && o.run) throw new Error("give --model or --run, not both");
      const loaded = openModel(o.run ?? o.model);
      // A run stopped in its first epoch has no history yet; one that has it is checked as compare checks it.
      const history =
        o.run && fs.existsSync(path.join(o.run, "history.json")) ? readRun(o.run).history : undefined;
      const { test } = await loadMnist({ dataDir: o.dataDir });
      const populations = o.populations
        ? await loadDataset(o.populations, { dataDir: o.dataDir, testOnly: true, onDrawn: drawing })
        : undefined;
      const result = await writeReport({
        loaded,
        history,
        test,
        ...(populations ? { populations } : {}),
        out: o.out,
        robustness: o.robustness,
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
      if (o.json)
        return printJson({
          model: resolveModelDir(o.run ?? o.model),
          ...result,
          figures: result.figures.map((f) => ({ name: f.name, ...f.files, ...f.size })),
        });
      process.stdout.write(
        `report: ${result.html}\naccuracy ${pct(result.accuracy)}, loss ${result.loss.toFixed(4)}, expected calibration error ${pct(result.ece)}\n`,
      );
    });
}

export function compareCommand(): Command {
  return new Command("compare")
    .description("overlay several runs' training curves and tabulate their final metrics")
    .argument("<runs...>", "run directories")
    .option("--out <dir>", "where to write index.html and the figure (default: runs/compare)", "runs/compare")
    .option("--json", "print the runs' summaries as JSON")
    .action(async (runs: string[], o) => {
      const result = await writeComparison(runs, o.out, (m) => process.stderr.write(`${m}\n`));
      if (o.json) return printJson(result.runs.map(({ history: _h, ...r }) => r));
      process.stdout.write(`${comparisonTable(result.runs)}\n\nreport: ${result.html}\n`);
    });
}
