import { Command, Option } from "commander";
import fs from "node:fs";
import { loadMnist } from "../data/mnist.js";
import {
  EXPORT_FORMATS,
  exportModel,
  importModel,
  QUANTIZATIONS,
  quantizationCost,
  type ExportFormat,
} from "../interop/index.js";
import { pct } from "../util/format.js";
import { dataDirOption } from "./options.js";
import { printJson } from "../util/json.js";
import { openModel } from "../saved/resolve.js";
import { saveModel } from "../saved/saved-model.js";

export function exportCommand(): Command {
  return new Command("export")
    .description(
      "write a model for other tools: onnx (any ONNX runtime), keras (.keras, Keras 3), h5 (legacy Keras HDF5), tfjs (TF.js layers)",
    )
    .option("--model <dir>", "model or run directory (default: the shipped model)")
    .addOption(
      new Option("--format <format>", "what to write").choices([...EXPORT_FORMATS]).makeOptionMandatory(),
    )
    .requiredOption("--out <path>", "the file to write (a folder for tfjs)")
    .addOption(
      new Option(
        "--quantize <kind>",
        "onnx only: store the weights as fp16 or int8 (measures the accuracy cost on MNIST's test set)",
      ).choices([...QUANTIZATIONS]),
    )
    .addOption(dataDirOption())
    .option("--json", "print what was written as JSON on stdout")
    .action(async (o) => {
      const loaded = openModel(o.model);
      const files = await exportModel(loaded, o.format as ExportFormat, o.out, { quantize: o.quantize });
      const cost = o.quantize
        ? await quantizationCost(
            loaded.onnx,
            new Uint8Array(fs.readFileSync(o.out)),
            (await loadMnist({ dataDir: o.dataDir })).test,
          )
        : undefined;
      if (o.json)
        return printJson({
          model: loaded.dir,
          format: o.format,
          files,
          ...(cost ? { quantization: { kind: o.quantize, ...cost } } : {}),
        });
      const io = loaded.metadata.io;
      if (cost)
        process.stdout.write(
          `${o.quantize}: ${cost.bytes[0].toLocaleString("en-US")} → ${cost.bytes[1].toLocaleString("en-US")} bytes; MNIST test accuracy ${pct(cost.before)} → ${pct(cost.after)} (largest probability change ${cost.maxProbabilityChange.toExponential(1)})\n`,
        );
      process.stdout.write(
        `wrote ${files.join(", ")}\n` +
          `input "${io.input.name}": [N, 28, 28, 1] float32 in 0–1, white ink on black (MNIST's recipe: see the README); output: [N, 10] probabilities\n`,
      );
    });
}

export function importCommand(): Command {
  return new Command("import")
    .description(
      "bring a Keras .keras / .h5 or TF.js model.json in as a digits model (then evaluate, serve, fine-tune it)",
    )
    .argument("<path>", "the .keras or .h5 file, or the TF.js model.json (or its folder)")
    .requiredOption("--out <dir>", "the digits model directory to write")
    .option("--json", "print JSON on stdout")
    .action(async (file: string, o) => {
      const { model, format } = await importModel(file);
      saveModel(o.out, model, { architectureName: "imported", training: { importedFrom: { file, format } } });
      if (o.json) return printJson({ model: o.out, format, parameters: model.countParams() });
      process.stdout.write(
        `imported ${file} (${format}, ${model.countParams().total.toLocaleString("en-US")} parameters) as ${o.out}\n`,
      );
    });
}
