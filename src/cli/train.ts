import { Command, Option } from "commander";
import { ARCHITECTURES } from "../zoo/architectures.js";
import { applyRecipe, parseAugmentSpec, RECIPES, type RecipeName } from "../zoo/recipes.js";
import { formatReport } from "../metrics/classification.js";
import { resumeRun, trainRun, type RunEvents, type TrainConfig } from "../training/train.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";
import {
  dataDirOption,
  datasetOption,
  fraction,
  nonNegativeInt,
  positiveInt,
  positiveNumber,
} from "./options.js";
import { TrainingProgress } from "./progress.js";

/** Options whose TrainConfig setting has another name. */
const CONFIG_NAME: Record<string, string> = { arch: "architecture", lr: "learningRate" };

/** The command line's options as a run's settings (defaults included; the recipe is laid over them after). */
function configFromOptions(o: Record<string, unknown>): TrainConfig {
  return {
    architecture: o.arch as string,
    epochs: o.epochs as number,
    batchSize: o.batchSize as number,
    learningRate: o.lr as number,
    optimizer: o.optimizer as TrainConfig["optimizer"],
    momentum: o.momentum as number | undefined,
    lrDecay: o.lrDecay as TrainConfig["lrDecay"],
    replicas: o.replicas as number | undefined,
    seed: o.seed as number,
    validation: o.validation as string,
    out:
      (o.out as string | undefined) ?? `runs/${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 23)}`,
    overwrite: o.overwrite as boolean | undefined,
    dataset: o.dataset as string | undefined,
    dataDir: o.dataDir as string | undefined,
    limit: o.limit as number | undefined,
    augment: o.augment as TrainConfig["augment"],
    synthetic: o.synthetic as number | undefined,
    weightDecay: o.weightDecay as number | undefined,
    labelSmoothing: o.labelSmoothing as number | undefined,
    earlyStop: o.earlyStop as number | undefined,
    keep: o.keep as TrainConfig["keep"],
  };
}

export function trainCommand(): Command {
  return new Command("train")
    .description(
      "train a model (on MNIST unless --dataset says otherwise) and save it (a run directory: config, history, metrics, model/)",
    )
    .addOption(
      new Option(
        "--arch <name|file.json>",
        `architecture: ${Object.keys(ARCHITECTURES).join(", ")}, or a JSON file ({ input, layers: [{ className, config }] })`,
      ).default("reference"),
    )
    .addOption(
      new Option(
        "--recipe <name>",
        "named settings (options given here win): notebook; best (the shipped model's); fast (≥ 99% in seconds)",
      )
        .choices(Object.keys(RECIPES))
        .default("notebook"),
    )
    .option("--epochs <n>", "epochs", positiveInt("--epochs"), 10)
    .option("--batch-size <n>", "mini-batch size", positiveInt("--batch-size"), 32)
    .option("--lr <rate>", "learning rate", positiveNumber("--lr"), 0.001)
    .addOption(new Option("--optimizer <name>", "optimizer").choices(["adam", "sgd"]).default("adam"))
    .option(
      "--momentum <m>",
      "SGD's momentum, 0 for plain SGD (default with --optimizer sgd: 0.9)",
      fraction("--momentum"),
    )
    .addOption(
      new Option(
        "--lr-decay <kind>",
        "learning-rate schedule: cosine decay to 0 over the run, one-cycle (warm up to --lr, then down), or none (constant, as the notebook)",
      )
        .choices(["cosine", "onecycle", "none"])
        .default("cosine"),
    )
    .option("--seed <n>", "seed for initial weights and shuffling", nonNegativeInt("--seed"), 2)
    .option("--validation <spec>", 'validation data: "test", "split:0.1" or "none"', "test")
    .option("--out <dir>", "run directory (default: runs/<date-time>)")
    .option("--overwrite", "replace a run already in --out (otherwise refused)")
    .addOption(datasetOption("what to train on (and score the final model on: its test split)"))
    .addOption(dataDirOption())
    .option(
      "--replicas <n>",
      "data-parallel replicas (default: one per core, ≥ 16 images each; 1: one session on all cores)",
      positiveInt("--replicas"),
    )
    .option(
      "--weight-decay <wd>",
      "AdamW's decoupled weight decay (default 0: Adam)",
      fraction("--weight-decay"),
    )
    .option(
      "--label-smoothing <e>",
      "label smoothing of the loss's targets (default 0)",
      fraction("--label-smoothing"),
    )
    .option(
      "--early-stop <epochs>",
      "stop after this many epochs without a better validation loss (needs --validation split:F)",
      positiveInt("--early-stop"),
    )
    .addOption(
      new Option(
        "--keep <which>",
        "keep the last epoch's weights, or the best by validation loss (needs split:F)",
      )
        .choices(["last", "best"])
        .default("last"),
    )
    .option(
      "--augment <spec>",
      'augment each batch: "standard", "none", or settings like "rotation=10,scale=0.1,shear=8,translate=2,elastic=1.5,thickness=0.5"',
      parseAugmentSpec,
    )
    .option(
      "--synthetic <n>",
      "add n digits rendered from Debian's handwriting fonts (crossed 7s, flagged 1s…) to the training images",
      positiveInt("--synthetic"),
    )
    .option("--limit <n>", "train on the first N images only (quick runs)", positiveInt("--limit"))
    .option(
      "--resume <run>",
      "continue an interrupted run from its last checkpoint, with its own settings (ends as if never stopped)",
    )
    .option("--json", "print the result as JSON on stdout")
    .action(async (o, cmd: Command) => {
      const given = cmd.options
        .map((opt) => opt.attributeName())
        .filter((k) => cmd.getOptionValueSource(k) === "cli");
      if (o.resume) {
        const settings = given.filter((k) => !["resume", "json"].includes(k));
        if (settings.length)
          throw new Error(
            `--resume continues the run with the settings in its config.json; it takes no ${settings.map((k) => cmd.options.find((opt) => opt.attributeName() === k)?.long).join(", ")}`,
          );
      }
      const config = applyRecipe(
        o.recipe as RecipeName,
        configFromOptions(o),
        new Set(given.map((k) => CONFIG_NAME[k] ?? k)),
      );
      let epochs = config.epochs;
      const progress = new TrainingProgress();
      let interrupts = 0;
      const t0 = performance.now();
      const events: RunEvents = {
        onMessage: (m) => process.stderr.write(`${m}\n`),
        onEpochStart: (e, n, b) => {
          epochs = n; // a resumed run's total comes from its config.json, through the loop
          progress.epochStart(e, n, b);
        },
        onBatch: (p) => progress.batch(p),
        onEpochEnd: (e, logs) => progress.epochEnd(e, epochs, logs),
        onStart: (handle) => {
          // Ctrl-C and a service manager's SIGTERM alike: finish the batch, save, keep the checkpoint.
          const stop = (signal: string) => {
            interrupts++;
            if (interrupts > 1) process.exit(signal === "SIGINT" ? 130 : 143);
            progress.stop();
            process.stderr.write(
              `\n${signal}: stopping after this batch and saving what was trained (again to abort; --resume continues)\n`,
            );
            handle.stop();
          };
          process.on("SIGINT", () => stop("SIGINT"));
          process.on("SIGTERM", () => stop("SIGTERM"));
        },
      };
      const result = o.resume ? await resumeRun(o.resume, events) : await trainRun(config, events);
      const wall = (performance.now() - t0) / 1000;
      if (o.json) {
        printJson({
          out: result.out,
          model: result.modelDir,
          accuracy: result.test.accuracy,
          loss: result.test.loss,
          count: result.test.count,
          parts: result.parts,
          stopped: result.stopped,
          epochs: result.history.length,
          history: result.history,
          seconds: { ...result.seconds, wall },
        });
        return;
      }
      process.stderr.write(`\n${formatReport(result.report)}\n\n`);
      const note = result.stopped ? ` (stopped after ${result.history.length} epoch(s))` : "";
      const parts =
        result.parts.length > 1
          ? result.parts.map((p) => `  ${p.name}: ${pct(p.test.accuracy)} of ${p.test.count}\n`).join("")
          : "";
      process.stdout.write(
        `test accuracy ${pct(result.test.accuracy)}, test loss ${result.test.loss.toFixed(4)}${note}\n${parts}` +
          `wall time ${wall.toFixed(1)}s (data ${result.seconds.load.toFixed(1)}s, training ${result.seconds.fit.toFixed(1)}s)\n` +
          `saved ${result.modelDir}\n`,
      );
    });
}
