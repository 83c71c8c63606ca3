import { Command } from "commander";
import { loadDataset, loadIdxPair } from "../data/dataset.js";
import { concatSplits, toSplit, type Split } from "../data/split.js";
import { finetune } from "../training/finetune.js";
import { FINETUNE } from "../training/mix.js";
import { openSamples } from "../samples/open.js";
import { packSamples } from "../samples/store.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";
import { renderTable } from "../util/table.js";
import { dataDirOption, fraction, positiveInt, positiveNumber } from "./options.js";
import { TrainingProgress } from "./progress.js";

/** The person's digits from whichever source the options name. */
async function samplesFrom(o: {
  samples?: string;
  client?: string;
  images?: string;
  labels?: string;
  dataset?: string;
  dataDir?: string;
}): Promise<{ split: Split; name: string }> {
  const given = [o.samples, o.images, o.dataset].filter((v) => v !== undefined).length;
  if (given !== 1)
    throw new Error("give the digits one way: --samples DB, --images + --labels, or --dataset");
  if (o.samples) {
    const store = await openSamples(o.samples);
    try {
      const packed = packSamples(await store.read(o.client !== undefined ? { client: o.client } : {}));
      return { split: toSplit(packed.images, packed.labels), name: store.location };
    } finally {
      await store.close();
    }
  }
  if (o.images) {
    if (!o.labels) throw new Error("--images and --labels go together");
    return { split: await loadIdxPair(o.images, o.labels), name: `idx:${o.images},${o.labels}` };
  }
  const d = await loadDataset(o.dataset as string, { dataDir: o.dataDir });
  return { split: concatSplits(d.train, d.test), name: o.dataset as string };
}

export function finetuneCommand(): Command {
  return new Command("finetune")
    .description(
      "tune a model on someone's own digits, mixing in MNIST so it does not forget; accuracy before and after on MNIST's test set and on a fifth of their digits held back",
    )
    .option("--samples <db>", "the digits kept by `digits serve` (its SQLite file or postgres:// URL)")
    .option("--client <id>", "with --samples: only this browser's digits")
    .option("--images <file>", "or an IDX image file of their digits (any size: boxed as MNIST's)")
    .option("--labels <file>", "the IDX label file that goes with --images")
    .option("--dataset <name>", "or a dataset (folder:PATH/<label>/*.png, idx:…, usps…), all of it")
    .addOption(dataDirOption())
    .option("--model <dir>", "model or run directory to start from (default: the shipped model)")
    .requiredOption("--out <dir>", "where the tuned model goes")
    .option("--epochs <n>", "epochs", positiveInt("--epochs"), FINETUNE.epochs)
    .option(
      "--lr <rate>",
      "Adam's learning rate (cosine decay to 0)",
      positiveNumber("--lr"),
      FINETUNE.learningRate,
    )
    .option("--mnist <n>", "MNIST training digits mixed in", positiveInt("--mnist"), FINETUNE.mnist)
    .option(
      "--share <f>",
      "their digits' share of each epoch (repeated to reach it)",
      fraction("--share"),
      FINETUNE.share,
    )
    .option("--seed <n>", "seed for shuffling and augmentation", positiveInt("--seed"), 1)
    .option("--json", "print the before/after figures as JSON on stdout")
    .action(async (o) => {
      const { split, name } = await samplesFrom(o);
      const progress = new TrainingProgress();
      const epochs = o.epochs as number;
      const r = await finetune(
        {
          model: o.model,
          out: o.out,
          samples: split,
          samplesName: name,
          epochs,
          learningRate: o.lr,
          mnist: o.mnist,
          share: o.share,
          seed: o.seed,
          dataDir: o.dataDir,
        },
        {
          onMessage: (m) => process.stderr.write(`${m}\n`),
          onEpochStart: (e, n, b) => progress.epochStart(e, n, b),
          onBatch: (p) => progress.batch(p),
          onEpochEnd: (e, logs) => progress.epochEnd(e, epochs, logs),
        },
      );
      if (o.json) return printJson(r);
      process.stdout.write(
        `${renderTable(
          ["", "before", "after"],
          [
            ["MNIST test", pct(r.before.mnist), pct(r.after.mnist)],
            [`your ${r.heldBack} digits held back`, pct(r.before.samples), pct(r.after.samples)],
          ],
          { right: [1, 2] },
        )}\ntrained on ${r.trained} of your digits; saved ${r.modelDir} (${r.seconds.toFixed(1)}s)\n`,
      );
    });
}
