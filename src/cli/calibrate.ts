import { Command } from "commander";
import { loadDataset } from "../data/dataset.js";
import { loadMnist } from "../data/mnist.js";
import { styleSet } from "../drawn-styles/draw.js";
import { evaluate } from "../engine/index.js";
import { fitCalibration, saveCalibrated, tempered, type LabelledSet } from "../unsure/calibrate.js";
import { nonDigitSet } from "../unsure/nondigits.js";
import { refusals } from "../unsure/refusals.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";
import { renderTable } from "../util/table.js";
import { openModel } from "../saved/resolve.js";
import { dataDirOption, positiveInt } from "./options.js";

export function calibrateCommand(): Command {
  return new Command("calibrate")
    .description(
      'fit temperature scaling and the "unsure" threshold on real digits the model never trained on; save the calibrated model; show what the threshold refuses',
    )
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .requiredOption("--out <dir>", "where the calibrated model goes (may be --model's own directory)")
    .option("--dataset <name>", "real digits to fit on: this dataset's test split", "usps")
    .addOption(dataDirOption())
    .option("--no-styles", "leave the drawn-styles digits out of the fit")
    .option(
      "--coverage <f>",
      "share of those digits the threshold must still answer",
      (v) => {
        const n = Number(v);
        if (!(n > 0 && n <= 1)) throw new Error(`--coverage must be in (0, 1] (got "${v}")`);
        return n;
      },
      0.99,
    )
    .option(
      "--non-digits <n>",
      "non-digits of each kind to measure refusals on",
      positiveInt("--non-digits"),
      200,
    )
    .option("--json", "print the calibration and refusals as JSON on stdout")
    .action(async (o) => {
      const loaded = openModel(o.model);
      const data = await loadDataset(o.dataset, { dataDir: o.dataDir });
      const sets: LabelledSet[] = [
        { name: `${o.dataset} (test split)`, x: data.test.x, labels: data.test.labels },
      ];
      if (o.styles) {
        const drawn = styleSet(15);
        sets.push({ name: "drawn styles", x: drawn.x, labels: drawn.labels });
      }
      const before = await loaded.predictor();
      const calibration = await fitCalibration(before, sets, o.coverage);
      await before.release();
      const { test } = await loadMnist({ dataDir: o.dataDir });
      const model = tempered(loaded.model, calibration.temperature);
      const scored = await evaluate(model, test.x, test.labels);
      saveCalibrated(loaded, model, calibration, o.out, {
        accuracy: scored.accuracy,
        loss: scored.loss,
        count: scored.count,
      });
      const predictor = await openModel(o.out).predictor();
      const digits = { probabilities: await predictor.predict(test.x), labels: test.labels };
      const refused = await refusals(predictor, calibration.threshold, digits, nonDigitSet(o.nonDigits));
      await predictor.release();
      if (o.json) return printJson({ model: o.out, calibration, refusals: refused });
      process.stdout.write(
        `temperature ${calibration.temperature.toFixed(3)} (fitted on ${calibration.count} digits: ${calibration.fittedOn.join(", ")}); ` +
          `NLL ${calibration.before.nll.toFixed(4)} → ${calibration.after.nll.toFixed(4)}, ECE ${pct(calibration.before.ece)} → ${pct(calibration.after.ece)}\n` +
          `unsure below ${pct(calibration.threshold)}: answers ${pct(calibration.coverage)} of those digits and ` +
          `${pct(refused.digits.coverage)} of MNIST's test digits (${pct(refused.digits.accuracyAnswered)} of those right)\n\n` +
          `${renderTable(
            ["not a digit", "pictures", "refused", "no ink found"],
            refused.nonDigits.map((r) => [
              r.kind,
              String(r.made),
              pct(r.refused / r.made, 1),
              String(r.noInk),
            ]),
            { right: [1, 2, 3] },
          )}\n\nsaved ${o.out}\n`,
      );
    });
}
