/**
 * The lint's import-cycle rule really fires: two files that import each other, written under src/ for the
 * length of the test, are reported (a resolver that silently finds nothing would pass every real file).
 */
import fs from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers/cli.js";

describe("the import-cycle lint", () => {
  it("reports two modules that import each other, and nothing in the sources as they are", async () => {
    const dir = path.join(ROOT, "src", "__cycle_check__");
    fs.mkdirSync(dir, { recursive: true });
    try {
      fs.writeFileSync(path.join(dir, "a.ts"), 'import { b } from "./b.js";\nexport const a = () => b;\n');
      fs.writeFileSync(path.join(dir, "b.ts"), 'import { a } from "./a.js";\nexport const b = () => a;\n');
      const eslint = new ESLint({ cwd: ROOT });
      const results = await eslint.lintFiles([path.join(dir, "a.ts"), path.join(dir, "b.ts")]);
      const cycles = results.flatMap((r) => r.messages.filter((m) => m.ruleId === "import-x/no-cycle"));
      expect(cycles).toHaveLength(2);
      const real = await eslint.lintFiles(["src/engine/graph/**/*.ts", "src/samples/*.ts"]);
      expect(real.flatMap((r) => r.messages.filter((m) => m.ruleId === "import-x/no-cycle"))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
