import { defineConfig } from "vitest/config";

// Two suites, both run by `npm test`: fast unit tests (libraries called directly), and end-to-end tests
// (a real Chromium, CLI processes, the example as a user runs it, full-MNIST training).
const E2E = [
  "test/web/**/*.test.ts",
  "test/cli/**/*.test.ts",
  "test/report/**/*.test.ts",
  "test/examples/**/*.test.ts",
  "test/engine/mnist-accuracy.test.ts",
  "test/training/finetune.test.ts",
  "test/training/resume.test.ts",
  "test/server/postgres.test.ts",
  "test/docker/**/*.test.ts",
];

// Round trips through Python's Keras and onnxruntime (`npm run test:interop`, which makes their venv).
const INTEROP = ["test/interop/python.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // onnxruntime sessions use every core; running test files in parallel only makes them fight.
    fileParallelism: false,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...E2E, ...INTEROP] },
      },
      { extends: true, test: { name: "e2e", include: E2E } },
      { extends: true, test: { name: "interop", include: INTEROP } },
    ],
  },
});
