/** Versions recorded in saved models and runs, so a result can be traced to what produced it. */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

function packageVersion(name: string): string {
  try {
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export const DIGITS_VERSION: string = (require("../package.json") as { version: string }).version;

export function versions(): Record<string, string> {
  return {
    digits: DIGITS_VERSION,
    onnxruntime: packageVersion("onnxruntime-node"),
    node: process.versions.node,
  };
}
