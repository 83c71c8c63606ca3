/**
 * The server as an attacker meets it (fastify's inject, plus a real socket for slow clients): security
 * headers and a content-security policy, only its own host names, no foreign origins, a rate limit, no
 * directory traversal, no source map, no SVG, no stack trace.
 */
import net from "node:net";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODEL_DIR, WEB_DIST_DIR } from "../../src/paths.js";
import { buildApp } from "../../src/server/app.js";
import { loadModel } from "../../src/saved/saved-model.js";

let app: FastifyInstance;
let png: Buffer;

beforeAll(async () => {
  app = await buildApp({ model: loadModel(DEFAULT_MODEL_DIR), webDir: WEB_DIST_DIR, rateLimit: 40 });
  png = await sharp({ create: { width: 40, height: 40, channels: 3, background: "white" } })
    .composite([
      { input: Buffer.from('<svg width="40" height="40"><rect x="15" y="5" width="8" height="30"/></svg>') },
    ])
    .png()
    .toBuffer();
});
afterAll(() => app.close());

describe("the server's defences", () => {
  it("sends security headers and a content-security policy on the page and the API", async () => {
    for (const url of ["/", "/api/model"]) {
      const r = await app.inject(url);
      expect(r.headers["content-security-policy"]).toMatch(
        /default-src 'self'.*script-src 'self' 'wasm-unsafe-eval'/,
      );
      expect(r.headers["content-security-policy"]).toMatch(/frame-ancestors 'none'/);
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.headers["access-control-allow-origin"]).toBeUndefined(); // no CORS
    }
  });

  it("answers only its own host names (DNS rebinding) and refuses foreign origins", async () => {
    const rebound = await app.inject({ url: "/api/model", headers: { host: "evil.example:3000" } });
    expect([rebound.statusCode, rebound.json().error]).toEqual([421, "wrong_host"]);
    expect((await app.inject({ url: "/api/model", headers: { host: "127.0.0.1:3000" } })).statusCode).toBe(
      200,
    );
    const foreign = await app.inject({
      method: "POST",
      url: "/api/predict",
      headers: { host: "127.0.0.1:3000", origin: "https://evil.example", "content-type": "image/png" },
      payload: png,
    });
    expect([foreign.statusCode, foreign.json().error]).toEqual([403, "foreign_origin"]);
    const own = await app.inject({
      method: "POST",
      url: "/api/predict",
      headers: { host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000", "content-type": "image/png" },
      payload: png,
    });
    expect(own.statusCode, own.body).toBe(200);
  });

  it("refuses SVG (and anything but the raster formats it names), traversal, and serves no source map", async () => {
    const svg = await app.inject({
      method: "POST",
      url: "/api/predict",
      headers: { "content-type": "image/png" },
      payload: Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg"><image href="http://example.com/x.png"/></svg>',
      ),
    });
    expect([svg.statusCode, svg.json().message]).toEqual([
      415,
      expect.stringMatching(/not a PNG, JPEG, WebP, GIF, AVIF or TIFF/),
    ]);
    for (const url of [
      "/../package.json",
      "/%2e%2e/package.json",
      "/ort/../../package.json",
      "/ort/%2e%2e%2fpackage.json",
      "/app.js.map",
    ]) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.body).not.toMatch(/"name": "digits"|sourceMappingURL|at .*\.js:\d+/);
    }
  });

  it("rate-limits a client that floods it, with a JSON answer", async () => {
    let limited: { statusCode: number; body: string } | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await app.inject({ url: "/healthz", remoteAddress: "10.0.0.9" });
      if (r.statusCode === 429) limited = r;
    }
    expect(limited?.statusCode).toBe(429);
    expect(JSON.parse(limited!.body)).toMatchObject({ error: "rate_limited" });
    // Another client is not affected.
    expect((await app.inject({ url: "/healthz", remoteAddress: "10.0.0.10" })).statusCode).toBe(200);
  });

  it("drops a client that trickles its headers (slowloris) instead of holding the socket", async () => {
    const slow = await buildApp({
      model: loadModel(DEFAULT_MODEL_DIR),
      webDir: WEB_DIST_DIR,
      headersTimeout: 1_000,
    });
    await slow.listen({ port: 0, host: "127.0.0.1" });
    const { port } = slow.server.address() as AddressInfo;
    const t0 = Date.now();
    const closedAfter = await new Promise<number>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => s.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"));
      const drip = setInterval(() => s.write("X-Slow: 1\r\n"), 300);
      s.on("close", () => {
        clearInterval(drip);
        resolve(Date.now() - t0);
      });
      s.on("error", () => {});
    });
    await slow.close();
    expect(closedAfter).toBeLessThan(5_000);
  });
});
