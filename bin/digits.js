#!/usr/bin/env node
// The `digits` command: runs the compiled CLI. In a checkout, `npm start` and `npm test` build it first
// (npm ci builds nothing here: .npmrc turns off install scripts); an installed package ships it built.
import fs from "node:fs";
import process from "node:process";
import { URL } from "node:url";

if (!fs.existsSync(new URL("../dist/cli/bin.js", import.meta.url))) {
  process.stderr.write("digits: not built yet: run `npm run build` in this folder first\n");
  process.exit(1);
}
await import("../dist/cli/bin.js");
