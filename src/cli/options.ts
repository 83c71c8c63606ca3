/** Parsers for command-line option values: a wrong value is a clear message naming the option. */
import { Option } from "commander";
import { DATASET_FORMS } from "../data/dataset.js";

function parsed(name: string, what: string, ok: (n: number) => boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !ok(n)) throw new Error(`${name} must be ${what} (got "${value}")`);
    return n;
  };
}

export const positiveInt = (name: string) =>
  parsed(name, "a positive integer", (n) => Number.isInteger(n) && n >= 1);
export const nonNegativeInt = (name: string) =>
  parsed(name, "a whole number ≥ 0", (n) => Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1);
export const positiveNumber = (name: string) =>
  parsed(name, "a positive number", (n) => Number.isFinite(n) && n > 0);
export const fraction = (name: string) => parsed(name, "a number from 0 to below 1", (n) => n >= 0 && n < 1);
/** A TCP port; 0 asks the system for a free one. */
export const port = parsed("--port", "0–65535", (n) => Number.isInteger(n) && n >= 0 && n <= 65535);

/** `--dataset` and `--data-dir`, spelled once for every command that reads a dataset. */
export const datasetOption = (what: string) =>
  new Option("--dataset <name>", `${what}: ${DATASET_FORMS}`).default("mnist");
export const dataDirOption = () =>
  new Option(
    "--data-dir <dir>",
    "where the dataset's files are: its own folder, or a folder of datasets by name (…/mnist, …/usps); default: $MNIST_DIR, $USPS_DIR or $FASHION_MNIST_DIR, an installed package, the cache, or a download",
  );
