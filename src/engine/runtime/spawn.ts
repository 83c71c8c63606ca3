/** Starts one of the engine's worker threads, from compiled JavaScript or (tests, tsx) from TypeScript sources. */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

/** `name` is the module beside this file, without extension ("fit-worker"). */
export function spawnWorker(name: string, workerData: unknown): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  // A worker does not inherit the parent's module loader: register tsx in it first.
  const entry = new URL(`./${name}.ts`, import.meta.url).href;
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx/esm/api")).href.replace(
    /\.cjs$/,
    ".mjs",
  );
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData });
}
