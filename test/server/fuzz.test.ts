/**
 * Every API route under attack (fast-check): random methods, bodies (random bytes, real pictures cut short or
 * with bytes flipped, PNG headers declaring 0×0 or 20,000×20,000 pixels), content types, query strings and
 * client ids. The bounds this suite checks: every answer is a JSON 2xx or 4xx (never a 5xx, never a stack
 * trace) within 2 s, and the server's heap grows by less than 96 MB over all of it (it holds a few MB of pictures).
 */
import fc from "fast-check";
import zlib from "node:zlib";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { DEFAULT_MODEL_DIR, WEB_DIST_DIR } from "../../src/paths.js";
import { SqliteSampleStore } from "../../src/samples/sqlite.js";
import { buildApp } from "../../src/server/app.js";
import { PNG_SIGNATURE, pngChunk } from "../../src/vision/png.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

let app: FastifyInstance;
let store: SqliteSampleStore;
const pictures: Buffer[] = [];

/** A PNG whose header declares width × height but whose pixels are a few bytes (a bomb's opening). */
function declaredPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", zlib.deflateSync(Buffer.alloc(1024))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

beforeAll(async () => {
  store = SqliteSampleStore.open(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-fuzz-")), "s.db"));
  app = await buildApp({
    model: loadModel(DEFAULT_MODEL_DIR),
    webDir: WEB_DIST_DIR,
    samples: store,
    rateLimit: 0,
    bodyLimit: 1024 * 1024,
  });
  const { pixels } = await mnistSlice("t10k", 0, 3);
  for (let i = 0; i < 3; i++) {
    const raw = sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784)), {
      raw: { width: 28, height: 28, channels: 1 },
    }).resize(140, 140);
    pictures.push(await raw.clone().png().toBuffer(), await raw.clone().jpeg().toBuffer());
  }
  pictures.push(declaredPng(0, 0), declaredPng(20_000, 20_000), declaredPng(1, 100_000));
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const ROUTES = [
  "/api/predict",
  "/api/read",
  "/api/samples",
  "/api/samples/1",
  "/api/samples/1/image",
  "/api/model",
  "/api/replay",
  "/healthz",
  "/model.onnx",
  "/inside.onnx",
];

/** The method and route pairs the API answers. */
const TAKEN: [string, string][] = [
  ["POST", "/api/predict"],
  ["POST", "/api/read"],
  ["POST", "/api/samples"],
  ["GET", "/api/samples"],
  ["GET", "/api/samples/1/image"],
  ["DELETE", "/api/samples/1"],
  ["DELETE", "/api/samples"],
];

/** A body: random bytes, or a real picture cut short, with bytes flipped, or whole. */
const body = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
  fc
    .tuple(
      fc.integer({ min: 0, max: 8 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.array(fc.nat(), { maxLength: 8 }),
    )
    .map(([k, cut, flips]) => {
      const picture = Buffer.from(pictures[k % pictures.length]);
      for (const f of flips) picture[f % picture.length] ^= 0xff;
      return picture.subarray(0, Math.max(1, Math.round(picture.length * (cut < 0.3 ? cut : 1))));
    }),
);

describe("the API under random requests", () => {
  it("answers every one with JSON 2xx or 4xx within 2 s, no stack trace, bounded memory", async () => {
    const heap0 = process.memoryUsage().heapUsed;
    let slowest = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        // Mostly what the routes take, so the requests reach the parsers; some of everything else.
        fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...TAKEN) },
          {
            weight: 1,
            arbitrary: fc.tuple(fc.constantFrom("GET", "POST", "DELETE", "PUT"), fc.constantFrom(...ROUTES)),
          },
        ),
        fc.constantFrom(
          "image/png",
          "image/jpeg",
          "image/svg+xml",
          "application/json",
          "text/plain",
          "multipart/form-data; boundary=x",
          "application/octet-stream",
          "",
        ),
        fc.option(fc.stringMatching(/^[\w-]{0,70}$/), { nil: undefined }),
        fc.dictionary(
          fc.constantFrom("label", "consent", "id", "x"),
          fc.oneof(fc.constantFrom("3", "true", "-1", "NaN", "1e309", "99999999999999999999"), fc.string()),
        ),
        body,
        async ([method, url], type, client, query, payload) => {
          const t0 = performance.now();
          const r = await app.inject({
            method: method as "GET",
            url,
            query,
            headers: {
              ...(type ? { "content-type": type } : {}),
              ...(client !== undefined ? { "x-digits-client": client } : {}),
            },
            ...(method === "GET" || method === "DELETE" ? {} : { payload }),
          });
          slowest = Math.max(slowest, performance.now() - t0);
          statuses.set(r.statusCode, (statuses.get(r.statusCode) ?? 0) + 1);
          expect(r.statusCode, `${method} ${url} ${type}: ${r.body.slice(0, 200)}`).toBeLessThan(500);
          expect(r.body).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
          if (r.statusCode >= 400) expect(r.json()).toHaveProperty("error");
        },
      ),
      { numRuns: 400 },
    );
    const grown = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
    const tally = [...statuses].sort((a, b) => a[0] - b[0]).map(([c, n]) => `${c}×${n}`);
    console.log(
      `API fuzz: ${tally.join(" ")}; slowest ${slowest.toFixed(0)} ms, heap +${grown.toFixed(1)} MB`,
    );
    expect(statuses.get(200)).toBeGreaterThan(0); // some requests were whole and got through
    expect(slowest).toBeLessThan(2000);
    expect(grown).toBeLessThan(96);
  }, 120_000);

  it("refuses pictures that declare absurd sizes, before decoding them", async () => {
    for (const [w, h] of [
      [0, 0],
      [20_000, 20_000],
      [1, 100_000],
    ]) {
      const r = await app.inject({
        method: "POST",
        url: "/api/predict",
        headers: { "content-type": "image/png" },
        payload: declaredPng(w, h),
      });
      expect(r.statusCode, `${w}×${h}`).toBeGreaterThanOrEqual(400);
      expect(r.statusCode).toBeLessThan(500);
      expect(r.json().message).toMatch(/too large|not a readable image/);
    }
  });
});
