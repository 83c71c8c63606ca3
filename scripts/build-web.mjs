// Builds the page into web/dist: the app bundled with esbuild (it shares src/vision with the server), plus
// the static files. The directory is made afresh, so nothing stale (an old source map) is ever served.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const web = path.join(import.meta.dirname, "..", "web");
const dist = path.join(web, "dist");
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });
// The page, and the fine-tuning worker (it bundles the engine's graph compiler: pure TypeScript).
for (const [entry, out] of [
  ["main.ts", "app.js"],
  ["tune-worker.ts", "tune-worker.js"],
])
  await build({
    entryPoints: [path.join(web, entry)],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    outfile: path.join(dist, out),
    logLevel: "warning",
  });
for (const file of ["index.html", "style.css"]) fs.copyFileSync(path.join(web, file), path.join(dist, file));
