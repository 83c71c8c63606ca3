/** The samples routes through fastify's inject: kept only with consent, each browser sees and deletes its own. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_DIR, WEB_DIST_DIR } from "../../src/paths.js";
import type { SampleStore } from "../../src/samples/store.js";
import { SqliteSampleStore } from "../../src/samples/sqlite.js";
import { buildApp } from "../../src/server/app.js";
import { loadModel } from "../../src/saved/saved-model.js";
import { mnistSlice } from "../helpers/mnist.js";

let app: FastifyInstance;
let store: SampleStore;
let png: Buffer;
let label: number;
const A = "browser-aaaa-1111";
const B = "browser-bbbb-2222";

beforeAll(async () => {
  store = SqliteSampleStore.open(
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), "digits-samples-api-")), "s.db"),
  );
  app = await buildApp({ model: loadModel(DEFAULT_MODEL_DIR), webDir: WEB_DIST_DIR, samples: store });
  const slice = await mnistSlice("t10k", 0, 1);
  label = slice.labels[0];
  png = await sharp(Buffer.from(slice.pixels.map((v) => 255 - v)), {
    raw: { width: 28, height: 28, channels: 1 },
  })
    .resize(280, 280)
    .png()
    .toBuffer();
});
afterAll(async () => {
  await app.close();
  await store.close();
});

const keep = (query: string, client?: string) =>
  app.inject({
    method: "POST",
    url: `/api/samples?${query}`,
    headers: { "content-type": "image/png", ...(client ? { "x-digits-client": client } : {}) },
    payload: png,
  });

describe("/api/samples", () => {
  it("keeps a picture only with consent, with the model's own reading of it", async () => {
    const info = (await app.inject({ url: "/api/model" })).json();
    expect(info.samples).toBe(true);
    const refused = await keep("label=3", A);
    expect([refused.statusCode, refused.json().error]).toEqual([400, "no_consent"]);
    expect((await keep("label=3&consent=true")).json().error).toBe("no_client");
    expect((await keep("label=12&consent=true", A)).statusCode).toBe(400);
    expect(await store.count()).toBe(0);
    // A correction: the person says it was a 3 (the model reads the digit it is, a 7).
    const r = await keep("label=3&consent=true", A);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      label: 3,
      predicted: label,
      imageType: "image/png",
      imageBytes: png.length,
    });
    expect(r.json().confidence).toBeGreaterThan(0.9);
    const [kept] = await store.read();
    expect(kept.image).toEqual(new Uint8Array(png));
    expect(kept.pixels.reduce((a, b) => a + b, 0)).toBeGreaterThan(10_000); // the prepared 28×28, not blank
  });

  it("lists, returns and deletes only the asking browser's samples", async () => {
    const mine = (await keep(`label=${label}&consent=true`, A)).json().id;
    const theirs = (await keep(`label=${label}&consent=true`, B)).json().id;
    const list = (client: string) =>
      app
        .inject({ url: "/api/samples", headers: { "x-digits-client": client } })
        .then((r) => r.json().samples);
    expect((await list(A)).map((s: { id: number }) => s.id)).toContain(mine);
    expect((await list(A)).map((s: { id: number }) => s.id)).not.toContain(theirs);
    const image = await app.inject({ url: `/api/samples/${mine}/image`, headers: { "x-digits-client": A } });
    expect([image.statusCode, image.headers["content-type"], image.rawPayload.length]).toEqual([
      200,
      "image/png",
      png.length,
    ]);
    const stolen = await app.inject({
      url: `/api/samples/${theirs}/image`,
      headers: { "x-digits-client": A },
    });
    expect(stolen.statusCode).toBe(404);
    const del = (url: string, client: string) =>
      app.inject({ method: "DELETE", url, headers: { "x-digits-client": client } });
    expect((await del(`/api/samples/${theirs}`, A)).statusCode).toBe(404);
    expect((await del(`/api/samples/${mine}`, A)).json()).toEqual({ deleted: 1 });
    expect((await del("/api/samples", A)).json().deleted).toBe(1); // the correction kept by the first test
    expect(await list(A)).toEqual([]);
    expect((await list(B)).map((s: { id: number }) => s.id)).toEqual([theirs]);
  });
});
