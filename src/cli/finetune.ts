import { Command } from "commander";
import { loadDataset, loadIdxPair } from "../data/dataset.js";
import { concatSplits, toSplit, type Split } from "../data/split.js";
import { finetune } from "../adapt/finetune.js";
import { ADAPT, type AdaptSettings } from "../adapt/tune.js";
import { writerProtocol, type WriterReport } from "../adapt/writers.js";
import { writeWriterReport } from "../adapt/figure.js";
import { openSamples } from "../samples/open.js";
import { packSamples } from "../samples/store.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";
import { renderTable } from "../util/table.js";
import { dataDirOption, fraction, positiveInt, positiveNumber } from "./options.js";
import { StepsBar } from "./progress.js";

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

/** The `k` list: "1,3,5". */
function kList(value: string): number[] {
  const ks = value.split(",").map((v) => Number(v.trim()));
  if (ks.some((k) => !Number.isInteger(k) || k < 1))
    throw new Error(`--k must list whole numbers of digits per class, such as 1,3,5 (got "${value}")`);
  return ks;
}

/** The protocol's summary as a table: one row per set and K, then all sets together. */
export function writerTable(r: WriterReport): string {
  return renderTable(
    [
      "set",
      "K",
      "writers",
      "before",
      "after",
      "worst before",
      "worst after",
      "worse",
      "MNIST before",
      "MNIST after (lowest)",
    ],
    r.summary.map((s) => [
      s.set,
      String(s.k),
      String(s.writers),
      pct(s.before),
      pct(s.after),
      pct(s.worstBefore),
      pct(s.worstAfter),
      String(s.worse),
      pct(s.mnistBefore),
      `${pct(s.mnistAfter)} (${pct(s.mnistLowest)})`,
    ]),
    { right: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
  );
}

export function finetuneCommand(): Command {
  return new Command("finetune")
    .description(
      "tune a model to someone's own digits (the page's adaptation), mixing in MNIST so it does not forget; accuracy before and after on MNIST's test set and on a fifth of their digits held back. With --writers: the writer protocol instead",
    )
    .option("--samples <db>", "the digits kept by `digits serve` (its SQLite file or postgres:// URL)")
    .option("--client <id>", "with --samples: only this browser's digits")
    .option("--images <file>", "or an IDX image file of their digits (any size: boxed as MNIST's)")
    .option("--labels <file>", "the IDX label file that goes with --images")
    .option("--dataset <name>", "or a dataset (folder:PATH/<label>/*.png, idx:…, usps…), all of it")
    .option(
      "--writers <sets>",
      "the writer protocol: for each writer these pen sets hold out (pendigits, unipen), tune on K digits of each class and read all their others, before and after",
    )
    .option("--writer <names...>", "with --writers: only these writers (syn/rkt-dig19 …)")
    .option("--k <list>", "with --writers: digits of each class to learn from", kList, [1, 3, 5])
    .option(
      "--max-writers <n>",
      "with --writers: at most this many writers per set and K",
      positiveInt("--max-writers"),
    )
    .addOption(dataDirOption())
    .option("--model <dir>", "model or run directory to start from (default: the shipped model)")
    .option("--out <dir>", "where the tuned model goes (with --writers: where the report goes)")
    .option("--steps <n>", "training steps", positiveInt("--steps"), ADAPT.steps)
    .option(
      "--lr <rate>",
      "Adam's learning rate (cosine decay to 0)",
      positiveNumber("--lr"),
      ADAPT.learningRate,
    )
    .option("--share <f>", "their digits' share of each batch", fraction("--share"), ADAPT.share)
    .option("--mnist <n>", "MNIST training digits mixed in", positiveInt("--mnist"))
    .option("--freeze <layers...>", "layers left as they are (by name, as `digits summary` shows them)")
    .option("--seed <n>", "seed for drawing batches and augmentation", positiveInt("--seed"), ADAPT.seed)
    .option("--json", "print the figures as JSON on stdout")
    .action(async (o) => {
      const settings: Partial<AdaptSettings> = {
        steps: o.steps,
        learningRate: o.lr,
        share: o.share,
        seed: o.seed,
        frozen: o.freeze ?? [],
      };
      const say = (m: string) => process.stderr.write(`${m}\n`);
      if (o.writers) {
        const bar = new StepsBar("writers tuned", true);
        const r = await writerProtocol({
          model: o.model,
          sets: o.writers,
          ks: o.k,
          dataDir: o.dataDir,
          settings,
          maxWriters: o.maxWriters,
          only: o.writer,
          seed: o.seed,
          onMessage: say,
          onTask: (done, total, row) =>
            bar.update(
              done,
              total,
              `${row.set} ${row.writer} K=${row.k}: ${pct(row.before)} → ${pct(row.after)}`,
            ),
        });
        if (o.out) await writeWriterReport(o.out, r, say);
        if (o.json) return printJson(r);
        process.stdout.write(`${writerTable(r)}\n${r.rows.length} tunings in ${r.seconds.toFixed(0)} s\n`);
        return;
      }
      if (!o.out) throw new Error("--out: where the tuned model goes");
      const { split, name } = await samplesFrom(o);
      const bar = new StepsBar("tuning");
      const r = await finetune(
        {
          model: o.model,
          out: o.out,
          samples: split,
          samplesName: name,
          settings,
          mnist: o.mnist,
          dataDir: o.dataDir,
        },
        {
          onMessage: say,
          onStep: (step, steps, loss) => bar.update(step, steps, `loss ${loss.toFixed(3)}`),
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
