/** The `digits` command line: thin shells over library functions. */
import { Command } from "commander";
import { DIGITS_VERSION } from "../version.js";

/**
 * Each command's module, loaded when needed: together they pull in everything (sharp, fastify, the report's
 * charts, HDF5…), ~0.6 s before any command could start; one command loads only what it uses.
 */
const COMMANDS: Record<string, () => Promise<Command | Command[]>> = {
  train: async () => (await import("./train.js")).trainCommand(),
  evaluate: async () => (await import("./evaluate.js")).evaluateCommand(),
  predict: async () => (await import("./predict.js")).predictCommand(),
  summary: async () => (await import("./summary.js")).summaryCommand(),
  serve: async () => (await import("./serve.js")).serveCommand(),
  report: async () => (await import("./report.js")).reportCommand(),
  compare: async () => (await import("./report.js")).compareCommand(),
  experiment: async () => (await import("./experiment.js")).experimentCommand(),
  ensemble: async () => (await import("./ensemble.js")).ensembleCommand(),
  finetune: async () => (await import("./finetune.js")).finetuneCommand(),
  calibrate: async () => (await import("./calibrate.js")).calibrateCommand(),
  export: async () => (await import("./interop.js")).exportCommand(),
  import: async () => (await import("./interop.js")).importCommand(),
  samples: async () => (await import("./samples.js")).samplesCommand(),
};

/** The program with the named command, or with every command (help, an unknown name, none). */
export async function program(name?: string): Promise<Command> {
  const names = name !== undefined && name in COMMANDS ? [name] : Object.keys(COMMANDS);
  const out = new Command("digits")
    .description("handwritten digit recognition: train, evaluate, ship and use a CNN")
    .version(DIGITS_VERSION);
  for (const n of names) for (const c of [await COMMANDS[n]()].flat()) out.addCommand(c);
  return out.showHelpAfterError();
}

export async function main(argv: string[]): Promise<void> {
  try {
    await (await program(argv[2])).parseAsync(argv);
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`digits: error: ${err.message}\n`);
    if (process.env.DIGITS_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  }
}
