/** The CLI as a user runs it: spawned as a process (from the TypeScript sources, via tsx), on small real data. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, digits, digitsArgs } from "../helpers/cli.js";
import { encodeImages, encodeLabels } from "../../src/data/idx.js";
import { SqliteSampleStore } from "../../src/samples/sqlite.js";
import { mnistSlice } from "../helpers/mnist.js";
import { childPids } from "../helpers/proc.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "digits-cli-"));

let runDir: string;

beforeAll(async () => {
  runDir = path.join(tmp, "run");
  const r = await digits(
    "train",
    "--limit",
    "3000",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--out",
    runDir,
    "--json",
  );
  expect(r.code, r.stderr).toBe(0);
}, 300_000);

describe("digits train", () => {
  it("writes a run directory with config, history (JSON + CSV), metrics and a loadable model", async () => {
    for (const f of [
      "config.json",
      "history.json",
      "history.csv",
      "metrics.json",
      "model/model.onnx",
      "model/metadata.json",
    ]) {
      expect(fs.existsSync(path.join(runDir, f)), f).toBe(true);
    }
    const csv = fs.readFileSync(path.join(runDir, "history.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("epoch,loss,accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second");
    expect(csv).toHaveLength(3);
    // The default cosine decay over 2 × 47 steps: half the rate after epoch 1, ~0 after epoch 2.
    const history = JSON.parse(fs.readFileSync(path.join(runDir, "history.json"), "utf8"));
    expect(history[0].learning_rate).toBeCloseTo(0.0005, 4);
    expect(history[1].learning_rate).toBeLessThan(1e-6);
    const config = JSON.parse(fs.readFileSync(path.join(runDir, "config.json"), "utf8"));
    expect(config.lrDecay).toBe("cosine");
    expect(config.replicas).toBeGreaterThanOrEqual(1); // recorded: results depend on it in the last digits
    const metrics = JSON.parse(fs.readFileSync(path.join(runDir, "metrics.json"), "utf8"));
    expect(metrics.test.count).toBe(10000);
    expect(metrics.test.accuracy).toBeGreaterThan(0.85);
  });

  it("--recipe sets its settings, options given on the command line win, and the run records them", async () => {
    const out = path.join(tmp, "fast");
    const r = await digits(
      "train",
      "--recipe",
      "fast",
      "--limit",
      "1000",
      "--batch-size",
      "100",
      "--out",
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect([config.epochs, config.batchSize, config.learningRate, config.lrDecay]).toEqual([
      1,
      100,
      0.02,
      "onecycle",
    ]);
    expect([config.warmup, config.beta2, config.labelSmoothing, config.validation]).toEqual([
      0.25,
      0.99,
      0.1,
      "none",
    ]);
    // Each command's module loads on demand: help lists them all, a misspelt one is suggested.
    const help = await digits("--help");
    for (const c of ["train", "evaluate", "predict", "serve", "finetune", "export", "import", "samples"])
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, "m"));
    expect((await digits("trian")).stderr).toMatch(/unknown command 'trian'\n\(Did you mean train\?\)/);
    expect((await digits("export", "--help")).stdout).toMatch(/^Usage: digits export/);
    const bad = await digits("train", "--augment", "rotate=3", "--limit", "10");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--augment: "rotate=3" is not NAME=NUMBER/);
    const sgdOnly = await digits("train", "--momentum", "0.5", "--limit", "10");
    expect(sgdOnly.stderr).toMatch(/--momentum is an SGD setting/);
    const noSplit = await digits("train", "--early-stop", "2", "--limit", "10");
    expect(noSplit.stderr).toMatch(/--early-stop and --keep best .* need --validation split:F/);
  });

  it("refuses to mix two runs in one --out, unless told to --overwrite", async () => {
    const again = await digits("train", "--limit", "100", "--epochs", "1", "--out", runDir);
    expect([again.code, again.stderr]).toEqual([
      1,
      expect.stringMatching(/already holds a run \(config\.json\).*--overwrite/),
    ]);
    const out = path.join(tmp, "twice");
    for (const extra of [[], ["--overwrite"]]) {
      const r = await digits(
        "train",
        "--limit",
        "200",
        "--epochs",
        "1",
        "--batch-size",
        "100",
        "--out",
        out,
        ...extra,
      );
      expect(r.code, r.stderr).toBe(0);
    }
    expect(JSON.parse(fs.readFileSync(path.join(out, "history.json"), "utf8"))).toHaveLength(1);
  });

  it("rejects bad options with a clear message", async () => {
    const r = await digits("train", "--epochs", "0");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--epochs must be a positive integer/);
    const replicas = await digits("train", "--replicas", "0");
    expect(replicas.code).toBe(1);
    expect(replicas.stderr).toMatch(/--replicas must be a positive integer/);
    const v = await digits(
      "train",
      "--validation",
      "split:2",
      "--limit",
      "10",
      "--out",
      path.join(tmp, "bad"),
    );
    expect(v.stderr).toMatch(/--validation must be/);
  });
});

describe("--dataset", () => {
  const datasets = path.resolve(ROOT, "../shared/datasets");
  it("trains on USPS (every fifth digit held out as its test split) and scores a mixture part by part", async () => {
    const out = path.join(tmp, "usps");
    const r = await digits(
      "train",
      "--dataset",
      "usps",
      "--data-dir",
      datasets,
      "--epochs",
      "2",
      "--batch-size",
      "64",
      "--out",
      out,
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /usps from dir .*: 5833 training and 1458 test images \(every fifth image held out/,
    );
    const result = JSON.parse(r.stdout);
    expect(result.count).toBe(1458);
    expect(result.accuracy).toBeGreaterThan(0.85);
    const config = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect(config.dataset).toBe("usps");
    expect(config.data.parts[0]).toMatchObject({ name: "usps", train: 5833, test: 1458, testCarved: true });
    const both = await digits(
      "evaluate",
      "--model",
      out,
      "--dataset",
      "mnist+usps",
      "--data-dir",
      datasets,
      "--json",
    );
    expect(both.code, both.stderr).toBe(0);
    const e = JSON.parse(both.stdout);
    expect(e.parts.map((p: { name: string; count: number }) => [p.name, p.count])).toEqual([
      ["mnist", 10000],
      ["usps", 1458],
    ]);
    expect(e.parts[1].accuracy).toBeCloseTo(result.accuracy, 6); // the same held-out digits as the run's
    const unknown = await digits("evaluate", "--dataset", "kmnist");
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringMatching(/unknown dataset "kmnist"/)]);
  });
});

describe("digits calibrate", () => {
  it("fits T and the unsure threshold on USPS, saves the calibrated model, and predict flags unsure answers", async () => {
    const out = path.join(tmp, "calibrated");
    const r = await digits(
      "calibrate",
      "--model",
      runDir,
      "--out",
      out,
      "--data-dir",
      path.resolve(ROOT, "../shared/datasets"),
      "--no-styles",
      "--non-digits",
      "10",
      "--json",
    );
    expect(r.code, r.stderr).toBe(0);
    const { calibration, refusals } = JSON.parse(r.stdout);
    expect(calibration).toMatchObject({ fittedOn: ["usps (test split)"], count: 1458 });
    expect(calibration.coverage).toBeGreaterThanOrEqual(0.99);
    expect(calibration.after.nll).toBeLessThanOrEqual(calibration.before.nll);
    expect(refusals.nonDigits.at(-1)).toMatchObject({ kind: "all", made: 50 });
    const meta = JSON.parse(fs.readFileSync(path.join(out, "metadata.json"), "utf8"));
    expect(meta.calibration.threshold).toBeCloseTo(calibration.threshold, 9);
    // A blank-ish scribble is no digit: predict says so rather than naming one with confidence.
    const scribble = path.join(tmp, "scribble.png");
    await sharp({ create: { width: 200, height: 200, channels: 3, background: "white" } })
      .composite([
        {
          input: Buffer.from(
            '<svg width="200" height="200"><path d="M20 100 Q 60 10 100 100 T 180 100" stroke="black" stroke-width="14" fill="none"/><path d="M30 160 L 170 40" stroke="black" stroke-width="14"/></svg>',
          ),
        },
      ])
      .png()
      .toFile(scribble);
    const p = JSON.parse((await digits("predict", "--model", out, scribble, "--json")).stdout);
    expect(p[0]).toHaveProperty("unsure");
    expect(p[0].unsure).toBe(p[0].confidence < meta.calibration.threshold);
  }, 180_000);
});

describe("digits serve", () => {
  it("runs --workers 2 processes on one port, and replaces a worker that dies", async () => {
    const server = spawn(
      process.execPath,
      digitsArgs("serve", "--port", "0", "--no-samples", "--workers", "2"),
      { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    server.stderr.on("data", (d) => (err += d));
    const url = await new Promise<string>((resolve) =>
      server.stderr.on("data", () => {
        const m = /on (http:\/\/[\d.:]+) with 2 workers/.exec(err);
        if (m) resolve(m[1]);
      }),
    );
    const workers = () => childPids(server.pid as number);
    const { pixels } = await mnistSlice("t10k", 0, 1);
    const png = await sharp(Buffer.from(pixels.map((v) => 255 - v)), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .resize(280, 280)
      .png()
      .toBuffer();
    const predict = async () =>
      (
        await fetch(`${url}/api/predict`, {
          method: "POST",
          headers: { "content-type": "image/png" },
          body: new Uint8Array(png),
        })
      ).json();
    const before = workers();
    expect(before.length).toBe(2);
    expect((await Promise.all([predict(), predict(), predict(), predict()])).map((r) => r.digit)).toEqual([
      7, 7, 7, 7,
    ]);
    // A worker killed outright (out of memory, say): the primary starts another; the port keeps answering.
    process.kill(before[0], "SIGKILL");
    for (let i = 0; i < 100 && !(workers().length === 2 && !workers().includes(before[0])); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(err).toMatch(/a server worker died \(SIGKILL\); starting another/);
    const after = workers();
    expect(after).toHaveLength(2);
    expect(after).not.toContain(before[0]);
    for (let i = 0; i < 50 && (await predict().catch(() => undefined))?.digit !== 7; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await Promise.all([predict(), predict(), predict(), predict()])).map((r) => r.digit)).toEqual([
      7, 7, 7, 7,
    ]);
    server.kill("SIGTERM");
    expect(await new Promise((resolve) => server.once("exit", resolve))).toBe(0);
    expect(after.filter((pid) => fs.existsSync(`/proc/${pid}`))).toEqual([]); // the workers stopped too
  }, 60_000);

  it("on a port already taken says so and exits 1, with one worker or two (no worker left waiting)", async () => {
    const taken = http.createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = String((taken.address() as { port: number }).port);
    try {
      for (const workers of ["1", "2"]) {
        const r = await digits("serve", "--port", port, "--no-samples", "--workers", workers);
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
        if (workers === "2")
          expect(r.stderr).toMatch(/a server worker failed to start \(exit code 1\); stopping/);
      }
    } finally {
      taken.close();
    }
  }, 60_000);

  it("finishes a request in flight when stopped (SIGTERM), then exits 0", async () => {
    const server = spawn(process.execPath, digitsArgs("serve", "--port", "0", "--no-samples"), {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    const url = await new Promise<string>((resolve) =>
      server.stderr.on("data", (d) => {
        err += d;
        const m = /on (http:\/\/\S+)/.exec(err);
        if (m) resolve(m[1]);
      }),
    );
    const { pixels } = await mnistSlice("t10k", 0, 1);
    const png = await sharp(Buffer.from(pixels.map((v) => 255 - v)), {
      raw: { width: 28, height: 28, channels: 1 },
    })
      .png()
      .toBuffer();
    // A request whose body arrives slowly: half of it, then SIGTERM, then the rest.
    const { port } = new URL(url);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/api/predict",
          headers: { "content-type": "image/png", "content-length": png.length },
        },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.write(png.subarray(0, 50));
      setTimeout(() => {
        server.kill("SIGTERM");
        setTimeout(() => req.end(png.subarray(50)), 500);
      }, 300);
    });
    const r = await answer;
    expect(r.status, r.body).toBe(200);
    expect(JSON.parse(r.body).digit).toBe(7);
    const code = await new Promise((resolve) => server.once("exit", resolve));
    expect(code).toBe(0);
    expect(err).toMatch(/stopping: finishing requests in flight/);
  }, 60_000);
});

describe("digits samples", () => {
  it("lists, exports and deletes the kept digits", async () => {
    const db = path.join(tmp, "samples.db");
    const store = SqliteSampleStore.open(db);
    const { x, labels } = await mnistSlice("t10k", 0, 3);
    for (let i = 0; i < 3; i++)
      await store.add({
        image: new Uint8Array(
          await sharp({ create: { width: 8, height: 8, channels: 3, background: "white" } })
            .png()
            .toBuffer(),
        ),
        imageType: "image/png",
        input: x.subarray(i * 784, (i + 1) * 784),
        label: labels[i],
        predicted: i === 2 ? 0 : labels[i],
        confidence: 0.8,
        client: `browser-${i}`,
      });
    await store.close();
    const list = await digits("samples", "list", "--db", db);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/3 sample\(s\), 1 the model got wrong/);
    const json = JSON.parse(
      (await digits("samples", "list", "--db", db, "--client", "browser-1", "--json")).stdout,
    );
    expect(json.samples.map((s: { id: number }) => s.id)).toEqual([2]);
    const out = path.join(tmp, "samples-export");
    const exported = await digits("samples", "export", "--db", db, "--out", out);
    expect(exported.stdout).toMatch(/exported 3 sample\(s\)[\s\S]*--dataset idx:/);
    expect(fs.readdirSync(out).sort()).toEqual([
      "images-idx3-ubyte",
      "labels-idx1-ubyte",
      "pictures",
      "samples.csv",
    ]);
    expect((await digits("samples", "delete", "--db", db)).stderr).toMatch(/say which samples/);
    expect((await digits("samples", "delete", "--db", db, "--id", "1", "--id", "3")).stdout).toMatch(
      /deleted 2 sample\(s\); 1 left/,
    );
    const few = await digits("finetune", "--samples", db, "--out", path.join(tmp, "tuned"));
    expect(few.stderr).toMatch(/samples\.db: 1 digit\(s\); fine-tuning needs at least 5/);
    const twoWays = await digits(
      "finetune",
      "--samples",
      db,
      "--dataset",
      "usps",
      "--out",
      path.join(tmp, "tuned"),
    );
    expect(twoWays.stderr).toMatch(/give the digits one way/);
    const foreign = await digits("samples", "list", "--db", path.join(ROOT, "package.json"));
    expect([foreign.code, foreign.stderr]).toEqual([
      1,
      expect.stringMatching(/package\.json: not a readable SQLite database/),
    ]);
  });
});

describe("digits finetune --writers", () => {
  it("runs the writer protocol on held-out pen writers: a table, the report as JSON and a figure", async () => {
    const out = path.join(tmp, "writers");
    const args = [
      "finetune",
      "--writers",
      "pendigits",
      "--data-dir",
      path.resolve(ROOT, "../shared/datasets"),
    ];
    const r = await digits(...args, "--k", "1", "--max-writers", "1", "--steps", "5", "--out", out, "--json");
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.rows).toHaveLength(1);
    expect(report.rows[0]).toMatchObject({ set: "pendigits", k: 1, learned: 10 });
    expect(report.summary.map((s: { set: string }) => s.set).sort()).toEqual(["all", "pendigits"]);
    expect(JSON.parse(fs.readFileSync(path.join(out, "writers.json"), "utf8")).rows).toEqual(report.rows);
    expect(fs.statSync(path.join(out, "writers.png")).size).toBeGreaterThan(10_000);
    expect(r.stderr).toMatch(/writers tuned: 1\/1 pendigits \S+ K=1: [\d.]+% → [\d.]+%/);
    const bad = await digits(...args, "--k", "0,3");
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringMatching(/--k must list whole numbers/)]);
    const noWriters = await digits(
      "finetune",
      "--writers",
      "usps",
      "--data-dir",
      path.resolve(ROOT, "../shared/datasets"),
    );
    expect(noWriters.stderr).toMatch(/no set names its writers/);
    const nobody = await digits(...args, "--k", "3", "--writer", "nobody");
    expect(nobody.stderr).toMatch(
      /pendigits: no writer named nobody has K \+ 1 digits of every class at K = 3/,
    );
  }, 120_000);
});

describe("digits evaluate", () => {
  it("--json gives accuracy, loss and count, matching the run's own metrics", async () => {
    const r = await digits("evaluate", "--model", runDir, "--json");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const metrics = JSON.parse(fs.readFileSync(path.join(runDir, "metrics.json"), "utf8"));
    expect(out.count).toBe(10000);
    expect(out.accuracy).toBeCloseTo(metrics.test.accuracy, 6);
    expect(out.confusion).toHaveLength(10);
  });

  it("evaluates any IDX pair and prints the confusion matrix", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 100, 50);
    fs.writeFileSync(path.join(tmp, "img.idx"), encodeImages({ count: 50, rows: 28, cols: 28, pixels }));
    fs.writeFileSync(path.join(tmp, "lab.idx"), encodeLabels(labels));
    const r = await digits(
      "evaluate",
      "--model",
      runDir,
      "--images",
      path.join(tmp, "img.idx"),
      "--labels",
      path.join(tmp, "lab.idx"),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/confusion matrix/);
    expect(r.stdout).toMatch(/50 images: accuracy/);
  });

  it("scores a mixture population by population, with the worst held-out writers", async () => {
    const args = ["--dataset", "optdigits+pendigits", "--data-dir", path.resolve(ROOT, "../shared/datasets")];
    const r = await digits("evaluate", ...args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/by population \(writers held out whole where the set names them\)/);
    expect(r.stdout).toMatch(/\n pendigits +1499 +\d+\.\d\d% +\d: \d+\.\d%/);
    expect(r.stdout).toMatch(
      /worst writers\n population +writer +digits +accuracy +mistakes\n pendigits +\d+ +\d+ /,
    );
    const json = JSON.parse((await digits("evaluate", ...args, "--json")).stdout);
    expect(json.populations.map((p: { name: string }) => p.name)).toEqual(["optdigits", "pendigits"]);
    expect(json.populations[1].writers.count).toBe(6);
    expect(json.populations[1].accuracy).toBeCloseTo(json.parts[1].accuracy, 9);
  });

  it("fails clearly on a missing model", async () => {
    const r = await digits("evaluate", "--model", path.join(tmp, "none"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/digits: error: .*none: model directory not found/);
  });
});

describe("digits predict", () => {
  it("reads PNG digits (dark on light too) and IDX files, --json with digit and probabilities", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 3);
    const files: string[] = [];
    for (let i = 0; i < 3; i++) {
      const file = path.join(tmp, `d${i}.png`);
      const img = pixels.subarray(i * 784, (i + 1) * 784);
      const data = i === 2 ? Buffer.from(img.map((v) => 255 - v)) : Buffer.from(img); // the third as black on white
      await sharp(data, { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(file);
      files.push(file);
    }
    fs.writeFileSync(path.join(tmp, "three.idx"), encodeImages({ count: 3, rows: 28, cols: 28, pixels }));
    const r = await digits("predict", "--model", runDir, "--json", ...files, path.join(tmp, "three.idx"));
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { digit: number; probabilities: number[] }[];
    expect(out).toHaveLength(6);
    expect(out.map((o) => o.digit)).toEqual([...labels, ...labels]);
    for (const o of out) expect(o.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  });

  it("--show draws what the model saw", async () => {
    const { pixels } = await mnistSlice("t10k", 0, 1);
    const file = path.join(tmp, "show.png");
    await sharp(Buffer.from(pixels.map((v) => 255 - v)), { raw: { width: 28, height: 28, channels: 1 } })
      .resize(140, 140)
      .png()
      .toFile(file);
    const r = await digits("predict", "--model", runDir, "--show", file);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines).toHaveLength(30); // the answer, 28 rows, and the final newline
    expect(lines.slice(1).join("")).toMatch(/@@/);
  });

  it("--number reads a picture of several digits as a number", async () => {
    const { pixels, labels } = await mnistSlice("t10k", 0, 3);
    const tiles = await Promise.all(
      [0, 1, 2].map((i) =>
        sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784)), {
          raw: { width: 28, height: 28, channels: 1 },
        })
          .resize(84, 84)
          .png()
          .toBuffer(),
      ),
    );
    const file = path.join(tmp, "number.png");
    await sharp({ create: { width: 300, height: 100, channels: 3, background: "#000" } })
      .composite(tiles.map((input, i) => ({ input, left: 10 + i * 95, top: 8 })))
      .png()
      .toFile(file);
    const r = await digits("predict", "--model", runDir, "--number", "--json", file);
    expect(r.code, r.stderr).toBe(0);
    const [read] = JSON.parse(r.stdout);
    expect(read.number).toBe(Array.from(labels).join(""));
    expect(read.digits).toHaveLength(3);
  });

  it("says which file is not an image", async () => {
    fs.writeFileSync(path.join(tmp, "junk.png"), "this is not a png");
    const r = await digits("predict", "--model", runDir, path.join(tmp, "junk.png"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/junk.png: not a readable image/);
  });

  it("reads every good file, reports each bad one by name, and exits non-zero", async () => {
    const { pixels } = await mnistSlice("t10k", 0, 1);
    const good = path.join(tmp, "good.png");
    await sharp(Buffer.from(pixels.map((v) => 255 - v)), { raw: { width: 28, height: 28, channels: 1 } })
      .resize(112, 112)
      .png()
      .toFile(good);
    const blank = path.join(tmp, "blank.png");
    await sharp({ create: { width: 60, height: 60, channels: 3, background: "white" } })
      .png()
      .toFile(blank);
    // A gzip is only inflated when its name says so, and never past what its IDX header declares.
    const bomb = path.join(tmp, "bomb.idx.gz");
    const header = Buffer.alloc(16);
    [0x803, 2, 28, 28].forEach((v, i) => header.writeUInt32BE(v, 4 * i));
    fs.writeFileSync(bomb, zlib.gzipSync(Buffer.concat([header, Buffer.alloc(64 << 20)])));
    const r = await digits(
      "predict",
      "--model",
      runDir,
      "--json",
      path.join(tmp, "junk.png"),
      good,
      blank,
      bomb,
    );
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.map((o: { input: string }) => path.basename(o.input))).toEqual([
      "good.png",
      "junk.png",
      "blank.png",
      "bomb.idx.gz",
    ]);
    expect(out[0].digit).toBe(7);
    expect(out[2].error).toMatch(/blank\.png: no ink found/);
    expect(out[3].error).toMatch(/bomb\.idx\.gz: inflates to more than the 1,584 bytes its header declares/);
    expect(r.stderr.match(/digits: error:/g)).toHaveLength(3);
  });
});

describe("digits ensemble", () => {
  it("averages two models into one directory that evaluate, summary and predict take", async () => {
    const out = path.join(tmp, "ensemble");
    const r = await digits("ensemble", runDir, path.join(ROOT, "models", "default"), "--out", out, "--json");
    expect(r.code, r.stderr).toBe(0);
    const made = JSON.parse(r.stdout);
    expect(made.members).toHaveLength(2);
    const evaluated = JSON.parse((await digits("evaluate", "--model", out, "--json")).stdout);
    expect(evaluated.accuracy).toBeCloseTo(made.accuracy, 9);
    expect(evaluated.accuracy).toBeGreaterThan(0.9);
    const summary = await digits("summary", "--model", out);
    expect(summary.stdout).toMatch(/An ensemble of 2 models/);
    expect((await digits("ensemble", runDir, "--out", path.join(tmp, "one"))).stderr).toMatch(
      /at least two models/,
    );
  });
});

describe("digits summary", () => {
  it("prints the Keras-style layer table", async () => {
    const r = await digits("summary", "--model", runDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/conv2d \(Conv2D\)\s+\(None, 26, 26, 32\)\s+320/);
    expect(r.stdout).toMatch(/Total params: 225,034/);
  });
});

describe("Ctrl-C during digits train", () => {
  it("stops after the current batch, saves what was trained and exits cleanly", async () => {
    const out = path.join(tmp, "interrupted");
    const { spawn } = await import("node:child_process");
    const child = spawn(
      process.execPath,
      digitsArgs("train", "--limit", "1000", "--epochs", "500", "--batch-size", "50", "--out", out, "--json"),
      { cwd: ROOT },
    );
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => {
      stderr += d;
      if (/Epoch 2\/500/.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/stopping after this batch/);
    const result = JSON.parse(stdout);
    expect(result.stopped).toBe(true);
    expect(result.epochs).toBeGreaterThanOrEqual(2);
    expect(result.epochs).toBeLessThan(500);
    const meta = JSON.parse(fs.readFileSync(path.join(out, "model", "metadata.json"), "utf8"));
    expect(meta.metrics.stopped).toBe(true);
  }, 120_000);
});

describe("digits report and compare", () => {
  it("report --run writes the HTML and figures and prints a JSON summary", async () => {
    const out = path.join(tmp, "report");
    const r = await digits("report", "--run", runDir, "--out", out, "--json");
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.figures.map((f: { name: string }) => f.name)).toContain("training-curves");
    expect(fs.existsSync(path.join(out, "index.html"))).toBe(true);
    expect(r.stderr).toMatch(/wrote .*confusion-matrix.svg/);
  });

  it("compare tabulates runs", async () => {
    const r = await digits("compare", runDir, runDir, "--out", path.join(tmp, "cmp"));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/run\s+architecture\s+epochs/);
    expect(r.stdout).toMatch(/run \(2\)/);
  });
});
