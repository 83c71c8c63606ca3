import { Command } from "commander";
import { loadMnist } from "../data/mnist.js";
import { buildEnsembleGraph, Predictor, score, toOnnx } from "../engine/index.js";
import { pct } from "../util/format.js";
import { printJson } from "../util/json.js";
import { openModel } from "../saved/resolve.js";
import { saveEnsemble, type LoadedModel } from "../saved/saved-model.js";

async function testAccuracy(
  loaded: LoadedModel,
  test: { x: Float32Array; labels: Uint8Array },
): Promise<number> {
  const predictor = await loaded.predictor();
  try {
    return score(await predictor.predict(test.x), test.labels, predictor.classes).accuracy;
  } finally {
    await predictor.release();
  }
}

export function ensembleCommand(): Command {
  return new Command("ensemble")
    .description("one model that averages several models' probabilities (it runs wherever one model does)")
    .argument("<models...>", "model or run directories (two or more)")
    .requiredOption("--out <dir>", "the ensemble's model directory")
    .option("--data-dir <dir>", "directory with the four MNIST files")
    .option("--json", "print the members' and the ensemble's test accuracy as JSON")
    .action(async (dirs: string[], o) => {
      if (dirs.length < 2) throw new Error("an ensemble needs at least two models");
      const members = dirs.map((d) => openModel(d));
      for (const m of members)
        if (m.members.length > 1) throw new Error(`${m.dir}: already an ensemble (give its members instead)`);
      const { test } = await loadMnist({ dataDir: o.dataDir });
      const accuracies: number[] = [];
      for (const m of members) accuracies.push(await testAccuracy(m, test));
      const combined = await Predictor.fromOnnx(
        toOnnx(buildEnsembleGraph(members.map((m) => m.model))),
        members[0].model.inputSpec.shape,
        members[0].metadata.io.output.classes,
      );
      const { accuracy, loss } = score(await combined.predict(test.x), test.labels, combined.classes);
      await combined.release();
      // The ensemble's own scores go in its metadata, as a trained model's do.
      saveEnsemble(
        o.out,
        members.map((m) => ({ model: m.model, from: m.dir })),
        { metrics: { test: { accuracy, loss, count: test.count }, members: accuracies } },
      );
      if (o.json)
        return printJson({
          out: o.out,
          members: dirs.map((d, i) => ({ model: d, accuracy: accuracies[i] })),
          accuracy,
        });
      for (const [i, d] of dirs.entries()) process.stdout.write(`${d}: ${pct(accuracies[i])}\n`);
      process.stdout.write(
        `ensemble of ${dirs.length}: ${pct(accuracy)} on the ${test.count} test digits\nsaved ${o.out}\n`,
      );
    });
}
