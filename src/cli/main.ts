/** The `digits` command line: thin shells over library functions. */
import { Command } from "commander";
import { DIGITS_VERSION } from "../version.js";
import { calibrateCommand } from "./calibrate.js";
import { ensembleCommand } from "./ensemble.js";
import { evaluateCommand } from "./evaluate.js";
import { experimentCommand } from "./experiment.js";
import { finetuneCommand } from "./finetune.js";
import { exportCommand, importCommand } from "./interop.js";
import { predictCommand } from "./predict.js";
import { compareCommand, reportCommand } from "./report.js";
import { samplesCommand } from "./samples.js";
import { serveCommand } from "./serve.js";
import { summaryCommand } from "./summary.js";
import { trainCommand } from "./train.js";

export function program(): Command {
  return new Command("digits")
    .description("handwritten digit recognition: train, evaluate, ship and use a CNN")
    .version(DIGITS_VERSION)
    .addCommand(trainCommand())
    .addCommand(evaluateCommand())
    .addCommand(predictCommand())
    .addCommand(summaryCommand())
    .addCommand(serveCommand())
    .addCommand(reportCommand())
    .addCommand(compareCommand())
    .addCommand(experimentCommand())
    .addCommand(ensembleCommand())
    .addCommand(finetuneCommand())
    .addCommand(calibrateCommand())
    .addCommand(exportCommand())
    .addCommand(importCommand())
    .addCommand(samplesCommand())
    .showHelpAfterError();
}

export async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`digits: error: ${err.message}\n`);
    if (process.env.DIGITS_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
