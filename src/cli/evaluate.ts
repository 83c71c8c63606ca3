import { Command } from "commander";
import { loadDataset, loadIdxPair } from "../data/dataset.js";
import { score } from "../engine/index.js";
import { classificationReport, formatReport } from "../metrics/classification.js";
import { populationsTable, scoreParts, worstWritersTable } from "../metrics/populations.js";
import { robustness, robustnessTable } from "../robustness/suite.js";
import { styleSet } from "../drawn-styles/draw.js";
import { scoreStyles, stylesTable } from "../drawn-styles/score.js";
import { openModel } from "../saved/resolve.js";
import { drawing } from "./progress.js";
import { dataDirOption, datasetOption, positiveInt } from "./options.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";

export function evaluateCommand(): Command {
  return new Command("evaluate")
    .description("test loss and accuracy, per-class precision/recall/F1 and the confusion matrix")
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .addOption(datasetOption("whose test split to score (a set with none: every fifth image, held out)"))
    .addOption(dataDirOption())
    .option("--images <file>", "an IDX image file (any size) to score, all of it, instead of --dataset")
    .option("--labels <file>", "IDX label file that goes with --images")
    .option(
      "--robustness",
      "also score the digits under controlled shifts: rotation, slant, size, pen, blur, placement, paper (~1 min for 10,000)",
    )
    .option(
      "--styles [n]",
      "also score digits drawn as the page draws them, in 22 styles (a flagged 1, a crossed 7, an open 4…): n per style and pen",
    )
    .option("--json", "print one JSON object on stdout")
    .action(async (o) => {
      if (Boolean(o.images) !== Boolean(o.labels)) throw new Error("--images and --labels go together");
      const loaded = openModel(o.model);
      const dataset = o.images
        ? undefined
        : await loadDataset(o.dataset, { dataDir: o.dataDir, testOnly: true, onDrawn: drawing });
      const data = dataset ? dataset.test : await loadIdxPair(o.images, o.labels);
      if (data.count === 0) throw new Error("no images to evaluate on");
      const predictor = await loaded.predictor();
      const t0 = performance.now();
      const probabilities = await predictor.predict(data.x);
      const result = score(probabilities, data.labels, predictor.classes);
      const seconds = (performance.now() - t0) / 1000;
      // A mixture's parts one by one: each a slice of the whole's answers, in order.
      let at = 0;
      const parts =
        dataset && dataset.parts.length > 1
          ? dataset.parts.map((p) => {
              const [from, to] = [at, (at += p.test.count)];
              const s = score(
                probabilities.subarray(from * predictor.classes, to * predictor.classes),
                p.test.labels,
                predictor.classes,
              );
              return { name: p.name, accuracy: s.accuracy, loss: s.loss, count: s.count };
            })
          : undefined;
      const populations =
        dataset && dataset.classes.length === 10 ? scoreParts(dataset.parts, result.predicted) : undefined;
      const report = classificationReport(data.labels, result.predicted, predictor.classes);
      const shifts = o.robustness
        ? await robustness(predictor, data, (m) => process.stderr.write(`${m}\n`))
        : undefined;
      const perPen = o.styles === undefined ? 0 : o.styles === true ? 15 : positiveInt("--styles")(o.styles);
      const styles = perPen ? await scoreStyles(predictor, styleSet(perPen)) : undefined;
      await predictor.release();
      const dir = loaded.dir;
      if (o.json) {
        printJson({
          model: dir,
          data: o.images ? { images: o.images, labels: o.labels } : o.dataset,
          accuracy: result.accuracy,
          loss: result.loss,
          count: result.count,
          macroF1: report.macroF1,
          perClass: report.perClass,
          confusion: report.confusion,
          seconds,
          ...(parts ? { parts } : {}),
          ...(populations ? { populations } : {}),
          ...(shifts ? { robustness: shifts } : {}),
          ...(styles ? { styles } : {}),
        });
        return;
      }
      if (shifts) process.stdout.write(`${robustnessTable(shifts)}\n\n`);
      if (styles)
        process.stdout.write(
          `${stylesTable(styles.styles)}\n${styles.count} drawn digits: accuracy ${pct(styles.accuracy)}\n\n`,
        );
      for (const p of parts ?? [])
        process.stdout.write(`${p.name}: ${pct(p.accuracy)} of ${p.count}, loss ${p.loss.toFixed(4)}\n`);
      if (populations) {
        process.stdout.write(
          `\nby population (writers held out whole where the set names them)\n${populationsTable(populations)}\n`,
        );
        if (populations.some((p) => p.writers?.worst.length))
          process.stdout.write(`\nworst writers\n${worstWritersTable(populations)}\n`);
        process.stdout.write("\n");
      }
      process.stdout.write(
        `${formatReport(report)}\n\n${result.count} images: accuracy ${pct(result.accuracy)}, loss ${result.loss.toFixed(4)} ` +
          `(${seconds.toFixed(2)}s, ${Math.round(result.count / seconds).toLocaleString("en-US")} img/s)\n`,
      );
    });
}
